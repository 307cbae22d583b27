/**
 * TokenService on a real store (SQLite and PostgreSQL) with real ES256 signing keys: the
 * claims it signs, what `verify` refuses, refresh-token rotation and its edges (expiry,
 * session age, reuse and its grace window, the lost race), and the revocation view
 * (`isRevoked`, `refreshView`) that the gateway consults synchronously. The HTTP flows are in
 * sessions.test.ts; these tests pin each decision of src/identity/tokens.ts (#19).
 */
import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { beforeEach, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ProblemError } from '../../src/core/errors.ts';
import { SigningKeys } from '../../src/identity/keys.ts';
import { Sealer, sha256Hex } from '../../src/identity/secrets.ts';
import {
  ACR,
  TokenService,
  type SessionSubject,
  type TokenServiceOptions,
} from '../../src/identity/tokens.ts';
import type { Db } from '../../src/store/types.ts';
import { forEachStore } from '../helpers/stores.ts';
import { problemOf, uniqueName } from './harness.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0, 250); // not on a second boundary
const ISS = 'https://id.clinic.test';
const AUD = 'clinic';
const OPTS: TokenServiceOptions = {
  issuer: ISS,
  audience: AUD,
  accessTtlMs: 300_500, // 300 s (floored)
  refreshTtlMs: 3_600_000,
  refreshReuseGraceMs: 0,
  sessionMaxAgeMs: 86_400_000,
  refreshIntervalMs: 60_000,
};
const AUTH = { amr: ['pwd', 'otp'], acr: ACR.mfa };
const PREFIX = 'https://rampart.dev/problems/';

