import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CommandIO } from '../../src/cli/command.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/openapi');
const dir = mkdtempSync(join(tmpdir(), 'rampart-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

mkdirSync(join(dir, 'specs'));
for (const f of ['petstore-3.0.yaml', 'common.yaml', 'tree-3.1.json', 'invalid-3.0.yaml'])
  copyFileSync(join(fixtures, f), join(dir, 'specs', f));

function capture(): CommandIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

const valid = `# yaml-language-server: $schema=./rampart.schema.json
listen:
  port: \${PORT:-8443}
apis:
  - name: pets
    upstream: http://127.0.0.1:9000
    versions:
      - { base: /v2, spec: ./specs/tree-3.1.json }
      - { base: /v1, spec: specs/petstore-3.0.yaml, deprecated: 2026-06-30, sunset: 2026-12-31, successor: /v2 }
`;

describe('rampart check', () => {
  it('says ok with counts for a valid config and its documents', async () => {
    const file = join(dir, 'rampart.yaml');
    writeFileSync(file, valid);
    const r = await run('check', '-c', file);
    // petstore declares security, and nothing here can issue or verify credentials: a warning, not an error.
    expect(r.err).toMatch(
      /^warning: .*rampart\.yaml:\d+:\d+ {2}\/apis\/0\/versions\/1\/spec {2}\d+ operation\(s\) require credentials .* but no identity: section and no policies\.authenticate issuers or hmacIssuers/,
    );
    expect(r.out).toBe('ok: 1 API, 2 versions, 5 operations (1 warning)');
    expect(r.code).toBe(0);
    expect((await run('check', `--config=${file}`)).code).toBe(0);
  });

  it('uses ./rampart.yaml by default', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await run('check');
      expect(r.out).toBe('ok: 1 API, 2 versions, 5 operations (1 warning)');
    } finally {
      process.chdir(cwd);
    }
  });

  it('prints every config and document error as file:line:col  /pointer  message, exit 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'lisen: { port: 1 }',
        'apis:',
        '  - name: Pets',
        '    upstream: http://127.0.0.1:9000',
        '    versions:',
        '      - { base: /v1, spec: ./specs/missing.yaml }',
        '      - { base: /v2, spec: ./specs/invalid-3.0.yaml }',
        '',
      ].join('\n'),
    );
    const r = await run('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.split('\n');
    const spec = join(dir, 'specs', 'invalid-3.0.yaml');
    expect(lines.slice(0, 4)).toEqual([
      `${file}:1:1  /lisen  unknown key 'lisen' — did you mean 'listen'?`,
      `${file}:3:11  /apis/0/name  expected string matching pattern "^[a-z0-9][a-z0-9-]*$", got "Pets"`,
      `${file}:6:28  /apis/0/versions/0/spec  cannot read OpenAPI document (ENOENT): './specs/missing.yaml'`,
      `${spec}:3:3  /info/title  missing required key 'title'`,
    ]);
    expect(lines.filter((l) => l.startsWith(spec + ':'))).toHaveLength(14);
    expect(lines.at(-1)).toBe('✗ 17 errors in 2 files');
  });

  it('reports schema keywords the validators cannot honour with file, pointer and keyword', async () => {
    writeFileSync(
      join(dir, 'specs', 'keywords-3.1.yaml'),
      `openapi: 3.1.0
info: { title: k, version: '1' }
paths:
  /items:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                name: { type: string, nullable: true }
                size: { type: integer, exclusiveMinimum: true, minimum: 0 }
                code: { type: string, frobnicate: 3 }
      responses:
        '201': { description: created }
`,
    );
    const file = join(dir, 'keywords.yaml');
    writeFileSync(
      file,
      `apis:\n  - name: k\n    upstream: http://127.0.0.1:9000\n    versions:\n      - { base: /v1, spec: ./specs/keywords-3.1.yaml }\n`,
    );
    const r = await run('check', '-c', file);
    expect(r.code).toBe(1);
    const schema = '/paths/~1items/post/requestBody/content/application~1json/schema/properties';
    expect(r.err).toContain(`${join(dir, 'specs', 'keywords-3.1.yaml')}  ${schema}/name/nullable  nullable:`);
    expect(r.err).toContain(`${schema}/size/exclusiveMinimum  exclusiveMinimum:`);
    expect(r.err).toContain(`${schema}/code/frobnicate  frobnicate: unsupported schema keyword 'frobnicate'`);
  });

  it('checks names, base paths and successors across the config', async () => {
    const file = join(dir, 'cross.yaml');
    writeFileSync(
      file,
      [
        'apis:',
        '  - name: a',
        '    upstream: http://127.0.0.1:9000',
        '    versions:',
        '      - { base: /v1, spec: specs/tree-3.1.json, successor: /v9, deprecated: 2026-06-30, sunset: 2026-01-01 }',
        '  - name: a',
        '    upstream: http://127.0.0.1:9001',
        '    versions:',
        '      - { base: /v1, spec: specs/tree-3.1.json }',
        '',
      ].join('\n'),
    );
    const r = await run('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.err.split('\n').slice(0, 4)).toEqual([
      `${file}:5:60  /apis/0/versions/0/successor  successor '/v9' is not a base path of API 'a' (expected one of /v1)`,
      `${file}:5:97  /apis/0/versions/0/sunset  sunset 2026-01-01 is before deprecation 2026-06-30 (RFC 8594: Sunset is never earlier than Deprecation)`,
      `${file}:6:11  /apis/1/name  duplicate API name 'a' (also /apis/0)`,
      `${file}:9:17  /apis/1/versions/0/base  base path '/v1' is already used by /apis/0/versions/0`,
    ]);
  });

  it('never prints an interpolated secret', async () => {
    const file = join(dir, 'secret.yaml');
    writeFileSync(file, 'listen:\n  port: ${SECRET_PORT}\nstore: ${file:nope.txt}\n');
    process.env.SECRET_PORT = 'hunter2-not-a-port';
    try {
      const r = await run('check', '-c', file);
      expect(r.code).toBe(1);
      expect(r.err).toContain('/listen/port');
      expect(r.err).toContain("cannot read file 'nope.txt'");
      expect(r.err + r.out).not.toContain('hunter2');
    } finally {
      delete process.env.SECRET_PORT;
    }
  });

  it('reports a missing config file', async () => {
    const file = join(dir, 'nope.yaml');
    const r = await run('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toBe(`${file}  /  cannot read config file (ENOENT)`);
  });

  it('rejects stray arguments with usage, exit 2', async () => {
    const r = await run('check', 'extra');
    expect(r.code).toBe(2);
    expect(r.err).toContain("unexpected argument 'extra'");
    expect(r.err).toContain('Usage: rampart check');
  });
});

