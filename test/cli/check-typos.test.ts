import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CommandIO } from '../../src/cli/command.ts';
import { loadApis, readConfig, StartupErrors } from '../../src/cli/app.ts';

// A typo in a policy option or an x-rampart key must never silently remove protection:
// each one is refused by `rampart check` (and at start) with its exact position.
const dir = mkdtempSync(join(tmpdir(), 'rampart-typos-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function check(file: string): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const io: CommandIO = { out: () => {}, err: (l) => err.push(l) };
  const code = await main(['check', '-c', file], io);
  return { code, err };
}

let n = 0;
function writeCase(policies: string, xRampart: string): { config: string; spec: string } {
  const id = ++n;
  const spec = join(dir, `shop-${id}.yaml`);
  const config = join(dir, `rampart-${id}.yaml`);
  // Line 1-6 fixed; the policies block starts on line 7.
  writeFileSync(
    config,
    `apis:
  - name: shop
    upstream: http://127.0.0.1:9000
    versions:
      - { base: /v1, spec: ./shop-${id}.yaml }
policies:
${policies}
`,
  );
  // The operation's x-rampart value starts on line 10.
  writeFileSync(
    spec,
    `openapi: 3.1.0
info: { title: shop, version: '1' }
paths:
  /orders/{orderId}:
    parameters:
      - { name: orderId, in: path, required: true, schema: { type: string } }
    get:
      operationId: getOrder
      x-rampart:
${xRampart}
      responses: { '200': { description: ok } }
`,
  );
  return { config, spec };
}

const OP = '/paths/~1orders~1{orderId}/get/x-rampart';

describe('rampart check refuses misspelt and mistyped settings with their position', () => {
  it.each([
    // [policies block, expected error (file, line:col, pointer, message)]
    [
      "  cors: { orgins: ['https://a.example'] }",
      'config',
      '7:11',
      '/policies/cors/orgins',
      "unknown key 'orgins' — did you mean 'origins'?",
    ],
    [
      '  mfa:\n    requireFor: { role: [admin] }',
      'config',
      '8:19',
      '/policies/mfa/requireFor/role',
      "unknown key 'role' — did you mean 'roles'?",
    ],
    [
      '  authenticat: {}',
      'config',
      '7:3',
      '/policies/authenticat',
      "unknown key 'authenticat' — did you mean 'authenticate'?",
    ],
    [
      "  transport: { requireTls: 'yes' }",
      'config',
      '7:28',
      '/policies/transport/requireTls',
      'expected boolean, got "yes"',
    ],
    [
      '  mfa: { apiKeys: permit }',
      'config',
      '7:19',
      '/policies/mfa/apiKeys',
      'expected "deny" or "allow", got "permit"',
    ],
    [
      '  request-limits: { maxJsonDepth: 0 }',
      'config',
      '7:35',
      '/policies/request-limits/maxJsonDepth',
      'expected integer at least 1, got 0',
    ],
    ['  cors: { enabled: nope }', 'config', '7:20', '/policies/cors/enabled', 'expected boolean, got "nope"'],
    [
      '  rate-limit: { defaults: [{ per: ip, limit: 5, window: -1 }] }',
      'config',
      '7:57',
      '/policies/rate-limit/defaults/0/window',
      'expected integer at least 1, got -1',
    ],
  ])('policies: %s', async (policies, file, at, pointer, message) => {
    const c = writeCase(policies, '        mfa: required');
    const r = await check(c.config);
    expect(r.code).toBe(1);
    expect(r.err[0]).toBe(`${file === 'config' ? c.config : c.spec}:${at}  ${pointer}  ${message}`);
    expect(r.err.at(-1)).toBe('\n✗ 1 error in 1 file');
  });

  it.each([
    ['        mfaa: required', '10:9', `${OP}/mfaa`, "unknown key 'mfaa' — did you mean 'mfa'?"],
    ['        rolez: [admin]', '10:9', `${OP}/rolez`, "unknown key 'rolez' — did you mean 'roles'?"],
    [
      '        mfa: 42',
      '10:14',
      `${OP}/mfa`,
      'expected "required" or "optional" or "off" or boolean or object, got 42',
    ],
    [
      '        mfa: requried',
      '10:14',
      `${OP}/mfa`,
      'expected "required" or "optional" or "off" or boolean or object, got "requried"',
    ],
    [
      '        mfa: { stepUp: { maxage: 300 } }',
      '10:26',
      `${OP}/mfa/stepUp/maxage`,
      "unknown key 'maxage' — did you mean 'maxAge'?",
    ],
    ['        roles: admin', '10:16', `${OP}/roles`, 'expected array with at least 1 item, got "admin"'],
    [
      '        auth: pubic',
      '10:15',
      `${OP}/auth`,
      'expected "required" or "optional" or "public", got "pubic"',
    ],
    [
      "        owner: { lookup: 'GET /orders/{orderId}', feild: ownerId }",
      '10:51',
      `${OP}/owner/feild`,
      "unknown key 'feild' — did you mean 'field'?",
    ],
    [
      "        owner: { lookup: 'GET /order/{orderId}', field: ownerId }",
      '10:26',
      `${OP}/owner/lookup`,
      "lookup 'GET /order/{orderId}' is not an operation of this document (GET operations: GET /orders/{orderId})",
    ],
    [
      '        rateLimit: { per: usr, limit: 10, window: 60 }',
      '10:27',
      `${OP}/rateLimit/per`,
      'expected string matching pattern "^(user|ip|api-key|client|route|username|(path|query|header|body|claim)\\\\.[A-Za-z0-9_.-]+)$", got "usr"',
    ],
    [
      '        rateLimit: { per: user, limit: 10, window: 0 }',
      '10:52',
      `${OP}/rateLimit/window`,
      'expected integer at least 1, got 0',
    ],
    [
      '        rateLimit: [{ per: user, limit: 10, window: 60 }, { per: user, limit: 20, window: 1m }]',
      '10:79',
      `${OP}/rateLimit/1/limit`,
      "contradicts item 0: the same 'per' and window with limit 10 vs 20",
    ],
    [
      '        flow: { name: redeem, limit: 1, window: -30, per: user }',
      '10:49',
      `${OP}/flow/window`,
      'expected integer at least 1, got -30',
    ],
    [
      '        bruteForce: { per: ip, limit: 5, window: 1y }',
      '10:50',
      `${OP}/bruteForce/window`,
      'expected string matching pattern "^[1-9][0-9]*(s|m|h|d)$", got "1y"',
    ],
    ['        ssrf: { field: [url] }', '10:15', `${OP}/ssrf/fields`, "missing required key 'fields'"],
    ['        bodyLimit: -1', '10:20', `${OP}/bodyLimit`, 'expected integer at least 0, got -1'],
  ])('x-rampart: %s', async (xRampart, at, pointer, message) => {
    const c = writeCase('  cors: {}', xRampart);
    const r = await check(c.config);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${c.spec}:${at}  ${pointer}  ${message}`);
  });

  it('validates document- and path-level x-rampart too, and accepts the lab syntax', async () => {
    const c = writeCase(
      '  cors: {}',
      "        roles: [admin]\n        owner: { lookup: 'GET /orders/{orderId}', field: ownerId }",
    );
    expect((await check(c.config)).code).toBe(0);
    writeFileSync(
      c.spec,
      `openapi: 3.1.0
info: { title: shop, version: '1' }
x-rampart: { rateLimt: { per: user, limit: 1, window: 60 } }
paths:
  /orders:
    x-rampart: { public: yes }
    get:
      responses: { '200': { description: ok } }
`,
    );
    const r = await check(c.config);
    expect(r.err.slice(0, 2)).toEqual([
      `${c.spec}:3:14  /x-rampart/rateLimt  unknown key 'rateLimt' — did you mean 'rateLimit'?`,
      `${c.spec}:6:26  /paths/~1orders/x-rampart/public  expected boolean, got "yes"`,
    ]);
  });

  it('validates schema-level x-rampart (writableBy, visibleTo) on properties, inline and in components, with file:line and pointer', async () => {
    const c = writeCase('  cors: {}', '        roles: [admin]');
    writeFileSync(
      c.spec,
      `openapi: 3.1.0
info: { title: shop, version: '1' }
paths:
  /staff/{id}:
    get:
      x-rampart: { writableBy: [admin] }
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  salary: { type: integer, x-rampart: { visibelTo: [admin] } }
                  manager: { $ref: '#/components/schemas/Person', x-rampart: { rateLimit: {} } }
components:
  schemas:
    Person:
      type: object
      properties:
        name: { type: string, x-rampart: { visibleTo: admin } }
        email: { type: string, x-rampart: { writableBy: [] }, example: { x-rampart: { bogus: 1 } } }
        ok: { type: string, x-rampart: { visibleTo: [doctor, admin] } }
`,
    );
    const r = await check(c.config);
    expect(r.code).toBe(1);
    const S = '/paths/~1staff~1{id}/get/responses/200/content/application~1json/schema';
    expect(r.err).toEqual(
      expect.arrayContaining([
        // A schema-level key is not an operation key: the error says where it belongs.
        `${c.spec}:6:20  /paths/~1staff~1{id}/get/x-rampart/writableBy  'writableBy' belongs on a Schema Object (a property of a request or response body schema), not on a document, path or operation`,
        // …and an operation key is not a schema-level key.
        `${c.spec}:17:80  ${S}/properties/manager/x-rampart/rateLimit  'rateLimit' belongs on the document, a path or an operation, not on a Schema Object`,
        `${c.spec}:16:57  ${S}/properties/salary/x-rampart/visibelTo  unknown key 'visibelTo' — did you mean 'visibleTo'?`,
        `${c.spec}:23:55  /components/schemas/Person/properties/name/x-rampart/visibleTo  expected array with at least 1 item, got "admin"`,
        `${c.spec}:24:57  /components/schemas/Person/properties/email/x-rampart/writableBy  expected array with at least 1 item, got an array`,
      ]),
    );
    expect(r.err.join('\n')).not.toContain('bogus'); // examples are data
    expect(r.err.join('\n')).not.toContain('/ok/');
  });

  it("refuses what a policy's create() refuses, with a position, before start", async () => {
    const c = writeCase(
      "  authenticate:\n    issuers:\n      - { issuer: 'https://idp.example', audience: api }\n      - { issuer: 'https://idp.example', audience: api }",
      '        mfa: required',
    );
    const r = await check(c.config);
    expect(r.code).toBe(1);
    expect(r.err[0]).toBe(
      `${c.config}:8:5  /policies/authenticate  authenticate: issuer https://idp.example is configured twice`,
    );
  });

  it('start refuses the same settings with the same positions (config and documents)', async () => {
    const bad = writeCase("  cors: { orgins: ['https://a.example'] }", '        mfa: required');
    const err = await readConfig(bad.config).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupErrors);
    expect((err as StartupErrors).errors[0]).toMatchObject({
      file: bad.config,
      line: 7,
      column: 11,
      path: '/policies/cors/orgins',
    });

    const typo = writeCase('  cors: {}', '        mfaa: required');
    const { config } = await readConfig(typo.config);
    const apisErr = await loadApis(config).catch((e: unknown) => e);
    expect(apisErr).toBeInstanceOf(StartupErrors);
    expect((apisErr as StartupErrors).errors[0]).toMatchObject({
      file: typo.spec,
      line: 10,
      column: 9,
      path: `${OP}/mfaa`,
    });
  });
});
