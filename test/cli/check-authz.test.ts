import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { LAB_SPECS } from '../../src/lab/index.ts';

// rampart check refuses authorization settings that contradict the contract or are unsafe:
// unknown roles, owner rules that cannot work, guessable HMAC secrets — with positions.

const dir = mkdtempSync(join(tmpdir(), 'rampart-check-authz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function check(yaml: string, files: Record<string, string> = {}) {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, 'rampart.yaml');
  writeFileSync(file, yaml);
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['check', '-c', file], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const lab = (policies: string) => `apis:
  - name: clinic
    upstream: http://127.0.0.1:9000
    versions:
      - { base: /v2, spec: ${LAB_SPECS.v2} }
policies:
${policies}`;

describe('rampart check: authorization', () => {
  it('accepts the lab contract with the demo role hierarchy', async () => {
    const r = await check(lab('  roles: { hierarchy: { admin: [doctor], doctor: [], patient: [] } }\n'));
    // Only the warning that nothing configured here can issue the lab's bearer tokens.
    expect(r.err.split('\n').filter((l) => l !== '' && !l.startsWith('warning:'))).toEqual([]);
    expect(r.err).toMatch(/^warning: .*require credentials/);
    expect(r.code).toBe(0);
  });

  it('refuses a role the hierarchy does not declare, at its pointer in the document', async () => {
    const r = await check(lab('  roles: { hierarchy: { admin: [], patient: [] } }\n'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "/paths/~1records~1{recordId}/get/x-rampart/roles  x-rampart.roles names role 'doctor', which policies.roles.hierarchy does not declare (admin, patient)",
    );
  });

  it('refuses an owner lookup that names no operation, or a field its answer lacks', async () => {
    const spec = `openapi: 3.1.0
info: { title: t, version: '1' }
paths:
  /things/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
    get:
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, properties: { ownerId: { type: integer } } } } }
    patch:
      x-rampart:
        owner: { lookup: 'GET /things/{id}', field: owner_id }
      responses: { '200': { description: ok } }
    delete:
      x-rampart:
        owner: { lookup: 'GET /thing/{id}', field: ownerId }
      responses: { '204': { description: ok } }
`;
    const r = await check(
      `apis:\n  - name: t\n    upstream: http://127.0.0.1:9000\n    versions: [{ base: /v1, spec: ./things.yaml }]\n`,
      { 'things.yaml': spec },
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /things\.yaml:\d+:\d+ +\/paths\/~1things~1\{id\}\/patch\/x-rampart\/owner\/field +'owner_id' is not a property of the answer of GET \/things\/\{id\}/,
    );
    expect(r.err).toMatch(
      /things\.yaml:\d+:\d+ +\/paths\/~1things~1\{id\}\/delete\/x-rampart\/owner\/lookup +lookup 'GET \/thing\/\{id\}' is not an operation/,
    );
  });

  it('refuses a guessable HMAC secret with its position, never printing it; the lab override passes', async () => {
    const weak = lab(`  authenticate:
    hmacIssuers:
      - issuer: https://lab.rampart.invalid
        audience: rampart-lab
        secret: \${LAB_SECRET:-changeme}
`);
    const r = await check(weak);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /rampart\.yaml:11:17 +\/policies\/authenticate\/hmacIssuers\/0\/secret +the HMAC secret of issuer https:\/\/lab\.rampart\.invalid is in the JWT-cracking wordlist/,
    );
    expect(r.err).not.toContain('changeme');
    const ok = await check(weak + '        allowWeakSecret: true\n');
    expect(ok.err).toBe('');
  });
});