describe('rampart schema', () => {
  it('prints the JSON Schema of rampart.yaml', async () => {
    const r = await run('schema');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as {
      $schema: string;
      $id: unknown;
      additionalProperties: unknown;
      properties: Record<string, unknown>;
    };
    expect(json.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(typeof json.$id).toBe('string');
    expect(json.additionalProperties).toBe(false);
    expect(json.properties.apis).toBeDefined();
  });

  it('writes it with --out', async () => {
    const out = join(dir, 'schema', 'rampart.schema.json');
    const r = await run('schema', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote ${out}`);
    expect(JSON.parse(readFileSync(out, 'utf8')).title).toBeTruthy();
  });
});

describe('rampart check, the same judge as start', () => {
  it('is the same judge as start: missing TLS files, every error in one pass sorted by file and line', async () => {
    const file = join(dir, 'files.yaml');
    writeFileSync(
      file,
      [
        'listen: { tls: { cert: ./nope/cert.pem, key: ./nope/key.pem } }',
        'apis:',
        '  - name: pets',
        '    upstream: http://127.0.0.1:9000',
        '    versions:',
        '      - { base: /v2, spec: specs/missing.yaml }',
        '      - { base: /v1, spec: specs/invalid-3.0.yaml, sunset: 2026-01-01, deprecated: 2026-06-30 }',
        '      - { base: /v0, spec: specs/tree-3.1.json, deprecated: 2026-02-30 }',
      ].join('\n') + '\n',
    );
    const r = await run('check', '-c', file);
    expect(r.code).toBe(1);
    const lines = r.err.split('\n').filter((l) => /^\S+:\d+:\d+ /.test(l));
    const own = lines.filter((l) => l.includes('files.yaml'));
    expect(own.map((l) => l.replace(/^.*files\.yaml:/, ''))).toEqual([
      expect.stringMatching(/^1:\d+ {2}\/listen\/tls\/cert {2}file not found: .*nope\/cert\.pem$/),
      expect.stringMatching(/^1:\d+ {2}\/listen\/tls\/key {2}file not found: .*nope\/key\.pem$/),
      expect.stringMatching(/^6:\d+ {2}\/apis\/0\/versions\/0\/spec {2}.*missing\.yaml/),
      expect.stringMatching(
        /^7:\d+ {2}\/apis\/0\/versions\/1\/sunset {2}sunset 2026-01-01 is before deprecation/,
      ),
      expect.stringMatching(
        /^8:\d+ {2}\/apis\/0\/versions\/2\/deprecated {2}'2026-02-30' is not a valid date/,
      ),
    ]);
    // The invalid document's own errors come in the same run.
    expect(lines.some((l) => l.includes('invalid-3.0.yaml'))).toBe(true);
    // start refuses the same config with the same list, before creating anything.
    const { validateConfigFile } = await import('../../src/cli/validate.ts');
    const v = await validateConfigFile(file);
    expect(v.errors.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/file not found/),
        expect.stringMatching(/not a valid date/),
      ]),
    );
  });

  it('refuses a SQLite store whose directory does not exist, and start creates nothing', async () => {
    const file = join(dir, 'typo-store.yaml');
    writeFileSync(file, 'store: sqlite://./dta/rampart.db\n' + valid);
    const r = await run('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /typo-store\.yaml:1:\d+ {2}\/store {2}the store's directory .*\/dta does not exist \(Rampart creates only the database file\)/,
    );
    const { validateConfigFile } = await import('../../src/cli/validate.ts');
    expect((await validateConfigFile(file)).errors.map((e) => e.path)).toContain('/store');
    expect(existsSync(join(dir, 'dta'))).toBe(false);
    // The embedded default (no `store:`) is Rampart's own folder: not an error.
    const plain = join(dir, 'default-store.yaml');
    writeFileSync(plain, valid);
    expect((await run('check', '-c', plain)).code).toBe(0);
  });

  it('warns on an empty configuration', async () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, '# nothing yet\n');
    const r = await run('check', '-c', file);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /warning: .*empty\.yaml.*\/apis {2}no APIs configured: the gateway will answer 404 to every request/,
    );
    expect(r.out).toBe('ok: 0 APIs, 0 versions, 0 operations (1 warning)');
  });

  it('accepts an API at the root (base: /) and refuses operations another base takes', async () => {
    const file = join(dir, 'root.yaml');
    const rootSpec = join(dir, 'specs', 'root.json');
    writeFileSync(
      rootSpec,
      JSON.stringify({
        openapi: '3.1.0',
        info: { title: 'root', version: '1' },
        paths: {
          '/orders': { get: { security: [], responses: { '200': { description: 'ok' } } } },
          '/v2/legacy': { get: { security: [], responses: { '200': { description: 'ok' } } } },
        },
      }),
    );
    writeFileSync(
      file,
      `apis:\n  - name: root\n    upstream: http://127.0.0.1:9000\n    versions:\n      - { base: /, spec: specs/root.json }\n  - name: pets\n    upstream: http://127.0.0.1:9001\n    versions:\n      - { base: /v2, spec: specs/tree-3.1.json }\n`,
    );
    const r = await run('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /\/apis\/0\/versions\/0\/base {2}GET \/v2\/legacy can never be reached: base path \/v2 of API 'pets' takes it/,
    );
    expect(r.err).not.toMatch(/\/orders/);
  });
});
