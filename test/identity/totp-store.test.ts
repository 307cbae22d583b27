import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { Mfa } from '../../src/identity/mfa.ts';
import { Sealer } from '../../src/identity/secrets.ts';
import type { TotpWindow } from '../../src/identity/totp.ts';
import { forEachStore } from '../helpers/stores.ts';
import { GOOD_PASSWORD, oathtool, startHarness, uniqueName } from './harness.ts';

forEachStore('TOTP factor in the store', (getDb) => {
  const clock = new ManualClock(Date.UTC(2026, 4, 5, 6, 7, 15));
  const sealer = new Sealer(randomBytes(32));

  async function user(): Promise<string> {
    const id = uniqueName('u');
    await getDb().run(`INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, 0, 0)`, [
      id,
      id,
    ]);
    return id;
  }

  async function enrolled(window: TotpWindow): Promise<{ mfa: Mfa; id: string; secret: string }> {
    const mfa = new Mfa(getDb(), clock, sealer, { window, issuer: 'Rampart' });
    const id = await user();
    const { secret } = await mfa.enrollTotp(id, id);
    clock.advance(-60_000);
    expect(await mfa.confirmTotp(id, oathtool(secret, clock.now()))).toBe(true); // confirm consumes an old step
    clock.advance(60_000);
    return { mfa, id, secret };
  }

  it('stores the secret encrypted', async () => {
    const mfa = new Mfa(getDb(), clock, sealer, { window: 'strict', issuer: 'Rampart' });
    const id = await user();
    const { secret } = await mfa.enrollTotp(id, id);
    const row = await getDb().one<{ secret_enc: string }>(
      'SELECT secret_enc FROM totp_factors WHERE user_id = $1',
      [id],
    );
    expect(row!.secret_enc).not.toContain(secret);
    expect(row!.secret_enc).toMatch(/^v1\./);
  });

  it('the code that confirmed the enrolment is refused at the next login (its step is consumed)', async () => {
    const mfa = new Mfa(getDb(), clock, sealer, { window: 'strict', issuer: 'Rampart' });
    const id = await user();
    const { secret } = await mfa.enrollTotp(id, id);
    const code = oathtool(secret, clock.now());
    expect(await mfa.confirmTotp(id, code)).toBe(true);
    expect(await mfa.verifyTotp(id, code)).toBe('replayed');
    // The previous step (still inside the strict window) is older than the consumed one.
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() - 30_000))).toBe('replayed');
  });

  it('accepts an oathtool code once; a replay is rejected', async () => {
    const { mfa, id, secret } = await enrolled('strict');
    const code = oathtool(secret, clock.now());
    expect(await mfa.verifyTotp(id, code)).toBe('ok');
    expect(await mfa.verifyTotp(id, code)).toBe('replayed');
    clock.advance(30_000);
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now()))).toBe('ok');
  });

  it('strict (default): accepts T−1 but not T+1', async () => {
    const { mfa, id, secret } = await enrolled('strict');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() + 30_000))).toBe('invalid');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() - 30_000))).toBe('ok');
    // after T−1 was used, T still works (a later step)…
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now()))).toBe('ok');
    // …but T−1 again does not.
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() - 30_000))).toBe('replayed');
  });

  it('lenient: accepts T+1 and T−1; once T+1 was used, T and T−1 are refused', async () => {
    const { mfa, id, secret } = await enrolled('lenient');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() - 60_000))).toBe('invalid');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() + 30_000))).toBe('ok');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now()))).toBe('replayed');
  });

  it('strictest: only the current step', async () => {
    const { mfa, id, secret } = await enrolled('strictest');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() - 30_000))).toBe('invalid');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now() + 30_000))).toBe('invalid');
    expect(await mfa.verifyTotp(id, oathtool(secret, clock.now()))).toBe('ok');
  });

  it('lets exactly one of many concurrent verifications of the same code pass', async () => {
    const { mfa, id, secret } = await enrolled('strict');
    const code = oathtool(secret, clock.now());
    const results = await Promise.all(Array.from({ length: 8 }, () => mfa.verifyTotp(id, code)));
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'replayed')).toHaveLength(7);
  });

  it('survives concurrent enrol and confirm requests over HTTP without corrupting state', async () => {
    const h = await startHarness(getDb(), {}, { clock });
    try {
      const username = uniqueName('race');
      await h.service.users.add({ username, password: GOOD_PASSWORD });
      const login = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
      const token = login.body.access_token as string;
      const enrolls = await Promise.all(
        Array.from({ length: 4 }, () => h.call('POST', '/totp/enroll', {}, token)),
      );
      for (const e of enrolls) expect(e.status).toBe(200);
      const secrets = enrolls.map((e) => e.body.secret as string);
      // Everyone confirms with the code of the secret they saw, all at once.
      const confirms = await Promise.all(
        secrets.map((s) => h.call('POST', '/totp/confirm', { code: oathtool(s, clock.now()) }, token)),
      );
      const ok = confirms.filter((c) => c.status === 200);
      // exactly the secret that won the upserts (4 racers: the losers stay under the 5-failure throttle)
      expect(confirms.map((c) => c.status).sort()).toContain(200);
      expect(ok).toHaveLength(1);
      for (const c of confirms.filter((x) => x.status !== 200)) expect([401, 409]).toContain(c.status);
      expect(ok[0]!.body.recovery_codes).toHaveLength(10);
      const rows = await getDb().query('SELECT confirmed FROM totp_factors WHERE user_id = $1', [
        (await h.service.users.get(username))!.id,
      ]);
      expect(rows).toEqual([{ confirmed: 1 }]);
      // Enrolment is now closed until the factor is removed; and a second concurrent confirm wave changes nothing.
      expect((await h.call('POST', '/totp/enroll', {}, token)).status).toBe(409);
      const again = await Promise.all(
        secrets.map((s) => h.call('POST', '/totp/confirm', { code: oathtool(s, clock.now()) }, token)),
      );
      for (const c of again) expect(c.status).toBe(409);
      const codes = await getDb().one<{ n: number }>(
        'SELECT COUNT(*) AS n FROM recovery_codes r JOIN users u ON u.id = r.user_id WHERE u.username = $1',
        [username],
      );
      expect(Number(codes!.n)).toBe(10);
      // The winning secret is the one that works at login.
      clock.advance(30_000);
      const first = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
      const winner = secrets.find((_s, i) => confirms[i]!.status === 200)!;
      const res = await h.call('POST', '/login/totp', {
        mfa_token: first.body.mfa_token,
        code: oathtool(winner, clock.now()),
      });
      expect(res.status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
