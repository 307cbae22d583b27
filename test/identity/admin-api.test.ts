import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachStore } from '../helpers/stores.ts';
import {
  GOOD_PASSWORD,
  loginWithTotp,
  startHarness,
  uniqueName,
  userWithTotp,
  type Harness,
} from './harness.ts';

// The admin API manages users over HTTP: admin role AND an MFA session, always; changes
// also need a recent authentication (ASVS 7.5.1). "Admin APIs first."
forEachStore('identity admin API', (getDb) => {
  let h: Harness;
  let adminToken: string;
  let admin: { id: string; username: string; secret: string };
  beforeAll(async () => {
    h = await startHarness(getDb(), { lockout: { maxFailuresPerIp: 1000 } });
    admin = await userWithTotp(h, ['admin']);
    adminToken = (await loginWithTotp(h, admin)).body.access_token as string;
  });
  afterAll(async () => h?.close());

  it('refuses callers without a token, without the admin role, or without MFA', async () => {
    expect((await h.call('GET', '/admin/users')).status).toBe(401);
    const plain = uniqueName('reader');
    await h.service.users.add({ username: plain, password: GOOD_PASSWORD, roles: ['reader'] });
    const readerToken = (await h.call('POST', '/login', { username: plain, password: GOOD_PASSWORD })).body
      .access_token as string;
    const asReader = await h.call('GET', '/admin/users', undefined, readerToken);
    expect(asReader.status).toBe(403);
    expect(asReader.body.type).toBe('https://rampart.dev/problems/forbidden');

    // A fresh admin without a factor: tokens say mfa_enrollment_required → 403 until enrolled.
    const fresh = uniqueName('newadmin');
    await h.service.users.add({ username: fresh, password: GOOD_PASSWORD, roles: ['admin'] });
    const freshLogin = await h.call('POST', '/login', { username: fresh, password: GOOD_PASSWORD });
    expect(freshLogin.body.mfa_enrollment_required).toBe(true);
    const asFresh = await h.call('GET', '/admin/users', undefined, freshLogin.body.access_token as string);
    expect(asFresh.status).toBe(403);
    expect(asFresh.body.type).toBe('https://rampart.dev/problems/mfa-enrollment-required');

    // Once a factor is enrolled, the same (older) token is told to step up, not to enrol.
    const oldToken = freshLogin.body.access_token as string;
    const enroll = await h.call('POST', '/totp/enroll', {}, oldToken);
    expect(enroll.status).toBe(200);
    const { oathtool } = await import('./harness.ts');
    const confirm = await h.call(
      'POST',
      '/totp/confirm',
      { code: oathtool(enroll.body.secret as string, h.clock.now()) },
      oldToken,
    );
    expect(confirm.status).toBe(200);
    const stale = await h.call('GET', '/admin/users', undefined, oldToken);
    expect(stale.status).toBe(401);
    expect(stale.body.type).toBe('https://rampart.dev/problems/insufficient-user-authentication');
    expect(stale.body.detail).toMatch(/sign in again with your second factor/);
    expect(stale.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_user_authentication"/);
  });

  it('lists, creates, updates, disables, unlocks and resets MFA — never exposing secrets', async () => {
    const list = await h.call('GET', '/admin/users', undefined, adminToken);
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toMatch(/password|hash|secret|scrypt/i);
    expect((list.body.users as Array<{ username: string }>).some((u) => u.username === admin.username)).toBe(
      true,
    );

    const username = uniqueName('created');
    const created = await h.call(
      'POST',
      '/admin/users',
      { username, password: GOOD_PASSWORD, roles: ['clerk'] },
      adminToken,
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username, roles: ['clerk'], disabled: false });
    expect(created.body.enrollment_link).toMatch(/\/auth\/ui$/);
    const id = created.body.id as string;

    const weak = await h.call(
      'POST',
      '/admin/users',
      { username: uniqueName('weak'), password: 'password123' },
      adminToken,
    );
    expect(weak.status).toBe(422);
    const extra = await h.call(
      'POST',
      '/admin/users',
      { username: uniqueName('x'), password: GOOD_PASSWORD, isAdmin: true },
      adminToken,
    );
    expect(extra.status).toBe(400);

    const updated = await h.call('PATCH', `/admin/users/${id}`, { roles: ['clerk', 'auditor'] }, adminToken);
    expect(updated.status).toBe(200);
    expect(updated.body.roles).toEqual(['clerk', 'auditor']);
    // Role names follow the same rule as at creation; a bad one changes nothing.
    const badRole = await h.call(
      'PATCH',
      `/admin/users/${id}`,
      { roles: ['clerk', 'x y<script>'] },
      adminToken,
    );
    expect(badRole.status).toBe(422);
    expect(badRole.body.detail).toMatch(/Invalid role name/);
    expect((await h.call('GET', `/admin/users/${id}`, undefined, adminToken)).body.roles).toEqual([
      'clerk',
      'auditor',
    ]);
    // Attributes alone leave the roles as they are.
    const attrs = await h.call(
      'PATCH',
      `/admin/users/${id}`,
      { attributes: { clinic: 'north' } },
      adminToken,
    );
    expect(attrs.status).toBe(200);
    expect(attrs.body.roles).toEqual(['clerk', 'auditor']);

    const disabled = await h.call('POST', `/admin/users/${id}/disable`, {}, adminToken);
    expect(disabled.body.disabled).toBe(true);
    expect((await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).status).toBe(401);
    expect((await h.call('POST', `/admin/users/${id}/enable`, {}, adminToken)).body.disabled).toBe(false);
    expect((await h.call('POST', `/admin/users/${id}/unlock`, {}, adminToken)).status).toBe(204);
    expect((await h.call('POST', `/admin/users/${id}/reset-mfa`, {}, adminToken)).status).toBe(204);
    expect(h.events.some((e) => e.type === 'auth' && e.action === 'mfa-remove' && e.user === id)).toBe(true);

    expect((await h.call('GET', '/admin/users/does-not-exist', undefined, adminToken)).status).toBe(404);
    const self = await h.call('POST', `/admin/users/${admin.id}/disable`, {}, adminToken);
    expect(self.status).toBe(409);
  });

  it('requires a recent authentication for changes, not for reads', async () => {
    h.clock.advance(30_000); // a TOTP code is accepted once: use the next step
    const login = await loginWithTotp(h, admin);
    expect(login.status).toBe(200);
    h.clock.advance(400_000);
    // A refreshed access token is valid but keeps the original auth_time.
    const refreshed = await h.call('POST', '/token', {
      grant_type: 'refresh_token',
      refresh_token: login.body.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    const token = refreshed.body.access_token as string;
    expect((await h.call('GET', '/admin/users', undefined, token)).status).toBe(200);
    const stale = await h.call(
      'POST',
      '/admin/users',
      { username: uniqueName('late'), password: GOOD_PASSWORD },
      token,
    );
    expect(stale.status).toBe(401);
    expect(stale.body.type).toBe('https://rampart.dev/problems/insufficient-user-authentication');
    expect(stale.headers.get('www-authenticate')).toContain('max_age=');
  });
});
