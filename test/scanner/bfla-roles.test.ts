/**
 * Function-level authorization with declared roles: an operation whose `x-rampart roles`
 * name the identity's role is the document granting it (a viewer reading an admin-looking
 * path), not a finding; one whose roles exclude it still is, and so is an admin-looking
 * operation without declared roles.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdentityFlag } from '../../src/scanner/identities.ts';
import { runScan, type ScanResult } from '../../src/scanner/runner.ts';

const SPEC = `openapi: 3.1.0
info: { title: Back office, version: 1.0.0 }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
security: [{ bearer: [] }]
paths:
  /admin/reports:
    get:
      operationId: reports
      x-rampart: { roles: [admin, auditor] }
      responses: { '200': { description: ok }, '401': { description: no }, '403': { description: no } }
  /admin/purge-log:
    get:
      operationId: purgeLog
      x-rampart: { roles: [admin] }
      responses: { '200': { description: ok }, '401': { description: no }, '403': { description: no } }
  /admin/settings:
    get:
      operationId: settings
      responses: { '200': { description: ok }, '401': { description: no }, '403': { description: no } }
`;

let server: http.Server;
let dir: string;
let result: ScanResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-bfla-'));
  await writeFile(join(dir, 'spec.yaml'), SPEC);
  // Checks only that a token is there — no role check at all: every role reads everything.
  server = http.createServer((req, res) => {
    const authed = /^Bearer (admin|auditor)-token$/.test(req.headers.authorization ?? '');
    res.writeHead(authed ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(authed ? { ok: true } : { error: 'unauthenticated' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  result = await runScan({
    specs: [join(dir, 'spec.yaml')],
    target: url,
    identities: [
      parseIdentityFlag('root:admin=Authorization: Bearer admin-token'),
      parseIdentityFlag('audrey:auditor=Authorization: Bearer auditor-token'),
    ],
    checks: ['bfla-role-swap'],
  });
}, 60_000);
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

describe('bfla-role-swap and declared roles', () => {
  const hit = (op: string) => result.findings.find((f) => f.check === 'bfla-role-swap' && f.operation === op);
  it('does not report an operation whose declared roles include the identity’s role', () => {
    expect(hit('GET /admin/reports')).toBeUndefined();
  });
  it('reports an operation whose declared roles exclude it', () => {
    expect(hit('GET /admin/purge-log')).toMatchObject({ severity: 'high', owasp: 'API5:2023' });
  });
  it('reports an admin-looking operation without declared roles', () => {
    expect(hit('GET /admin/settings')).toMatchObject({ severity: 'high' });
  });
});
