import { afterEach, beforeEach, expect, it } from 'vitest';
import { forEachStore } from '../helpers/stores.ts';
import { GOOD_PASSWORD, oathtool, startHarness, uniqueName, userWithTotp, type Harness } from './harness.ts';

forEachStore('identity brute-force protection', (getDb) => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness(getDb(), {
      lockout: { maxFailuresPerAccount: 5, maxFailuresPerIp: 8, window: 900, maxConsecutiveFailures: 7 },
    });
  });
  afterEach(async () => h?.close());

  it('throttles an account after 5 failures with 429 + Retry-After, then lets it try again after the window', async () => {
    const username = uniqueName('bf');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    for (let i = 0; i < 5; i++) {
      expect((await h.call('POST', '/login', { username, password: `wrong-password-${i}` })).status).toBe(
        401,
      );
      h.clock.advance(1000);
    }
    const blocked = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body.type).toBe('https://rampart.dev/problems/too-many-requests');
    const retry = Number(blocked.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(800);
    expect(retry).toBeLessThanOrEqual(900);
    // The same for an unknown account: no enumeration through the throttle either.
    const ghost = uniqueName('ghost');
    for (let i = 0; i < 2; i++)
      await h.call('POST', '/login', { username: ghost, password: 'x-wrong-password' });
    h.clock.advance(retry * 1000);
    expect((await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).status).toBe(200);
    const attempts = h.events.filter((e) => e.type === 'auth' && e.action === 'login');
    expect(attempts.length).toBe(9); // every attempt emits an auth event
    expect(attempts.filter((e) => (e as { outcome: string }).outcome === 'locked')).toHaveLength(1);
  });

  it('throttles a client IP across accounts', async () => {
    for (let i = 0; i < 8; i++)
      await h.call('POST', '/login', { username: uniqueName('spray'), password: 'Spring2026!Spring' });
    const res = await h.call('POST', '/login', {
      username: uniqueName('spray'),
      password: 'Spring2026!Spring',
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('locks an account after the consecutive-failure limit until an administrator unlocks it', async () => {
    const username = uniqueName('lock');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    for (let i = 0; i < 7; i++) {
      await h.call('POST', '/login', { username, password: `wrong-password-${i}` });
      h.clock.advance(5 * 60_000); // slow enough to stay under the throttle
    }
    const locked = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    expect(locked.status).toBe(403);
    expect(locked.body.type).toBe('https://rampart.dev/problems/account-locked');
    expect((await h.service.users.get(username))?.locked).toBe(true);
    await h.service.users.unlock(username);
    expect((await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('throttles one-time-code guesses per account (5 per 15 minutes)', async () => {
    const u = await userWithTotp(h);
    const first = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
    const good = oathtool(u.secret, h.clock.now());
    for (let i = 0; i < 5; i++) {
      const bad = String((Number(good) + 1 + i) % 1_000_000).padStart(6, '0');
      expect(
        (await h.call('POST', '/login/totp', { mfa_token: first.body.mfa_token, code: bad })).status,
      ).toBe(401);
    }
    const blocked = await h.call('POST', '/login/totp', { mfa_token: first.body.mfa_token, code: good });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    const events = h.events.filter((e) => e.type === 'auth' && e.action === 'otp');
    expect(events).toHaveLength(6);
    expect(JSON.stringify(h.events)).not.toContain(good);
  });
});
