/**
 * Issue #18, the admin API over real HTTP: Rampart's own chain in front of it (authentication,
 * MFA, roles, validation), console sessions (cookie, CSRF, timeouts, re-authentication),
 * replays, paging bounds, stored XSS returned as inert JSON, an API key's secret shown once,
 * and the audit log of admin actions.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/cli/app.ts';
import { postureProviders } from '../../src/cli/posture-input.ts';
import type { Alert } from '../../src/monitor/index.ts';
import { GOOD_PASSWORD } from '../identity/harness.ts';
import { P, startAdminStack, type AdminStack, type ConsoleLogin, type Reply } from './stack.ts';

const IDLE = 10 * 60_000;
const ABSOLUTE = 30 * 60_000;
const XSS = `<script>alert(document.cookie)</script><img src=x onerror="alert(1)">`;

let s: AdminStack;
let posture: Record<string, unknown> | undefined;
let realPosture: (() => Promise<Record<string, unknown> | undefined>) | undefined;

beforeAll(async () => {
  s = await startAdminStack({
    sessions: { idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE },
    config: {
      monitor: {
        auditLog: { flushIntervalMs: 20 },
        metrics: { bearerToken: 'metrics-token-not-to-be-shown' },
      },
    },
    posture: async () => (realPosture ? realPosture() : posture),
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

function expectProblem(r: Reply, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toBe('application/problem+json');
  expect(r.body.type).toBe(P + code);
  expect(r.headers['x-content-type-options']).toBe('nosniff');
}

const alert = (over: Partial<Alert> = {}): Alert => ({
  fingerprint: 'fp-' + Math.random().toString(36).slice(2),
  rule: 'denials-spike',
  severity: 'warning',
  state: 'firing',
  labels: { alertname: 'denials-spike', severity: 'warning' },
  summary: 'many denials',
  value: 42,
  startsAt: s.clock.now(),
  ...over,
});

describe('authentication, MFA and roles (the gateway chain)', () => {
  it('answers 401 with a challenge without credentials, on every operation', async () => {
    for (const path of [
      '/admin/api/users',
      '/admin/api/config',
      '/admin/api/alerts',
      '/admin/api/audit-log',
    ]) {
      const r = await s.call('GET', path);
      expectProblem(r, 401, 'unauthenticated');
      expect(String(r.headers['www-authenticate'])).toMatch(/^Bearer realm="rampart-admin"/);
    }
  });

  it('lets a viewer read and refuses every admin action with 403 (session and bearer)', async () => {
    const login = await s.signIn(s.viewer);
    expect((await s.as(login, 'GET', '/admin/api/users')).status).toBe(200);
    expect((await s.as(login, 'GET', '/admin/api/inventory')).status).toBe(200);
    const actions: Array<[string, string, unknown?]> = [
      ['POST', `/admin/api/users/${s.admin.id}/disable`],
      ['POST', `/admin/api/users/${s.admin.id}/mfa/reset`],
      ['POST', `/admin/api/users/${s.viewer.id}/api-keys`, { name: 'k', scopes: ['api:shop'] }],
      ['POST', '/admin/api/config/reload'],
      ['POST', '/admin/api/alerts/nope/acknowledge', {}],
    ];
    for (const [method, path, body] of actions) {
      const r = await s.as(login, method, path, body);
      expectProblem(r, 403, 'forbidden');
      expect(r.body.detail).toBe('Your role does not allow this operation');
    }
    const token = await s.bearer(s.viewer);
    const r = await s.call('POST', `/admin/api/users/${s.admin.id}/disable`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expectProblem(r, 403, 'forbidden');
    expect((await s.app.identity!.users.get(s.admin.id))!.disabled).toBe(false);
  });

  it('refuses a password-only access token (no second factor) with the RFC 9470 challenge', async () => {
    await s.app.identity!.users.add({
      username: 'no-mfa-viewer',
      password: GOOD_PASSWORD,
      roles: ['viewer'],
    });
    const login = await s.app
      .identity!.console.signIn(
        { username: 'no-mfa-viewer', password: GOOD_PASSWORD, code: '000000' },
        '127.0.0.1',
      )
      .catch((e: { problem: { type: string } }) => e.problem.type);
    expect(login).toBe(P + 'mfa-enrollment-required');
    // The same user's password-only bearer token from the identity service:
    const r0 = await fetchAuth('/login', { username: 'no-mfa-viewer', password: GOOD_PASSWORD });
    const r = await s.call('GET', '/admin/api/users', {
      headers: { authorization: `Bearer ${r0.access_token}` },
    });
    expectProblem(r, 401, 'insufficient-user-authentication');
    expect(String(r.headers['www-authenticate'])).toMatch(/insufficient_user_authentication/);
  });

  it('signs in only admins and viewers', async () => {
    const p = await s.person('shopper', ['customer']);
    s.clock.advance(30_000);
    const r = await s.call('POST', '/admin/api/session', {
      body: { username: p.username, password: GOOD_PASSWORD, code: s.code(p) },
    });
    expectProblem(r, 403, 'forbidden');
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('answers a wrong password or code like the identity service (401, no cookie)', async () => {
    const r = await s.call('POST', '/admin/api/session', {
      body: { username: s.admin.username, password: 'wrong-password-here', code: '123456' },
    });
    expectProblem(r, 401, 'invalid-credentials');
    expect(r.headers['set-cookie']).toBeUndefined();
  });
});

async function fetchAuth(path: string, body: unknown): Promise<Record<string, string>> {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  const r = await request(`${s.gatewayUrl}/auth${path}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const out = (await r.body.json()) as Record<string, string>;
  await agent.close();
  return out;
}

describe('console sessions', () => {
  it('sets an HttpOnly, Secure, SameSite=Strict cookie scoped to /admin and returns a CSRF token', async () => {
    const r = await s.call('POST', '/admin/api/session', {
      body: {
        username: s.admin.username,
        password: GOOD_PASSWORD,
        code: (s.clock.advance(30_000), s.code(s.admin)),
      },
    });
    expect(r.status, r.text).toBe(201);
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/^rampart_admin_session=[A-Za-z0-9_-]{43}; /);
    for (const attr of ['Path=/admin', 'HttpOnly', 'Secure', 'SameSite=Strict'])
      expect(cookie).toContain(attr);
    expect(r.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.body.user).toEqual({ id: s.admin.id, username: s.admin.username, roles: ['admin'] });
    expect(r.body.expiresAt).toBe(s.clock.now() + ABSOLUTE);
    expect(r.body.idleExpiresAt).toBe(s.clock.now() + IDLE);
  });

  it('refuses a state-changing request without the CSRF token, with a wrong one, or from another origin', async () => {
    const login = await s.signIn(s.admin);
    const path = '/admin/api/config/validate';
    const missing = await s.as(login, 'POST', path, undefined, { csrf: null });
    expectProblem(missing, 403, 'forbidden');
    expect(missing.body.detail).toMatch(/CSRF/);
    const wrong = await s.as(login, 'POST', path, undefined, { csrf: login.csrf.slice(1) + 'A' });
    expectProblem(wrong, 403, 'forbidden');
    const other = await s.as(login, 'POST', path, undefined, { headers: { origin: 'https://evil.example' } });
    expectProblem(other, 403, 'forbidden');
    expect(other.body.detail).toMatch(/Cross-origin/);
    const ok = await s.as(login, 'POST', path, undefined, { headers: { origin: s.adminUrl } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toEqual({ valid: true, errors: [] });
    // Reads need no CSRF token.
    expect((await s.as(login, 'GET', '/admin/api/session', undefined, { csrf: null })).status).toBe(200);
  });

  it('ends a session after the idle timeout (401, cookie cleared)', async () => {
    const login = await s.signIn(s.admin);
    s.clock.advance(IDLE - 1000);
    expect((await s.as(login, 'GET', '/admin/api/session')).status).toBe(200);
    s.clock.advance(IDLE);
    const r = await s.as(login, 'GET', '/admin/api/session');
    expectProblem(r, 401, 'unauthenticated');
    expect(r.body.detail).toMatch(/inactivity/);
    expect(String(r.headers['set-cookie'])).toMatch(/^rampart_admin_session=; Path=\/admin; Max-Age=0/);
  });

  it('ends a session at the absolute timeout however active it is (access tokens refreshed meanwhile)', async () => {
    const login = await s.signIn(s.admin);
    const step = IDLE / 2;
    for (let t = step; t < ABSOLUTE; t += step) {
      s.clock.advance(step);
      const r = await s.as(login, 'GET', '/admin/api/users');
      expect(r.status, r.text).toBe(200);
    }
    s.clock.advance(step);
    const r = await s.as(login, 'GET', '/admin/api/users');
    expectProblem(r, 401, 'unauthenticated');
    expect(r.body.detail).toMatch(/maximum age/);
  });

  it('needs a recent authentication for sensitive actions; re-authentication rotates the session', async () => {
    const login = await s.signIn(s.admin);
    s.clock.advance(301_000);
    const late = await s.as(login, 'POST', `/admin/api/users/${s.viewer.id}/api-keys`, {
      name: 'ci',
      scopes: ['api:shop'],
    });
    expectProblem(late, 401, 'insufficient-user-authentication');
    expect(String(late.headers['www-authenticate'])).toContain('max_age="300"');
    s.clock.advance(30_000);
    const re = await s.as(login, 'POST', '/admin/api/session/reauth', { code: s.code(s.admin) });
    expect(re.status, re.text).toBe(200);
    const fresh: ConsoleLogin = {
      cookie: /rampart_admin_session=([^;]+)/.exec(String(re.headers['set-cookie']))![1]!,
      csrf: re.body.csrfToken,
      body: re.body,
    };
    expect(fresh.cookie).not.toBe(login.cookie);
    expect(fresh.csrf).not.toBe(login.csrf);
    const created = await s.as(fresh, 'POST', `/admin/api/users/${s.viewer.id}/api-keys`, {
      name: 'ci',
      scopes: ['api:shop'],
    });
    expect(created.status, created.text).toBe(201);
    // Replay: the session that re-authenticated is gone, so is its cookie.
    expectProblem(await s.as(login, 'GET', '/admin/api/session'), 401, 'unauthenticated');
  });

  it('needs a recent authentication to revoke an API key too (destructive, like disable)', async () => {
    let login = await s.signIn(s.admin);
    const key = await s.as(login, 'POST', `/admin/api/users/${s.viewer.id}/api-keys`, {
      name: 'to-revoke',
      scopes: ['api:shop'],
    });
    expect(key.status, key.text).toBe(201);
    s.clock.advance(301_000);
    const path = `/admin/api/users/${s.viewer.id}/api-keys/${key.body.id}`;
    const late = await s.as(login, 'DELETE', path);
    expectProblem(late, 401, 'insufficient-user-authentication');
    expect(String(late.headers['www-authenticate'])).toContain('max_age="300"');
    s.clock.advance(30_000);
    const re = await s.as(login, 'POST', '/admin/api/session/reauth', { code: s.code(s.admin) });
    expect(re.status, re.text).toBe(200);
    login = {
      cookie: /rampart_admin_session=([^;]+)/.exec(String(re.headers['set-cookie']))![1]!,
      csrf: re.body.csrfToken,
      body: re.body,
    };
    const revoked = await s.as(login, 'DELETE', path);
    expect(revoked.status, revoked.text).toBe(204);
  });
});

describe('replayed requests', () => {
  it('refuses a replayed sign-in (the same TOTP code twice)', async () => {
    s.clock.advance(30_000);
    const body = { username: s.admin.username, password: GOOD_PASSWORD, code: s.code(s.admin) };
    expect((await s.call('POST', '/admin/api/session', { body })).status).toBe(201);
    const again = await s.call('POST', '/admin/api/session', { body });
    expectProblem(again, 401, 'invalid-otp');
    expect(again.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a captured request replayed after sign-out', async () => {
    const login = await s.signIn(s.admin);
    const capture = () => s.as(login, 'POST', '/admin/api/alerts/any/acknowledge', { note: 'replay' });
    expectProblem(await capture(), 404, 'not-found'); // passes the chain: the alert is unknown
    const out = await s.as(login, 'DELETE', '/admin/api/session');
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expectProblem(await capture(), 401, 'unauthenticated');
    // Replaying it with the sign-in's cookie but a forged bearer-free request changes nothing either.
    expectProblem(
      await s.as(login, 'GET', '/admin/api/session', undefined, { csrf: null }),
      401,
      'unauthenticated',
    );
  });
});

describe('paging', () => {
  it('refuses pages larger than 200 (and limit 0) with problem+json, from the contract', async () => {
    const login = await s.signIn(s.viewer);
    const token = await s.bearer(s.viewer);
    for (const path of [
      '/admin/api/users?limit=201',
      '/admin/api/audit-log?limit=1000',
      '/admin/api/alerts?limit=0',
      '/admin/api/scans/nightly/runs?limit=100000',
    ]) {
      const r = await s.as(login, 'GET', path);
      expectProblem(r, 400, 'bad-request');
      expect(r.body.errors[0].pointer).toBe('/query/limit');
      const b = await s.call('GET', path, { headers: { authorization: `Bearer ${token}` } });
      expectProblem(b, 400, 'bad-request');
    }
    const bad = await s.as(login, 'GET', '/admin/api/users?cursor=zzzz');
    expectProblem(bad, 400, 'bad-request');
    expect(bad.body.detail).toBe('The cursor is not one this API issued');
    const unknown = await s.as(login, 'GET', '/admin/api/users?page=2');
    expectProblem(unknown, 400, 'bad-request');
  });

  it('pages through a list with the cursor', async () => {
    for (let i = 0; i < 3; i++)
      await s.app.identity!.users.add({ username: `paged-${i}`, password: GOOD_PASSWORD });
    const login = await s.signIn(s.viewer);
    const seen: string[] = [];
    let next: string | null = '';
    let pages = 0;
    while (next !== null) {
      const r = await s.as(login, 'GET', `/admin/api/users?limit=2${next ? `&cursor=${next}` : ''}`);
      expect(r.status, r.text).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.items.map((u: { id: string }) => u.id));
      next = r.body.next;
      pages++;
    }
    const all = await s.app.identity!.users.list();
    expect(new Set(seen).size).toBe(all.length);
    expect(pages).toBe(Math.ceil(all.length / 2));
  });
});

describe('stored XSS payloads come back as JSON data', () => {
  function expectInertJson(r: Reply): void {
    expect(r.status, r.text).toBeLessThan(300);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(String(r.headers['content-security-policy'])).toContain("default-src 'none'");
    expect(() => JSON.parse(r.text)).not.toThrow();
  }

  it('in user names, API key labels and alert labels and annotations', async () => {
    const u = await s.app.identity!.users.add({
      username: 'xss-user',
      password: GOOD_PASSWORD,
      displayName: XSS,
    });
    s.app.monitor!.engine.external(
      alert({ fingerprint: 'xss-alert', labels: { alertname: 'x', route: XSS }, summary: XSS }),
    );
    let login = await s.signIn(s.admin);
    const key = await s.as(login, 'POST', `/admin/api/users/${u.id}/api-keys`, {
      name: XSS,
      scopes: ['api:shop'],
    });
    expectInertJson(key);
    expect(key.body.name).toBe(XSS);
    const note = await s.as(login, 'POST', '/admin/api/alerts/xss-alert/acknowledge', { note: XSS });
    expectInertJson(note);
    login = await s.signIn(s.viewer);
    const user = await s.as(login, 'GET', `/admin/api/users/${u.id}`);
    expectInertJson(user);
    expect(user.body.displayName).toBe(XSS);
    const keys = await s.as(login, 'GET', `/admin/api/users/${u.id}/api-keys`);
    expectInertJson(keys);
    expect(keys.body.items[0].name).toBe(XSS);
    const alerts = await s.as(login, 'GET', '/admin/api/alerts?status=acknowledged');
    expectInertJson(alerts);
    const a = alerts.body.items.find((x: { id: string }) => x.id === 'xss-alert');
    expect(a.labels.route).toBe(XSS);
    expect(a.summary).toBe(XSS);
    expect(a.annotations[0]).toMatchObject({ action: 'acknowledge', by: s.admin.id, note: XSS });
  });
});

describe('API keys', () => {
  it('shows the secret once: in the create and rotate answers, never in a list', async () => {
    const login = await s.signIn(s.admin);
    const created = await s.as(login, 'POST', `/admin/api/users/${s.admin.id}/api-keys`, {
      name: 'deploy',
      scopes: ['api:shop', 'role:admin'],
    });
    expect(created.status, created.text).toBe(201);
    const secret = created.body.key as string;
    expect(secret).toMatch(/^rpk_/);
    expect(Object.keys(created.body).sort()).toEqual([
      'createdAt',
      'expiresAt',
      'id',
      'key',
      'name',
      'scopes',
    ]);
    // The key works (identity service verifies it) …
    expect((await s.app.identity!.apiKeys.verify(secret))?.id).toBe(s.admin.id);
    // … and is never shown again.
    const list = await s.as(login, 'GET', `/admin/api/users/${s.admin.id}/api-keys`);
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(secret.slice(-20));
    expect(list.body.items.every((k: Record<string, unknown>) => !('key' in k))).toBe(true);
    const rotated = await s.as(
      login,
      'POST',
      `/admin/api/users/${s.admin.id}/api-keys/${created.body.id}/rotate`,
      {
        overlapSeconds: 0,
      },
    );
    expect(rotated.status, rotated.text).toBe(201);
    expect(rotated.body.key).not.toBe(secret);
    expect(await s.app.identity!.apiKeys.verify(secret)).toBeUndefined();
    const after = await s.as(login, 'GET', `/admin/api/users/${s.admin.id}/api-keys`);
    expect(after.text).not.toContain((rotated.body.key as string).slice(-20));
    const revoked = await s.as(login, 'DELETE', `/admin/api/users/${s.admin.id}/api-keys/${rotated.body.id}`);
    expect(revoked.status).toBe(204);
    expect(await s.app.identity!.apiKeys.verify(rotated.body.key as string)).toBeUndefined();
  });

  it('refuses granting a role the owner does not hold (403)', async () => {
    const login = await s.signIn(s.admin);
    const r = await s.as(login, 'POST', `/admin/api/users/${s.viewer.id}/api-keys`, {
      name: 'escalate',
      scopes: ['role:admin'],
    });
    expectProblem(r, 403, 'forbidden');
  });

  it('does not accept an API key on the admin API (no second factor)', async () => {
    const k = await s.app.identity!.apiKeyAdmin.create(s.admin.id, {
      name: 'machine',
      scopes: ['role:admin'],
    });
    const r = await s.call('GET', '/admin/api/users', { headers: { authorization: `Bearer ${k.key}` } });
    expect(r.status).toBe(401);
  });
});

describe('users and MFA', () => {
  it('disables a user (their console session ends) and resets MFA; never oneself', async () => {
    const victim = await s.person('to-disable', ['viewer']);
    const theirs = await s.signIn(victim);
    const login = await s.signIn(s.admin);
    const self = await s.as(login, 'POST', `/admin/api/users/${s.admin.id}/disable`);
    expectProblem(self, 409, 'conflict');
    const r = await s.as(login, 'POST', `/admin/api/users/${victim.id}/disable`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.disabled).toBe(true);
    expectProblem(await s.as(theirs, 'GET', '/admin/api/session'), 401, 'unauthenticated');
    const reset = await s.as(login, 'POST', `/admin/api/users/${victim.id}/mfa/reset`);
    expect(reset.status).toBe(204);
    const v = await s.as(login, 'GET', `/admin/api/users/${victim.id}`);
    expect(v.body.mfa).toMatchObject({ enrolled: false, totp: false, recoveryCodesLeft: 0 });
    expectProblem(await s.as(login, 'POST', '/admin/api/users/nobody-here/disable'), 404, 'not-found');
  });
});

describe('alerts', () => {
  it('acknowledges, silences with an expiry and resolves', async () => {
    const a = alert({ fingerprint: 'flow-alert' });
    s.app.monitor!.engine.external(a);
    const login = await s.signIn(s.admin);
    const open = await s.as(login, 'GET', '/admin/api/alerts?status=open');
    expect(open.body.items.map((x: { id: string }) => x.id)).toContain('flow-alert');
    const ack = await s.as(login, 'POST', '/admin/api/alerts/flow-alert/acknowledge', {});
    expect(ack.body.status).toBe('acknowledged');
    const until = new Date(s.clock.now() + 3_600_000).toISOString();
    const sil = await s.as(login, 'POST', '/admin/api/alerts/flow-alert/silence', {
      until,
      note: 'maintenance',
    });
    expect(sil.status, sil.text).toBe(200);
    expect(sil.body).toMatchObject({ status: 'silenced', silencedUntil: Date.parse(until) });
    expect(await s.app.monitor!.desk.silenced('flow-alert')).toBe(true);
    const past = await s.as(login, 'POST', '/admin/api/alerts/flow-alert/silence', {
      until: new Date(s.clock.now() - 1000).toISOString(),
    });
    expectProblem(past, 422, 'validation-failed');
    s.clock.advance(3_600_001);
    expect(await s.app.monitor!.desk.silenced('flow-alert')).toBe(false);
    const login2 = await s.signIn(s.admin);
    const res = await s.as(login2, 'POST', '/admin/api/alerts/flow-alert/resolve', { note: 'fixed' });
    expect(res.body.status).toBe('resolved');
    expect(res.body.annotations.map((x: { action: string }) => x.action)).toEqual([
      'acknowledge',
      'silence',
      'resolve',
    ]);
  });
});

describe('config, posture, inventory', () => {
  it('shows the config with secrets redacted', async () => {
    const login = await s.signIn(s.viewer);
    const r = await s.as(login, 'GET', '/admin/api/config');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('metrics-token-not-to-be-shown');
    expect(r.body.config.monitor.metrics.bearerToken).toBe('[redacted]');
    expect(r.body.redacted).toContain('/monitor/metrics/bearerToken');
  });

  it('reloads the config file (admin only)', async () => {
    const login = await s.signIn(s.admin);
    const r = await s.as(login, 'POST', '/admin/api/config/reload');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ reloaded: true, restartNeeded: [] });
  });

  it('serves the posture report from its provider, 404 when it has none', async () => {
    const login = await s.signIn(s.viewer);
    posture = undefined;
    expectProblem(await s.as(login, 'GET', '/admin/api/posture'), 404, 'not-found');
    posture = { overall: 71, items: [] };
    const r = await s.as(login, 'GET', '/admin/api/posture');
    expect(r.body).toEqual({ overall: 71, items: [] });
  });

  it("serves the running config's real posture (what rampart start wires), without recording a run", async () => {
    const { config, baseDir } = await readConfig(join(s.dir, 'rampart.json'));
    realPosture = postureProviders({ config, baseDir, label: 'rampart.json' }, s.clock).posture;
    try {
      const login = await s.signIn(s.viewer);
      const r = await s.as(login, 'GET', '/admin/api/posture');
      expect(r.status, r.text).toBe(200);
      expect(r.body.source).toBe('rampart.json');
      expect(typeof r.body.score).toBe('number');
      expect(r.body.owasp.map((i: { id: string }) => i.id)).toEqual(
        Array.from({ length: 10 }, (_, i) => `API${i + 1}:2023`),
      );
      // The scheduled scan job is evidence of the weekly-scan item.
      const scans = r.body.checklist.find((i: { id: string }) => i.id === 'scans');
      expect(scans.criteria.find((c: { id: string }) => c.id === 'scans-schedule').value).toBe(1);
      expect(existsSync(join(s.dir, 'data/posture-history.json'))).toBe(false);
    } finally {
      realPosture = undefined;
    }
  });

  it('lists the inventory and the audits of the served documents', async () => {
    const login = await s.signIn(s.viewer);
    const inv = await s.as(login, 'GET', '/admin/api/inventory');
    expect(inv.body.apis.map((a: { name: string }) => a.name)).toEqual(['shop']);
    const audits = await s.as(login, 'GET', '/admin/api/audits');
    expect(audits.body.items[0]).toMatchObject({ api: 'shop', base: '/v1', version: '1.0.0' });
    const findings = await s.as(login, 'GET', '/admin/api/audits/findings?api=shop&limit=5');
    expect(findings.status).toBe(200);
    expect(findings.body.items.every((f: { api: string }) => f.api === 'shop')).toBe(true);
    expectProblem(await s.as(login, 'GET', '/admin/api/code-scan/findings'), 404, 'not-found');
  });
});

describe('scans', () => {
  it('starts a scan (admin only, one at a time), lists runs and findings, and diffs two runs', async () => {
    const viewer = await s.signIn(s.viewer);
    expectProblem(await s.as(viewer, 'POST', '/admin/api/scans/nightly/runs'), 403, 'forbidden');
    const login = await s.signIn(s.admin);
    const started = await s.as(login, 'POST', '/admin/api/scans/nightly/runs');
    expect(started.status, started.text).toBe(202);
    expect(started.body).toEqual({ name: 'nightly', status: 'started' });
    expectProblem(await s.as(login, 'POST', '/admin/api/scans/nightly/runs'), 409, 'conflict');
    const first = await s.app.scans!.current('nightly')!;
    expect(first.error).toBeUndefined();
    expectProblem(await s.as(login, 'POST', '/admin/api/scans/weekly/runs'), 404, 'not-found');
    expect((await s.as(login, 'POST', '/admin/api/scans/nightly/runs')).status).toBe(202);
    await s.app.scans!.current('nightly');
    const list = await s.as(viewer, 'GET', '/admin/api/scans');
    expect(list.body.items).toEqual([
      expect.objectContaining({
        name: 'nightly',
        running: false,
        latest: expect.objectContaining({ partial: false }),
      }),
    ]);
    const runs = await s.as(viewer, 'GET', '/admin/api/scans/nightly/runs?limit=1');
    expect(runs.body.items).toHaveLength(1);
    expect(runs.body.next).not.toBeNull();
    const latest = runs.body.items[0].id as string;
    const findings = await s.as(viewer, 'GET', `/admin/api/scans/nightly/runs/${latest}/findings`);
    expect(findings.status, findings.text).toBe(200);
    expect(findings.body.items).toHaveLength(runs.body.items[0].findings);
    const diff = await s.as(viewer, 'GET', `/admin/api/scans/nightly/runs/${latest}/diff`);
    expect(diff.status).toBe(200);
    expect(diff.body.run).toBe(latest);
    expect(diff.body.previous).not.toBeNull();
    expect(diff.body.new).toEqual([]); // the same API twice: nothing new
    expect(diff.body.open).toHaveLength(findings.body.items.length);
    expectProblem(
      await s.as(viewer, 'GET', '/admin/api/scans/nightly/runs/no-such-run/diff'),
      404,
      'not-found',
    );
  }, 60_000);
});

describe('rate limits and the live feed', () => {
  it('limits sign-in attempts per address (429 before the body is even validated)', async () => {
    s.clock.advance(61_000);
    const answers: number[] = [];
    for (let i = 0; i < 10; i++)
      answers.push((await s.call('POST', '/admin/api/session', { body: { nope: 1 } })).status);
    expect(answers).toEqual(Array(10).fill(422)); // validate-request: the body is wrong
    const r = await s.call('POST', '/admin/api/session', { body: { nope: 1 } });
    expectProblem(r, 429, 'too-many-requests');
    expect(r.headers['retry-after']).toBeDefined();
    s.clock.advance(61_000);
  });

  it('streams the live feed to a console session (server-sent events)', async () => {
    const { request } = await import('undici');
    const login = await s.signIn(s.viewer);
    expectProblem(await s.call('GET', '/admin/api/feed'), 401, 'unauthenticated');
    const res = await request(`${s.adminUrl}/admin/api/feed?type=admin-action`, {
      headers: { cookie: `rampart_admin_session=${login.cookie}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['x-request-id']).toBeDefined();
    const chunks = res.body[Symbol.asyncIterator]();
    expect(String((await chunks.next()).value)).toContain('rampart live feed');
    await s.signIn(s.admin); // an admin-action event (session.create)
    s.app.monitor!.tick();
    let text = '';
    while (!text.includes('session.create')) text += String((await chunks.next()).value);
    expect(text).toMatch(/^event: admin-action$/m);
    res.body.destroy();
  });
});

describe('audit log of admin actions', () => {
  it('records who did what to which object, success and failure', async () => {
    const login = await s.signIn(s.admin);
    await s.as(login, 'POST', `/admin/api/users/${s.admin.id}/disable`); // 409: a failure
    const r = await s.as(login, 'GET', '/admin/api/audit-log?type=admin-action&limit=200');
    expect(r.status, r.text).toBe(200);
    const events = r.body.items.map((i: { event: Record<string, unknown> }) => i.event);
    expect(events).toContainEqual(
      expect.objectContaining({ action: 'api-key.create', principal: s.admin.id, outcome: 'success' }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'user.disable',
        target: s.admin.id,
        outcome: 'failure',
        detail: 'conflict',
      }),
    );
    expect(events).toContainEqual(expect.objectContaining({ action: 'session.create', outcome: 'success' }));
    expect(r.text).not.toContain(GOOD_PASSWORD);
    const denied = await s.as(login, 'GET', '/admin/api/audit-log?type=denied&limit=200');
    expect(denied.body.items.some((i: { policy: string }) => i.policy === 'roles')).toBe(true);
  });
});