forEachStore('TokenService', (getDb) => {
  let clock: ManualClock;
  let keys: SigningKeys;
  const sealer = new Sealer(randomBytes(32));

  beforeEach(async () => {
    clock = new ManualClock(T0);
    keys = new SigningKeys(getDb(), sealer, clock, { rotateAfterMs: 30 * 86_400_000, graceMs: 86_400_000 });
    await keys.refresh();
  });

  const service = (opts: Partial<TokenServiceOptions> = {}, db: Db = getDb()) =>
    new TokenService(db, keys, clock, { ...OPTS, ...opts });

  async function user(): Promise<SessionSubject> {
    const id = uniqueName('tok');
    await getDb().run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, 0, 0)', [
      id,
      id,
    ]);
    return { userId: id, roles: ['doctor'], mfaEnrollmentRequired: false };
  }

  const loader = (s: SessionSubject) => async (id: string) => (id === s.userId ? s : undefined);

  const familyRow = (id: string) =>
    getDb().one<{
      revoked_at: number | null;
      revoked_reason: string | null;
      expires_at: number;
      amr: string;
    }>('SELECT revoked_at, revoked_reason, expires_at, amr FROM token_families WHERE id = $1', [id]);
  const refreshRow = (token: string) =>
    getDb().one<{ expires_at: number; used_at: number | null; family_id: string }>(
      'SELECT expires_at, used_at, family_id FROM refresh_tokens WHERE token_hash = $1',
      [sha256Hex(token)],
    );

  /** Signs a token with the service's own current key, for claims the service never signs itself. */
  async function forge(
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
  ): Promise<string> {
    const { kid, privateKey } = keys.signer();
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...header })
      .sign(privateKey);
  }
  const nowS = () => Math.floor(clock.now() / 1000);
  const goodClaims = (sub: string) => ({
    iss: ISS,
    aud: AUD,
    sub,
    sid: 'fam-1',
    jti: 'j-1',
    iat: nowS(),
    exp: nowS() + 300,
  });

  it('signs an ES256 at+jwt with the session, the subject and the access lifetime', async () => {
    const tokens = service();
    const s = await user();
    const res = await tokens.startSession(s, { ...AUTH, authTime: T0 - 10_700 });
    expect(res.token_type).toBe('Bearer');
    expect(res.expires_in).toBe(300);
    expect(res.refresh_token).toMatch(/^rrt_[A-Za-z0-9_-]{43}$/);
    const header = decodeProtectedHeader(res.access_token);
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: keys.signer().kid });
    const claims = decodeJwt(res.access_token);
    expect(claims).toEqual({
      iss: ISS,
      aud: AUD,
      sub: s.userId,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: nowS(),
      exp: nowS() + 300,
      sid: res.sid,
      amr: AUTH.amr,
      acr: ACR.mfa,
      auth_time: Math.floor((T0 - 10_700) / 1000),
      roles: ['doctor'],
    });
    const verified = await tokens.verify(res.access_token);
    expect(verified.sub).toBe(s.userId);
    // The family row holds the session; the refresh token lives no longer than refreshTtl.
    const fam = await familyRow(res.sid);
    expect(fam).toMatchObject({ revoked_at: null, expires_at: T0 + OPTS.sessionMaxAgeMs });
    expect(JSON.parse(fam!.amr)).toEqual(AUTH.amr);
    expect(Number((await refreshRow(res.refresh_token))!.expires_at)).toBe(T0 + OPTS.refreshTtlMs);
    expect(await tokens.familyOf(res.refresh_token)).toEqual({ familyId: res.sid, userId: s.userId });
    expect(await tokens.familyOf('rrt_unknown')).toBeUndefined();
  });

  it('flags mfa_enrollment_required only for a subject who must enrol', async () => {
    const tokens = service();
    const s = await user();
    const flagged = await tokens.accessToken(
      { ...s, mfaEnrollmentRequired: true },
      { sid: 'x', amr: ['pwd'], acr: ACR.single, authTime: T0 },
    );
    expect(decodeJwt(flagged.token).mfa_enrollment_required).toBe(true);
    const plain = await tokens.accessToken(s, { sid: 'x', amr: ['pwd'], acr: ACR.single, authTime: T0 });
    expect(decodeJwt(plain.token)).not.toHaveProperty('mfa_enrollment_required');
  });

  it('verify refuses tokens of another issuer, audience or type, unknown or missing keys, and each missing claim', async () => {
    const tokens = service();
    const s = await user();
    expect((await tokens.verify(await forge(goodClaims(s.userId)))).sid).toBe('fam-1');
    const bad: Array<[string, Promise<string>]> = [
      ['issuer', forge({ ...goodClaims(s.userId), iss: 'https://evil.test' })],
      ['audience', forge({ ...goodClaims(s.userId), aud: 'other' })],
      ['typ', forge(goodClaims(s.userId), { typ: 'JWT' })],
      ['unknown kid', forge(goodClaims(s.userId), { kid: 'not-a-key' })],
      ['no kid', forge(goodClaims(s.userId), { kid: undefined })],
      ['empty kid', forge(goodClaims(s.userId), { kid: '' })],
    ];
    for (const claim of ['exp', 'sub', 'iat', 'sid', 'jti']) {
      const c: Record<string, unknown> = goodClaims(s.userId);
      delete c[claim];
      bad.push([`no ${claim}`, forge(c)]);
    }
    for (const [what, token] of bad) {
      const err = await problemOf(tokens.verify(await token));
      expect(err.problem, what).toMatchObject({
        type: PREFIX + 'invalid-token',
        status: 401,
        detail: 'The access token is invalid or expired',
      });
      expect(err.headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
  });

  it('verify accepts 5 s of clock skew on exp, not more', async () => {
    const tokens = service();
    const s = await user();
    const { token } = await tokens.accessToken(s, { sid: 'x', ...AUTH, authTime: T0 });
    clock.set((nowS() + 300 + 5) * 1000 - 1); // exp + 5 s, just under
    expect((await tokens.verify(token)).sub).toBe(s.userId);
    clock.advance(1001);
    const err = await problemOf(tokens.verify(token));
    expect(err.problem.type).toBe(PREFIX + 'invalid-token');
    expect(err.headers['WWW-Authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('verify says "revoked" for a revoked session, with the same challenge', async () => {
    const tokens = service();
    const s = await user();
    const res = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    await tokens.revokeFamily(res.sid, 'logout');
    const err = await problemOf(tokens.verify(res.access_token));
    expect(err.problem).toMatchObject({
      type: PREFIX + 'invalid-token',
      detail: 'The access token has been revoked',
    });
    expect(err.headers).toEqual({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  });

  it('rotates a refresh token once; the new access token keeps the session and the new refresh token its family expiry', async () => {
    const tokens = service({ sessionMaxAgeMs: 5_000_000 });
    const s = await user();
    const first = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    clock.advance(3_000_000);
    const next = await tokens.rotate(first.refresh_token, loader(s));
    expect(next).toMatchObject({
      userId: s.userId,
      sid: first.sid,
      withinGrace: false,
      token_type: 'Bearer',
    });
    expect(next.expires_in).toBe(300);
    expect(decodeJwt(next.access_token)).toMatchObject({
      sid: first.sid,
      amr: AUTH.amr,
      acr: ACR.mfa,
      auth_time: Math.floor(T0 / 1000),
      roles: ['doctor'],
    });
    expect(Number((await refreshRow(first.refresh_token))!.used_at)).toBe(clock.now());
    // now + refreshTtl would pass the session's end: the family's expiry wins.
    expect(Number((await refreshRow(next.refresh_token))!.expires_at)).toBe(T0 + 5_000_000);
    expect((await familyRow(first.sid))!.revoked_at).toBeNull();
  });

  it('refuses an unknown refresh token without naming a user', async () => {
    const err = await problemOf(service().rotate('rrt_' + 'x'.repeat(43), async () => undefined));
    expect(err.problem).toEqual({
      type: PREFIX + 'invalid-refresh-token',
      title: 'Invalid refresh token',
      status: 401,
      detail: 'The refresh token is invalid, expired or revoked',
    });
  });

  it('refuses a refresh token at its expiry without revoking the session', async () => {
    const tokens = service({ refreshTtlMs: 60_000 });
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    clock.advance(59_999);
    const b = await tokens.rotate(a.refresh_token, loader(s)); // 1 ms before its expiry
    clock.set(T0 + 59_999 + 60_000); // b's expiry exactly
    const err = await problemOf(tokens.rotate(b.refresh_token, loader(s)));
    expect(err.problem).toMatchObject({ type: PREFIX + 'invalid-refresh-token', user_id: s.userId });
    expect(err.problem).not.toHaveProperty('reuse');
    expect((await familyRow(a.sid))!.revoked_at).toBeNull();
  });

  it('refuses every refresh token of a session at the session’s end, as the store has it', async () => {
    const tokens = service();
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    // The session's end brought forward in the store (its refresh token would live 1 h).
    await getDb().run('UPDATE token_families SET expires_at = $1 WHERE id = $2', [T0 + 1_000, a.sid]);
    clock.advance(999);
    const b = await tokens.rotate(a.refresh_token, loader(s));
    expect(Number((await refreshRow(b.refresh_token))!.expires_at)).toBe(T0 + 1_000);
    await getDb().run('UPDATE refresh_tokens SET expires_at = $1 WHERE token_hash = $2', [
      T0 + 3_600_000,
      sha256Hex(b.refresh_token),
    ]);
    clock.advance(1);
    const err = await problemOf(tokens.rotate(b.refresh_token, loader(s)));
    expect(err.problem).toMatchObject({ type: PREFIX + 'invalid-refresh-token', user_id: s.userId });
    expect(err.problem).not.toHaveProperty('reuse');
    expect((await familyRow(a.sid))!.revoked_at).toBeNull();
  });

  it('refuses the refresh tokens of a revoked session', async () => {
    const tokens = service();
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    await tokens.revokeFamily(a.sid, 'logout');
    const err = await problemOf(tokens.rotate(a.refresh_token, loader(s)));
    expect(err.problem).toMatchObject({ type: PREFIX + 'invalid-refresh-token', user_id: s.userId });
    expect(err.problem).not.toHaveProperty('reuse');
  });

  it('revokes the session of a user who is gone', async () => {
    const tokens = service();
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    const err = await problemOf(tokens.rotate(a.refresh_token, async () => undefined));
    expect(err.problem).toMatchObject({ type: PREFIX + 'invalid-refresh-token', user_id: s.userId });
    expect(await familyRow(a.sid)).toMatchObject({ revoked_at: T0, revoked_reason: 'user-unavailable' });
    expect(tokens.isRevoked(decodeJwt(a.access_token) as never)).toBe(true);
  });

  it('a used refresh token presented again revokes its family (no grace window)', async () => {
    const tokens = service();
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    const b = await tokens.rotate(a.refresh_token, loader(s));
    const err = await problemOf(tokens.rotate(a.refresh_token, loader(s)));
    expect(err.problem).toMatchObject({
      type: PREFIX + 'invalid-refresh-token',
      user_id: s.userId,
      reuse: true,
    });
    expect(await familyRow(a.sid)).toMatchObject({ revoked_at: T0, revoked_reason: 'refresh-token-reuse' });
    expect(tokens.isRevoked(decodeJwt(b.access_token) as never)).toBe(true);
    expect((await problemOf(tokens.rotate(b.refresh_token, loader(s)))).problem.type).toBe(
      PREFIX + 'invalid-refresh-token',
    );
  });

  it('reuse is reuse even when the session was already revoked or expired', async () => {
    const tokens = service({ sessionMaxAgeMs: 60_000 });
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    await tokens.rotate(a.refresh_token, loader(s));
    clock.advance(60_000);
    const err = await problemOf(tokens.rotate(a.refresh_token, loader(s)));
    expect(err.problem).toMatchObject({ reuse: true });
  });

  it('within the grace window a used token yields another pair in the same family; 1 ms after it, reuse', async () => {
    const tokens = service({ refreshReuseGraceMs: 10_000 });
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    await tokens.rotate(a.refresh_token, loader(s));
    clock.advance(10_000); // exactly the window
    const again = await tokens.rotate(a.refresh_token, loader(s));
    expect(again).toMatchObject({ sid: a.sid, withinGrace: true });
    expect(Number((await refreshRow(a.refresh_token))!.used_at)).toBe(T0); // the first use stays the reference
    clock.advance(1);
    const err = await problemOf(tokens.rotate(a.refresh_token, loader(s)));
    expect(err.problem).toMatchObject({ reuse: true });
    expect((await familyRow(a.sid))!.revoked_reason).toBe('refresh-token-reuse');
  });

  it('the loser of a concurrent rotation revokes the family without a grace window, and gets a pair with one', async () => {
    for (const grace of [0, 10_000]) {
      const tokens = service({ refreshReuseGraceMs: grace });
      const s = await user();
      const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
      const results = await Promise.allSettled([
        tokens.rotate(a.refresh_token, loader(s)),
        tokens.rotate(a.refresh_token, loader(s)),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      if (grace === 0) {
        expect(ok).toHaveLength(1);
        const lost = results.find((r) => r.status === 'rejected')!.reason as ProblemError;
        expect(lost.problem).toMatchObject({ type: PREFIX + 'invalid-refresh-token', reuse: true });
        expect((await familyRow(a.sid))!.revoked_reason).toBe('refresh-token-reuse');
      } else {
        expect(ok).toHaveLength(2);
        const graces = ok.map(
          (r) => (r as PromiseFulfilledResult<{ withinGrace: boolean }>).value.withinGrace,
        );
        expect(graces.sort()).toEqual([false, true]);
        expect((await familyRow(a.sid))!.revoked_at).toBeNull();
      }
    }
  });

  it('a loser of a race whose winner started more than the grace window earlier is reuse', async () => {
    // The loser (L) reads the token unused, then pauses; the winner (W), which started
    // 10.001 s earlier and was slow, claims it; L's claim fails and W's use is outside L's window.
    const grace = 10_000;
    const s = await user();
    const a = await service({ refreshReuseGraceMs: grace }).startSession(s, { ...AUTH, authTime: T0 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let paused!: () => void;
    const atGate = new Promise<void>((r) => (paused = r));
    const db = getDb();
    let first = true;
    const gated = new Proxy(db, {
      get(target, key) {
        if (key === 'one')
          return async (...args: Parameters<Db['one']>) => {
            const row = await target.one(...args);
            if (first) {
              first = false;
              paused();
              await gate;
            }
            return row;
          };
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    clock.set(T0 + grace + 1);
    const loser = service({ refreshReuseGraceMs: grace }, gated).rotate(a.refresh_token, loader(s));
    await atGate;
    clock.set(T0);
    const winner = await service({ refreshReuseGraceMs: grace }).rotate(a.refresh_token, loader(s));
    expect(winner.withinGrace).toBe(false);
    release();
    const err = await problemOf(loser);
    expect(err.problem).toMatchObject({ type: PREFIX + 'invalid-refresh-token', reuse: true });
    expect((await familyRow(a.sid))!.revoked_reason).toBe('refresh-token-reuse');
  });

  it('revokeFamily keeps the first revocation', async () => {
    const tokens = service();
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    await tokens.revokeFamily(a.sid, 'logout');
    clock.advance(5_000);
    await tokens.revokeFamily(a.sid, 'admin');
    expect(await familyRow(a.sid)).toMatchObject({ revoked_at: T0, revoked_reason: 'logout' });
  });

  it('revokeUser revokes every other session and every token issued before the next whole second', async () => {
    const tokens = service();
    const s = await user();
    const keep = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    const other = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    await tokens.revokeUser(s.userId, 'password-change', keep.sid);
    expect((await familyRow(other.sid))!.revoked_reason).toBe('password-change');
    expect((await familyRow(keep.sid))!.revoked_at).toBeNull();
    const cutoff = Math.ceil(T0 / 1000) * 1000;
    const stored = await getDb().one<{ t: number }>(
      'SELECT tokens_valid_after AS t FROM users WHERE id = $1',
      [s.userId],
    );
    expect(Number(stored!.t)).toBe(cutoff);
    // Tokens of the kept session minted before the cut-off are revoked too…
    expect(tokens.isRevoked(decodeJwt(keep.access_token) as never)).toBe(true);
    // …a token minted now (same second) carries iat = the cut-off and passes it.
    const fresh = await tokens.rotate(keep.refresh_token, loader(s));
    expect(decodeJwt(fresh.access_token).iat).toBe(cutoff / 1000);
    expect(tokens.isRevoked(decodeJwt(fresh.access_token) as never)).toBe(false);
    await expect(tokens.verify(fresh.access_token)).resolves.toMatchObject({ sid: keep.sid });
    // revokeUser without keep revokes every session.
    await tokens.revokeUser(s.userId, 'disabled');
    expect((await familyRow(keep.sid))!.revoked_reason).toBe('disabled');
  });

  it('isRevoked: a cut-off revokes iat strictly before it; a family by sid; a disabled user everything', async () => {
    const tokens = service();
    const s = await user();
    clock.set(Date.UTC(2026, 0, 1, 12, 0, 0)); // a whole second
    await tokens.revokeUser(s.userId, 'password-change');
    const at = nowS();
    expect(tokens.isRevoked({ sub: s.userId, iat: at - 1 })).toBe(true);
    expect(tokens.isRevoked({ sub: s.userId, iat: at })).toBe(false);
    expect(tokens.isRevoked({ sub: 'someone-else', iat: at - 1 })).toBe(false);
    expect(tokens.isRevoked({ sub: s.userId, sid: 'fam-x', iat: at })).toBe(false);
    await tokens.revokeFamily('fam-x', 'logout');
    expect(tokens.isRevoked({ sub: s.userId, sid: 'fam-x', iat: at })).toBe(true);
    expect(tokens.isRevoked({ sub: s.userId, iat: at })).toBe(false); // no sid: no family check
    tokens.setDisabled(s.userId, true);
    expect(tokens.isRevoked({ sub: s.userId, iat: at + 10 })).toBe(true);
    tokens.setDisabled(s.userId, false);
    expect(tokens.isRevoked({ sub: s.userId, iat: at + 10 })).toBe(false);
  });

  it('refreshView reads other nodes’ revocations of the last access lifetime (+1 min) from the store', async () => {
    const writer = service(); // another node
    const reader = service();
    const s = await user();
    const u2 = await user();
    const u3 = await user();
    const a = await writer.startSession(s, { ...AUTH, authTime: T0 });
    const old = await writer.startSession(s, { ...AUTH, authTime: T0 });
    await writer.revokeFamily(old.sid, 'logout');
    await writer.revokeUser(u3.userId, 'password-change');
    clock.advance(OPTS.accessTtlMs + 60_000); // `old` and u3's cut-off are now exactly at the limit
    await writer.revokeFamily(a.sid, 'logout');
    await writer.revokeUser(u2.userId, 'password-change');
    await getDb().run('UPDATE users SET disabled = 1 WHERE id = $1', [s.userId]);
    const c = { sub: s.userId, sid: a.sid, iat: Math.floor(T0 / 1000) };
    expect(reader.isRevoked(c)).toBe(false); // stale until its refresh
    expect(reader.isRevoked({ sub: u2.userId, iat: Math.floor(T0 / 1000) })).toBe(false);
    await reader.refreshView();
    expect(reader.isRevoked(c)).toBe(true);
    expect(reader.isRevoked({ sub: u2.userId, iat: Math.floor(T0 / 1000) })).toBe(true);
    // u2 has a cut-off, not the disabled flag: a token minted after it is fine.
    expect(reader.isRevoked({ sub: u2.userId, iat: nowS() + 1 })).toBe(false);
    // Only revocations younger than the window are kept (older families mint no new tokens).
    await getDb().run('UPDATE users SET disabled = 0 WHERE id = $1', [s.userId]);
    await reader.refreshView();
    expect(reader.isRevoked({ sub: s.userId, sid: old.sid, iat: nowS() })).toBe(false);
    expect(reader.isRevoked({ sub: s.userId, sid: a.sid, iat: nowS() })).toBe(true);
    expect(reader.isRevoked({ sub: u3.userId, iat: Math.floor(T0 / 1000) })).toBe(true); // cut-off T0 + 750 ms
    expect(reader.isRevoked({ sub: u2.userId, iat: Math.floor(T0 / 1000) })).toBe(true);
    clock.advance(750); // u3's cut-off is now exactly at the limit
    await reader.refreshView();
    expect(reader.isRevoked({ sub: u3.userId, iat: Math.floor(T0 / 1000) })).toBe(false);
    expect(reader.isRevoked({ sub: u2.userId, iat: Math.floor(T0 / 1000) })).toBe(true);
  });

  it('refreshView forgets this node’s own revocations once they are older than the window', async () => {
    const tokens = service();
    const s = await user();
    const a = await tokens.startSession(s, { ...AUTH, authTime: T0 });
    await tokens.revokeFamily(a.sid, 'logout');
    await tokens.revokeUser(s.userId, 'password-change');
    await getDb().run('UPDATE token_families SET revoked_at = NULL WHERE id = $1', [a.sid]);
    await getDb().run('UPDATE users SET tokens_valid_after = 0 WHERE id = $1', [s.userId]);
    const c = { sub: s.userId, sid: a.sid, iat: Math.floor(T0 / 1000) - 1 };
    clock.advance(OPTS.accessTtlMs + 60_000);
    await tokens.refreshView();
    expect(tokens.isRevoked(c)).toBe(true); // at the limit: still kept
    expect(tokens.isRevoked({ sub: s.userId, iat: Math.floor(T0 / 1000) - 1 })).toBe(true);
    clock.advance(1_000);
    await tokens.refreshView();
    expect(tokens.isRevoked(c)).toBe(false);
    expect(tokens.isRevoked({ sub: s.userId, iat: Math.floor(T0 / 1000) - 1 })).toBe(false);
  });

  it('a local disable/enable wins until the store has been read after it, then the store is the truth', async () => {
    const tokens = service();
    const s = await user();
    const c = { sub: s.userId, iat: nowS() };
    await getDb().run('UPDATE users SET disabled = 1 WHERE id = $1', [s.userId]);
    await tokens.refreshView();
    expect(tokens.isRevoked(c)).toBe(true);
    tokens.setDisabled(s.userId, false); // enabled here, the store not yet written
    expect(tokens.isRevoked(c)).toBe(false);
    await tokens.refreshView(); // read after the change: the store (still disabled) wins
    expect(tokens.isRevoked(c)).toBe(true);

    // A change made while a read is in flight survives that read.
    await getDb().run('UPDATE users SET disabled = 0 WHERE id = $1', [s.userId]);
    const reading = tokens.refreshView();
    tokens.setDisabled(s.userId, true);
    await reading;
    expect(tokens.isRevoked(c)).toBe(true);
    await tokens.refreshView();
    expect(tokens.isRevoked(c)).toBe(false);
  });

  it('concurrent refreshView calls share one read; the next call reads again', async () => {
    const tokens = service();
    const a = tokens.refreshView();
    const b = tokens.refreshView();
    expect(b).toBe(a);
    await a;
    const c = tokens.refreshView();
    expect(c).not.toBe(a);
    await c;
  });

  it('publicKey answers the signing keys of the store', async () => {
    const tokens = service();
    expect(tokens.publicKey(keys.signer().kid)).toBe(keys.publicKey(keys.signer().kid));
    expect(tokens.publicKey('nope')).toBeUndefined();
    expect(tokens.algorithms).toEqual(['ES256']);
    expect(tokens.issuer).toBe(ISS);
    expect(tokens.audience).toBe(AUD);
  });

  it('start() re-reads the view every refresh interval until stop(); a second start() adds no timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      // The real store, with its reads counted.
      let reads = 0;
      const db = getDb();
      const counted = new Proxy(db, {
        get(target, key) {
          if (key === 'query')
            return (...args: Parameters<Db['query']>) => {
              reads++;
              return target.query(...args);
            };
          const v: unknown = Reflect.get(target, key, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const tokens = service({}, counted);
      tokens.start();
      tokens.start();
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(OPTS.refreshIntervalMs - 1);
      expect(reads).toBe(0);
      vi.advanceTimersByTime(1);
      expect(reads).toBe(1); // the view's first query starts at once
      await tokens.refreshView(); // shares the timer's read
      vi.advanceTimersByTime(OPTS.refreshIntervalMs);
      expect(reads).toBeGreaterThan(2);
      await tokens.refreshView();
      tokens.stop();
      expect(vi.getTimerCount()).toBe(0);
      const before = reads;
      vi.advanceTimersByTime(OPTS.refreshIntervalMs * 3);
      expect(reads).toBe(before);
      tokens.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
