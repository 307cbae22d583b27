import { expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { forEachStore } from '../helpers/stores.ts';
import { GOOD_PASSWORD, oathtool, startHarness, uniqueName } from './harness.ts';

forEachStore('passwords in the store', (getDb) => {
  it('re-hashes at login when the scrypt parameters changed', async () => {
    const clock = new ManualClock();
    const oldNode = await startHarness(getDb(), { passwords: { scrypt: { ln: 10, r: 8, p: 1 } } }, { clock });
    const username = uniqueName('rehash');
    await oldNode.service.users.add({ username, password: GOOD_PASSWORD });
    await oldNode.close();
    const hashOf = async () =>
      (await getDb().one<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = $1', [
        username,
      ]))!.password_hash;
    expect(await hashOf()).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/);

    const newNode = await startHarness(getDb(), { passwords: { scrypt: { ln: 11, r: 8, p: 1 } } }, { clock });
    try {
      const bad = await newNode.call('POST', '/login', { username, password: 'wrong-password-here' });
      expect(bad.status).toBe(401);
      expect(await hashOf()).toMatch(/^\$scrypt\$ln=10,/); // never on a failed attempt
      expect((await newNode.call('POST', '/login', { username, password: GOOD_PASSWORD })).status).toBe(200);
      expect(await hashOf()).toMatch(/^\$scrypt\$ln=11,r=8,p=1\$/);
      expect((await newNode.call('POST', '/login', { username, password: GOOD_PASSWORD })).status).toBe(200);
    } finally {
      await newNode.close();
    }
  });

  it('asks 15 characters of password-only users and 8 of users who must use MFA', async () => {
    const h = await startHarness(getDb());
    try {
      await expect(h.service.users.add({ username: uniqueName('u'), password: 'nine-char' })).rejects.toThrow(
        /at least 15/,
      );
      await expect(
        h.service.users.add({ username: uniqueName('a'), password: 'nine-char', roles: ['admin'] }),
      ).resolves.toBeDefined();
    } finally {
      await h.close();
    }
  });

  it('keeps a short password from becoming the only factor', async () => {
    const clock = new ManualClock();
    const h = await startHarness(getDb(), { mfa: { requiredForRoles: [] } }, { clock });
    try {
      const username = uniqueName('short');
      await h.service.users.add({ username, password: GOOD_PASSWORD });
      let t = (await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).body.access_token;
      const e = await h.call('POST', '/totp/enroll', {}, t);
      expect(
        (await h.call('POST', '/totp/confirm', { code: oathtool(e.body.secret, clock.now()) }, t)).status,
      ).toBe(200);
      clock.advance(30_000);
      // with a second factor, 8 characters are enough
      expect(
        (await h.call('POST', '/password', { current_password: GOOD_PASSWORD, new_password: 'kX7#pq2!' }, t))
          .status,
      ).toBe(204);
      const first = await h.call('POST', '/login', { username, password: 'kX7#pq2!' });
      t = (
        await h.call('POST', '/login/totp', {
          mfa_token: first.body.mfa_token,
          code: oathtool(e.body.secret, clock.now()),
        })
      ).body.access_token;
      const del = await h.call('DELETE', '/totp', undefined, t);
      expect(del.status).toBe(409);
      expect(del.body.detail).toMatch(/shorter than 15/);
    } finally {
      await h.close();
    }
  });

  it('spends similar time on unknown users and wrong passwords (dummy hash)', async () => {
    const h = await startHarness(getDb(), {
      passwords: { scrypt: { ln: 14, r: 8, p: 1 } },
      lockout: { maxFailuresPerAccount: 100, maxFailuresPerIp: 100 },
    });
    try {
      const username = uniqueName('timing');
      await h.service.users.add({ username, password: GOOD_PASSWORD });
      await h.call('POST', '/login', { username: 'warm-up', password: 'x-wrong-password' });
      const time = async (u: string) => {
        const t0 = performance.now();
        await h.call('POST', '/login', { username: u, password: 'x-wrong-password' });
        return performance.now() - t0;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 5; i++) {
        known.push(await time(username));
        unknown.push(await time(uniqueName('nobody')));
      }
      const median = (a: number[]) => a.sort((x, y) => x - y)[2]!;
      const ratio = median(unknown) / median(known);
      expect(ratio).toBeGreaterThan(0.33); // without the dummy hash it would be ~0.05
      expect(ratio).toBeLessThan(3);
    } finally {
      await h.close();
    }
  });
});
