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

  /** The same service with a per-IP allowance the per-account tests do not reach. */
  async function manyIps(): Promise<void> {
    await h.close();
    h = await startHarness(getDb(), {
      lockout: { maxFailuresPerAccount: 5, maxFailuresPerIp: 1000, window: 900, maxConsecutiveFailures: 100 },
    });
  }

  /** A failed-login answer without the parts that differ per request. */
  function shape(r: Awaited<ReturnType<Harness['call']>>): unknown {
    const headers = Object.fromEntries(
      [...r.headers.entries()].filter(([k]) => k !== 'date' && k !== 'content-length'),
    );
    return { status: r.status, body: r.body, headers };
  }

  it('backs off exponentially per account after 5 free failures (429 + Retry-After 1, 2, 4 … s); a known and an unknown account get identical answers (no enumeration through the throttle)', async () => {
    await manyIps();
    const username = uniqueName('bf');
    const ghost = uniqueName('ghost');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    const answers: Record<string, unknown[]> = { [username]: [], [ghost]: [] };
    for (const name of [username, ghost]) {
      for (let i = 0; i < 5; i++) {
        const r = await h.call('POST', '/login', { username: name, password: `wrong-password-${i}` });
        expect(r.status).toBe(401);
        answers[name]!.push(shape(r));
      }
      const waits: number[] = [];
      for (let i = 0; i < 4; i++) {
        // During the delay even the right password is not evaluated.
        const blocked = await h.call('POST', '/login', { username: name, password: GOOD_PASSWORD });
        expect(blocked.status).toBe(429);
        expect(blocked.body.type).toBe('https://rampart.dev/problems/too-many-requests');
        expect(blocked.headers.get('cache-control')).toBe('no-store');
        const wait = Number(blocked.headers.get('retry-after'));
        waits.push(wait);
        answers[name]!.push(shape(blocked));
        h.clock.advance(wait * 1000);
        const wrong = await h.call('POST', '/login', { username: name, password: 'wrong-again-1' });
        expect(wrong.status).toBe(401);
        answers[name]!.push(shape(wrong));
      }
      expect(waits).toEqual([1, 2, 4, 8]);
      h.clock.advance(86_400_000 + 16_000); // forgetAfter: the free attempts come back
    }
    // Status, body (problem type, detail) and headers (Retry-After included) are the same
    // whether the account exists or not.
    expect(answers[username]).toHaveLength(13);
    expect(answers[ghost]).toEqual(answers[username]);
    expect((await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('the back-off is capped at `window`: nobody can shut an account for longer', async () => {
    await manyIps();
    const username = uniqueName('cap');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    let wait = 0;
    for (let i = 0; i < 16; i++) {
      const r = await h.call('POST', '/login', { username, password: `wrong-password-${i}` });
      if (r.status === 429) {
        wait = Number(r.headers.get('retry-after'));
        h.clock.advance(wait * 1000);
        i--;
        continue;
      }
      expect(r.status).toBe(401);
    }
    // 5 free, then 1, 2, … 512, then 900 (the window) — never more.
    const r = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBe(900);
    h.clock.advance(900_000);
    expect((await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('backs off a client IP across accounts', async () => {
    for (let i = 0; i < 8; i++)
      await h.call('POST', '/login', { username: uniqueName('spray'), password: 'Spring2026!Spring' });
    const res = await h.call('POST', '/login', {
      username: uniqueName('spray'),
      password: 'Spring2026!Spring',
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it("a locked account's wrong password answers exactly like any failed login; only the right one learns of the lock", async () => {
    const username = uniqueName('lock');
    const ghost = uniqueName('ghost');
    const other = uniqueName('open');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    await h.service.users.add({ username: other, password: GOOD_PASSWORD });
    for (let i = 0; i < 7; i++) {
      await h.call('POST', '/login', { username, password: `wrong-password-${i}` });
      h.clock.advance(5 * 60_000); // wait out the back-off
    }
    // The notification: one event when the lock engages (for the monitor to alert on).
    const lockEvents = h.events.filter(
      (e) => e.type === 'auth' && e.outcome === 'locked' && e.reason === 'account-locked-now',
    );
    expect(lockEvents).toHaveLength(1);
    const id = (await h.service.users.get(username))?.id;
    expect(lockEvents[0]).toMatchObject({ user: id, action: 'login' });

    h.clock.advance(86_400_000); // back-offs forgotten
    const lockedWrong = await h.call('POST', '/login', { username, password: 'still-wrong-password' });
    expect((await h.service.users.get(username))?.locked).toBe(true); // that call awaited the counter
    h.clock.advance(86_400_000);
    const unknown = await h.call('POST', '/login', { username: ghost, password: 'still-wrong-password' });
    h.clock.advance(86_400_000);
    const openWrong = await h.call('POST', '/login', { username: other, password: 'still-wrong-password' });
    expect(lockedWrong.status).toBe(401);
    expect(lockedWrong.body.type).toBe('https://rampart.dev/problems/invalid-credentials');
    expect(lockedWrong.headers.get('x-content-type-options')).toBe('nosniff');
    expect(shape(lockedWrong)).toEqual(shape(unknown));
    expect(shape(lockedWrong)).toEqual(shape(openWrong));

    h.clock.advance(86_400_000);
    const locked = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    expect(locked.status).toBe(403);
    expect(locked.body.type).toBe('https://rampart.dev/problems/account-locked');
    expect(locked.headers.get('content-type')).toBe('application/problem+json');
    expect(locked.headers.get('cache-control')).toBe('no-store');
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
