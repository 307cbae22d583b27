/**
 * Issue #18: `POST /admin/api/config/validate` with a posted config (application/yaml, at
 * most 256 KiB) checks it with the same loader as `rampart check` and writes nothing; errors
 * carry `file: request body`, the pointer and the line. Hostile bodies: an alias bomb, a
 * huge body, text that is not YAML, bytes that are not UTF-8, a config that interpolates a
 * secret from the environment or names a file it should not read.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { P, startAdminStack, type AdminStack, type ConsoleLogin, type Reply } from './stack.ts';

const SECRET = 'validate-secret-' + 'q7Zx94Lm0Pw2';
let s: AdminStack;
let login: ConsoleLogin;
let configPath: string;

beforeAll(async () => {
  process.env.RAMPART_TEST_VALIDATE_SECRET = SECRET;
  s = await startAdminStack();
  configPath = join(s.dir, 'rampart.json');
  login = await s.signIn(s.admin);
}, 60_000);
afterAll(async () => {
  delete process.env.RAMPART_TEST_VALIDATE_SECRET;
  await s?.close();
});

function post(body: string | Buffer, type = 'application/yaml'): Promise<Reply> {
  return s.call('POST', '/admin/api/config/validate', {
    raw: body as string,
    headers: {
      'content-type': type,
      cookie: `rampart_admin_session=${login.cookie}`,
      'x-csrf-token': login.csrf,
    },
  });
}

const digest = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('validating a posted config', () => {
  it('accepts a valid config and writes nothing (file on disk and running config unchanged)', async () => {
    const before = digest(configPath);
    // The running config, posted as YAML (JSON is YAML).
    const text = readFileSync(configPath, 'utf8');
    const r = await post(text);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ valid: true, errors: [] });
    expect(digest(configPath)).toBe(before);
  });

  it('reports schema errors with the pointer, line and column of the posted text', async () => {
    const r = await post('listen:\n  port: not-a-port\nno_such_section: 1\n');
    expect(r.status, r.text).toBe(200);
    expect(r.body.valid).toBe(false);
    const port = r.body.errors.find((e: { path: string }) => e.path === '/listen/port');
    expect(port).toMatchObject({ file: 'request body', line: 2, column: expect.any(Number) });
    expect(r.body.errors.some((e: { path: string }) => e.path === '/no_such_section')).toBe(true);
  });

  it('reports text that is not YAML with its position', async () => {
    const r = await post('apis: [ { name: shop\nlisten: {{{\n');
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.body.errors[0]).toMatchObject({ file: 'request body', line: expect.any(Number) });
  });

  it('refuses an alias bomb without expanding it', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(
        `${cur}: &${cur} [${Array(9)
          .fill('*' + prev)
          .join(',')}]`,
      );
    }
    const r = await post(levels.join('\n') + '\n');
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.text.length).toBeLessThan(10_000);
    expect(JSON.stringify(r.body.errors)).toMatch(/alias/i);
  });

  it('refuses a body over 256 KiB with 413 problem+json', async () => {
    const r = await post('# ' + 'x'.repeat(300 * 1024) + '\n');
    expect(r.status).toBe(413);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.body.type).toBe(P + 'payload-too-large');
  });

  it('refuses bytes that are not UTF-8, and a type other than YAML', async () => {
    const bin = await post(Buffer.from([0x6c, 0x69, 0x73, 0x74, 0x65, 0x6e, 0x3a, 0xff, 0xfe, 0x0a]));
    expect(bin.status).toBe(400);
    expect(bin.headers['content-type']).toBe('application/problem+json');
    expect(bin.body.type).toBe(P + 'bad-request');
    const plain = await post('listen: {}\n', 'text/plain');
    expect(plain.status).toBe(415);
    expect(plain.body.type).toBe(P + 'unsupported-media-type');
  });

  it('never echoes an interpolated secret or the content of a file the config names', async () => {
    const r = await post(
      [
        'listen:',
        '  port: ${RAMPART_TEST_VALIDATE_SECRET}',
        '  host: ${RAMPART_TEST_VALIDATE_SECRET}',
        'apis:',
        '  - name: leak',
        '    upstream: http://127.0.0.1:9',
        '    versions: [{ base: /v1, spec: /etc/passwd }]',
        '',
      ].join('\n'),
    );
    expect(r.status).toBe(200);
    expect(r.body.valid).toBe(false);
    expect(r.text).not.toContain(SECRET);
    expect(r.text).not.toMatch(/root:|\/bin\/(ba)?sh/);
    expect(r.body.errors.some((e: { path: string }) => e.path === '/listen/port')).toBe(true);
  });

  it('still checks the file on disk without a body', async () => {
    const r = await s.as(login, 'POST', '/admin/api/config/validate');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ valid: true, errors: [] });
  });
});
