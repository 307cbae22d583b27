/**
 * Issue #18, the role matrix of the admin listener (docs/admin-api.md "Roles"): a `viewer`
 * reads everything the console shows — the admin API's reads and the older endpoints (audit
 * log, alerts, live feed, monitor status, inventory, the console's live summary) — and every
 * action answers it 403 `forbidden`; an `admin` passes the role check everywhere (an action
 * on an object that does not exist answers 404, past the role check). Real HTTP, one App.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { P, startAdminStack, type AdminStack, type ConsoleLogin, type Reply } from './stack.ts';

let s: AdminStack;
beforeAll(async () => {
  s = await startAdminStack();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

function expectForbidden(r: Reply, what: string): void {
  expect(r.status, `${what}: ${r.text}`).toBe(403);
  expect(r.headers['content-type']).toBe('application/problem+json');
  expect(r.body.type).toBe(P + 'forbidden');
}

/** The admin API's reads (GET): what a viewer may see. */
const API_READS = [
  '/admin/api/session',
  '/admin/api/users',
  '/admin/api/alerts',
  '/admin/api/inventory',
  '/admin/api/changelog',
  '/admin/api/shadow-endpoints',
  '/admin/api/deprecated-consumers',
  '/admin/api/audit-log',
  '/admin/api/scans',
  '/admin/api/scans/nightly/runs',
  '/admin/api/audits',
  '/admin/api/audits/findings',
  '/admin/api/config',
];

/** Every action of the admin API (on objects that do not exist: an admin gets 404 past the role check). */
const actions = (): Array<[string, string, unknown?]> => [
  ['POST', '/admin/api/alerts/no-such-alert/acknowledge', {}],
  ['POST', '/admin/api/alerts/no-such-alert/resolve', {}],
  [
    'POST',
    '/admin/api/alerts/no-such-alert/silence',
    { until: new Date(s.clock.now() + 3_600_000).toISOString() },
  ],
  ['POST', '/admin/api/users/no-such-user/disable'],
  ['POST', '/admin/api/users/no-such-user/enable'],
  ['POST', '/admin/api/users/no-such-user/mfa/reset'],
  ['POST', '/admin/api/users/no-such-user/api-keys', { name: 'k', scopes: ['api:shop'] }],
  ['POST', '/admin/api/users/no-such-user/api-keys/no-such-key/rotate', {}],
  ['DELETE', '/admin/api/users/no-such-user/api-keys/no-such-key'],
  ['POST', '/admin/api/scans/no-such-scan/runs'],
  ['POST', '/admin/api/config/validate'],
  ['POST', '/admin/api/config/reload'],
];

/** The older endpoints of the admin listener: all reads. */
const OLD_READS = ['/admin/audit-log', '/admin/alerts', '/admin/monitor', '/inventory'];
const STREAMS = ['/admin/feed', '/admin/console/live'];

/** Opens a server-sent-events stream, returns its status and type, and closes it. */
async function stream(path: string, headers: Record<string, string>): Promise<Reply> {
  const res = await request(s.adminUrl + path, { headers });
  const type = String(res.headers['content-type'] ?? '');
  if (type.startsWith('text/event-stream')) {
    res.body.destroy();
    return { status: res.statusCode, headers: res.headers as Reply['headers'], text: '', body: undefined };
  }
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers as Reply['headers'],
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}

describe('viewer', () => {
  let login: ConsoleLogin;
  let token: string;
  beforeAll(async () => {
    login = await s.signIn(s.viewer);
    token = await s.bearer(s.viewer);
  });

  it('reads every admin API list and view (console session and bearer)', async () => {
    for (const path of API_READS) {
      expect((await s.as(login, 'GET', path)).status, path).toBe(200);
      if (path === '/admin/api/session') continue; // a bearer caller has no console session
      const r = await s.call('GET', path, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status, path).toBe(200);
    }
  });

  it('is refused every admin API action with 403 forbidden (console session and bearer)', async () => {
    for (const [method, path, body] of actions()) {
      expectForbidden(await s.as(login, method, path, body), `${method} ${path} (session)`);
      const r = await s.call(method, path, {
        ...(body !== undefined ? { body } : {}),
        headers: { authorization: `Bearer ${token}` },
      });
      expectForbidden(r, `${method} ${path} (bearer)`);
    }
  });

  it('reads the older endpoints: audit log, alerts, monitor status, inventory', async () => {
    for (const path of OLD_READS) {
      const r = await s.call('GET', path, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('opens the live feed and the live dashboard stream', async () => {
    for (const path of STREAMS) {
      const r = await stream(path, { authorization: `Bearer ${token}` });
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      expect(String(r.headers['content-type'])).toMatch(/^text\/event-stream/);
    }
    // The console session cookie stands for the viewer's token on the dashboard stream.
    const r = await stream('/admin/console/live', { cookie: `rampart_admin_session=${login.cookie}` });
    expect(r.status, r.text).toBe(200);
  });
});

describe('admin', () => {
  let login: ConsoleLogin;
  let token: string;
  beforeAll(async () => {
    login = await s.signIn(s.admin);
    token = await s.bearer(s.admin);
  });

  it('reads everything a viewer reads', async () => {
    for (const path of API_READS) expect((await s.as(login, 'GET', path)).status, path).toBe(200);
    for (const path of OLD_READS) {
      const r = await s.call('GET', path, { headers: { authorization: `Bearer ${token}` } });
      expect(r.status, path).toBe(200);
    }
    for (const path of STREAMS)
      expect((await stream(path, { authorization: `Bearer ${token}` })).status, path).toBe(200);
  });

  it('passes the role check of every action (missing objects answer 404, the rest succeed)', async () => {
    for (const [method, path, body] of actions()) {
      const r = await s.as(login, method, path, body);
      expect(r.status, `${method} ${path}: ${r.text}`).not.toBe(403);
      expect([200, 404], `${method} ${path}: ${r.text}`).toContain(r.status);
    }
  });
});

describe('no console role', () => {
  it('is refused the reads of the older endpoints and the dashboard stream (403 forbidden)', async () => {
    const p = await s.person('shopper-roles', ['customer']);
    const token = await s.bearer(p);
    for (const path of [...OLD_READS, ...STREAMS]) {
      const r = await stream(path, { authorization: `Bearer ${token}` });
      expectForbidden(r, path);
    }
  });
});
