/**
 * The identity MFA store (src/identity/mfa.ts) on a real store: recovery codes (keyed hash,
 * bound to the user, single use, replaced as a set, loosely typed input accepted, oversized
 * input refused before the store) and the TOTP factor's edges that totp-store.test.ts does
 * not reach — the sealed secret bound to its user, enrolment conflicts, a confirmation that
 * loses to a concurrent re-enrolment, removal (#19).
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { Mfa, RECOVERY_CODE_COUNT } from '../../src/identity/mfa.ts';
import { Sealer } from '../../src/identity/secrets.ts';
import type { Db } from '../../src/store/types.ts';
import { forEachStore } from '../helpers/stores.ts';
import { problemOf, oathtool, uniqueName } from './harness.ts';

const CONFLICT = 'https://rampart.dev/problems/conflict';
const CODE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;

forEachStore('MFA store: recovery codes and TOTP edges', (getDb) => {
  const clock = new ManualClock(Date.UTC(2026, 4, 5, 6, 7, 15));
  const sealer = new Sealer(randomBytes(32));
  const mfaOn = (db: Db = getDb()) =>
    new Mfa(db, clock, sealer, { window: 'strict', issuer: 'Rampart Clinic' });

  async function user(): Promise<string> {
    const id = uniqueName('rc');
    await getDb().run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, 0, 0)', [
      id,
      id,
    ]);
    return id;
  }

  const unused = async (id: string) =>
    Number(
      (await getDb().one<{ n: number }>(
        'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
        [id],
      ))!.n,
    );

  it('issues 10 distinct 80-bit codes in 4 groups, stored only as keyed hashes', async () => {
    const mfa = mfaOn();
    const id = await user();
    const codes = await mfa.regenerateRecoveryCodes(id);
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(RECOVERY_CODE_COUNT).toBe(10);
    for (const c of codes) expect(c).toMatch(CODE);
    expect(new Set(codes).size).toBe(10);
    const rows = await getDb().query<{ code_hash: string; created_at: number }>(
      'SELECT code_hash, created_at FROM recovery_codes WHERE user_id = $1',
      [id],
    );
    expect(rows).toHaveLength(10);
    const stored = rows.map((r) => r.code_hash).join(' ');
    for (const c of codes) {
      expect(stored).not.toContain(c);
      expect(stored).not.toContain(c.replace(/-/g, ''));
    }
    for (const r of rows) {
      expect(r.code_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(Number(r.created_at)).toBe(clock.now());
    }
  });

  it('accepts each code once, counting the codes left', async () => {
    const mfa = mfaOn();
    const id = await user();
    const codes = await mfa.regenerateRecoveryCodes(id);
    expect(await mfa.useRecoveryCode(id, codes[0]!)).toBe(9);
    expect(await mfa.useRecoveryCode(id, codes[0]!)).toBeUndefined();
    expect(await mfa.useRecoveryCode(id, codes[5]!)).toBe(8);
    const used = await getDb().one<{ used_at: number }>(
      'SELECT MAX(used_at) AS used_at FROM recovery_codes WHERE user_id = $1',
      [id],
    );
    expect(Number(used!.used_at)).toBe(clock.now());
    expect(await unused(id)).toBe(8);
    for (const c of codes.slice(1)) if (c !== codes[5]) await mfa.useRecoveryCode(id, c);
    expect(await unused(id)).toBe(0);
  });

  it('uses the last code: 0 left, not undefined', async () => {
    const mfa = mfaOn();
    const id = await user();
    const codes = await mfa.regenerateRecoveryCodes(id);
    for (const c of codes.slice(0, 9)) expect(await mfa.useRecoveryCode(id, c)).toBeGreaterThan(0);
    expect(await mfa.useRecoveryCode(id, codes[9]!)).toBe(0);
  });

  it('accepts a code typed loosely: lower case, spaces, no dashes, O for 0 and I/L for 1', async () => {
    const mfa = mfaOn();
    const id = await user();
    const codes = await mfa.regenerateRecoveryCodes(id);
    expect(await mfa.useRecoveryCode(id, codes[0]!.toLowerCase().replace(/-/g, ' '))).toBe(9);
    expect(await mfa.useRecoveryCode(id, codes[1]!.replace(/-/g, ''))).toBe(8); // exactly 16 characters
    const ambiguous = codes.slice(2).find((c) => /[01]/.test(c));
    if (ambiguous) {
      const typed = ambiguous.replace(/0/g, 'o').replace(/1/g, 'l');
      expect(await mfa.useRecoveryCode(id, typed)).toBe(7);
    }
  });

  it('refuses input outside 16–24 characters of the code alphabet before it reaches the store', async () => {
    const mfa = mfaOn();
    const id = await user();
    const codes = await mfa.regenerateRecoveryCodes(id);
    const c = codes[0]!;
    // Each would normalise to the right code: only the shape check refuses them.
    expect(c).toHaveLength(19);
    expect(await mfa.useRecoveryCode(id, `${c}      `)).toBeUndefined(); // 25 characters
    expect(await mfa.useRecoveryCode(id, `      ${c}`)).toBeUndefined();
    expect(await mfa.useRecoveryCode(id, `${c}\n`.padEnd(25, ' '))).toBeUndefined();
    expect(await mfa.useRecoveryCode(id, c.replace(/-/g, '_'))).toBeUndefined();
    expect(await mfa.useRecoveryCode(id, `${c}.`)).toBeUndefined();
    expect(await mfa.useRecoveryCode(id, c.replace(/-/g, '').slice(0, 15))).toBeUndefined();
    expect(await unused(id)).toBe(10);
    // 24 characters (the longest accepted): the 19-character code and 5 spaces.
    expect(await mfa.useRecoveryCode(id, `${c}     `)).toBe(9);
  });

  it('binds codes to their user: another user’s code is refused and left unused', async () => {
    const mfa = mfaOn();
    const alice = await user();
    const bob = await user();
    const codes = await mfa.regenerateRecoveryCodes(alice);
    await mfa.regenerateRecoveryCodes(bob);
    expect(await mfa.useRecoveryCode(bob, codes[0]!)).toBeUndefined();
    expect(await unused(bob)).toBe(10);
    expect(await mfa.useRecoveryCode(alice, codes[0]!)).toBe(9);
  });

  it('a new set replaces the old one: old codes stop working', async () => {
    const mfa = mfaOn();
    const id = await user();
    const old = await mfa.regenerateRecoveryCodes(id);
    await mfa.useRecoveryCode(id, old[0]!);
    const fresh = await mfa.regenerateRecoveryCodes(id);
    expect(await unused(id)).toBe(10);
    expect(await mfa.useRecoveryCode(id, old[1]!)).toBeUndefined();
    expect(await mfa.useRecoveryCode(id, fresh[1]!)).toBe(9);
  });

  it('a store dump does not let anyone check a guess: the hash is keyed', async () => {
    const id = await user();
    const codes = await mfaOn().regenerateRecoveryCodes(id);
    const otherKey = new Mfa(getDb(), clock, new Sealer(randomBytes(32)), { window: 'strict', issuer: 'x' });
    expect(await otherKey.useRecoveryCode(id, codes[0]!)).toBeUndefined();
    expect(await unused(id)).toBe(10);
  });

  it('enrols with an otpauth URI and QR code naming the issuer and account', async () => {
    const mfa = mfaOn();
    const id = await user();
    const e = await mfa.enrollTotp(id, 'dr.who@clinic.test');
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
    expect(e.otpauth_uri).toBe(
      `otpauth://totp/Rampart%20Clinic:dr.who%40clinic.test?secret=${e.secret}&issuer=Rampart%20Clinic&algorithm=SHA1&digits=6&period=30`,
    );
    expect(e.qr_svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });

  it('re-enrolling while pending replaces the secret; once confirmed, enrolment is refused (409)', async () => {
    const mfa = mfaOn();
    const id = await user();
    const first = await mfa.enrollTotp(id, id);
    const second = await mfa.enrollTotp(id, id);
    expect(second.secret).not.toBe(first.secret);
    expect(await mfa.confirmTotp(id, oathtool(first.secret, clock.now()))).toBe(false);
    expect(await mfa.verifyTotp(id, oathtool(second.secret, clock.now()))).toBe('none'); // pending only
    expect(await mfa.confirmTotp(id, oathtool(second.secret, clock.now()))).toBe(true);
    const again = await problemOf(mfa.enrollTotp(id, id));
    expect(again.problem).toMatchObject({
      type: CONFLICT,
      status: 409,
      detail: 'TOTP is already enrolled; remove it before enrolling again',
    });
    const confirm = await problemOf(mfa.confirmTotp(id, oathtool(second.secret, clock.now())));
    expect(confirm.problem).toMatchObject({ type: CONFLICT, detail: 'No TOTP enrolment is pending' });
    const none = await problemOf(mfa.confirmTotp(await user(), '123456'));
    expect(none.problem).toMatchObject({ type: CONFLICT, detail: 'No TOTP enrolment is pending' });
  });

  it('a wrong confirmation code leaves the enrolment pending', async () => {
    const mfa = mfaOn();
    const id = await user();
    const e = await mfa.enrollTotp(id, id);
    const wrong = oathtool(e.secret, clock.now() + 120_000);
    expect(await mfa.confirmTotp(id, wrong)).toBe(false);
    const row = await getDb().one<{ confirmed: number; last_step: number }>(
      'SELECT confirmed, last_step FROM totp_factors WHERE user_id = $1',
      [id],
    );
    expect({ confirmed: Number(row!.confirmed), last_step: Number(row!.last_step) }).toEqual({
      confirmed: 0,
      last_step: -1,
    });
    expect(await mfa.confirmTotp(id, oathtool(e.secret, clock.now()))).toBe(true);
  });

  it('a confirmation that loses to a re-enrolment between its read and its write is refused (409)', async () => {
    const id = await user();
    const plain = mfaOn();
    const e = await plain.enrollTotp(id, id);
    // The real store; a concurrent re-enrolment lands right after the confirmation's read.
    let raced = false;
    const db = getDb();
    const racing = new Proxy(db, {
      get(target, key) {
        if (key === 'one')
          return async (...args: Parameters<Db['one']>) => {
            const row = await target.one(...args);
            if (!raced) {
              raced = true;
              await plain.enrollTotp(id, id);
            }
            return row;
          };
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const err = await problemOf(mfaOn(racing).confirmTotp(id, oathtool(e.secret, clock.now())));
    expect(err.problem).toMatchObject({
      type: CONFLICT,
      detail: 'The TOTP enrolment changed while confirming; enrol again',
    });
    const row = await getDb().one<{ confirmed: number }>(
      'SELECT confirmed FROM totp_factors WHERE user_id = $1',
      [id],
    );
    expect(Number(row!.confirmed)).toBe(0);
  });

  it('a sealed secret is bound to its user: copied to another user’s row it does not open', async () => {
    const mfa = mfaOn();
    const alice = await user();
    const mallory = await user();
    const e = await mfa.enrollTotp(alice, alice);
    expect(await mfa.confirmTotp(alice, oathtool(e.secret, clock.now()))).toBe(true);
    await mfa.enrollTotp(mallory, mallory);
    await getDb().run(
      'UPDATE totp_factors SET secret_enc = (SELECT secret_enc FROM totp_factors WHERE user_id = $1), confirmed = 1 WHERE user_id = $2',
      [alice, mallory],
    );
    await expect(mfa.verifyTotp(mallory, oathtool(e.secret, clock.now() + 30_000))).rejects.toThrow();
  });

  it('accepts a code with spaces in it, and removes the factor once', async () => {
    const mfa = mfaOn();
    const id = await user();
    const e = await mfa.enrollTotp(id, id);
    const code = oathtool(e.secret, clock.now());
    expect(await mfa.confirmTotp(id, ` ${code.slice(0, 3)} ${code.slice(3)}\t`)).toBe(true);
    const next = oathtool(e.secret, clock.now() + 30_000);
    clock.advance(30_000);
    expect(await mfa.verifyTotp(id, `${next.slice(0, 3)} ${next.slice(3)}`)).toBe('ok');
    expect(await mfa.removeTotp(id)).toBe(true);
    expect(await mfa.removeTotp(id)).toBe(false);
    expect(await mfa.verifyTotp(id, next)).toBe('none');
    clock.advance(-30_000);
  });
});
