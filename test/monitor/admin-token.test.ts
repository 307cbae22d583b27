/**
 * The admin guard's token path with REAL tokens of the identity service (no test issuer):
 * the monitoring endpoints want the admin role AND a second factor in `amr`. A password-only
 * admin session is told to step up (401 insufficient_user_authentication); password + TOTP
 * (codes from oathtool) is let in; a non-admin is refused 403 before MFA is considered; a
 * logged-out session and an expired token are invalid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { PROBLEM_BASE } from '../../src/core/errors.ts';
import { call } from '../helpers/gateway.ts';
import { startMonitorStack, type MonitorStack } from '../helpers/monitor.ts';
import { GOOD_PASSWORD, oathtool } from '../identity/harness.ts';

let s: MonitorStack;
const clock = new ManualClock(Date.now());

const auth = (path: string, body: unknown, token?: string) =>
  call(`${s.gatewayUrl}/auth${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

async function login(username: string): Promise<string> {
  const r = await auth('/login', { username, password: GOOD_PASSWORD });
  expect(r.status, r.text).toBe(200);
  return (r.json() as { access_token: string }).access_token;
}

beforeAll(async () => {
  s = await startMonitorStack({ clock });
  await s.app.identity!.users.add({ username: 'root', password: GOOD_PASSWORD, roles: ['admin'] });
  await s.app.identity!.users.add({ username: 'carl', password: GOOD_PASSWORD, roles: [] });
});
afterAll(() => s?.close());

describe('admin endpoints with identity-service tokens', () => {
  it('admin role + MFA is let in; password only must step up; no admin role is forbidden', async () => {
    // Password only: the role is there, the second factor is not.
    const pwd = await login('root');
    for (const path of ['/admin/audit-log', '/admin/alerts', '/admin/monitor']) {
      const r = await s.admin(path, pwd);
      expect(r.status, r.text).toBe(401);
      expect(r.json().type).toBe(PROBLEM_BASE + 'insufficient-user-authentication');
      expect(r.headers['www-authenticate']).toBe(
        'Bearer realm="rampart-admin", error="insufficient_user_authentication"',
      );
    }
    // No admin role: refused whatever the factors.
    const plain = await s.admin('/admin/audit-log', await login('carl'));
    expect(plain.status).toBe(403);
    expect(plain.json().type).toBe(PROBLEM_BASE + 'forbidden');

    // Enrol TOTP with the password session, then sign in with password + code.
    const enrol = await auth('/totp/enroll', {}, pwd);
    expect(enrol.status, enrol.text).toBe(200);
    const secret = (enrol.json() as { secret: string }).secret;
    expect((await auth('/totp/confirm', { code: oathtool(secret, clock.now()) }, pwd)).status).toBe(200);
    clock.advance(30_000);
    const first = await auth('/login', { username: 'root', password: GOOD_PASSWORD });
    const mfaToken = (first.json() as { mfa_token: string }).mfa_token;
    const second = await auth('/login/totp', { mfa_token: mfaToken, code: oathtool(secret, clock.now()) });
    expect(second.status, second.text).toBe(200);
    const session = second.json() as { access_token: string; refresh_token: string };

    const ok = await s.admin('/admin/audit-log', session.access_token);
    expect(ok.status, ok.text).toBe(200);
    expect(Array.isArray(ok.json().items)).toBe(true);
    expect((await s.admin('/admin/alerts', session.access_token)).status).toBe(200);
    // /metrics takes the admin credential too (this peer is loopback anyway).
    expect((await s.admin('/metrics', session.access_token)).status).toBe(200);

    // Logged out: the same token is now invalid on the admin listener as well.
    expect(
      (await auth('/logout', { refresh_token: session.refresh_token }, session.access_token)).status,
    ).toBeLessThan(300);
    const out = await s.admin('/admin/audit-log', session.access_token);
    expect(out.status).toBe(401);
    expect(out.json().type).toBe(PROBLEM_BASE + 'invalid-token');
    expect(out.headers['www-authenticate']).toBe('Bearer realm="rampart-admin", error="invalid_token"');
  });

  it('an expired admin token is invalid', async () => {
    const pwd = await login('carl');
    clock.advance(24 * 3600_000);
    const r = await s.admin('/admin/audit-log', pwd);
    expect(r.status).toBe(401);
    expect(r.json().type).toBe(PROBLEM_BASE + 'invalid-token');
  });
});
