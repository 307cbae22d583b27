/**
 * Access tokens (ES256 JWT, `typ: at+jwt`, RFC 9068 shape) and rotating refresh
 * tokens grouped in families (one family = one session, its id is the `sid` claim).
 *
 * Revocation: a refresh token presented twice revokes its whole family (OAuth 2.0
 * Security BCP, RFC 9700 §4.14.2). `isRevoked` answers synchronously from an
 * in-memory view — revoked families, per-user "issued before" cut-offs and disabled
 * users — refreshed from the store every `revocationRefreshInterval` seconds and
 * updated at once in this process when it revokes something. Other nodes see a
 * revocation within that interval (docs/identity.md).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { LocalTokenIssuer } from '../core/auth.ts';
import type { Clock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import type { Db } from '../store/types.ts';
import type { SigningKeys } from './keys.ts';
import { newId, randomToken, sha256Hex } from './secrets.ts';

/** RFC 8176 / Rampart authentication context class references. */
export const ACR = {
  /** One factor (a password alone). */
  single: 'urn:rampart:acr:pwd',
  /** Two factors: password + TOTP / recovery code / passkey, or a user-verified passkey. */
  mfa: 'urn:rampart:acr:mfa',
} as const;

/** RFC 6750 §3: every 401 for a bad access token carries the challenge, a revoked one too. */
const CHALLENGE = Object.freeze({ 'WWW-Authenticate': 'Bearer error="invalid_token"' });

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  amr: string[];
  acr: string;
  auth_time: number;
  roles: string[];
  mfa_enrollment_required?: boolean;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
}

export interface SessionSubject {
  userId: string;
  roles: string[];
  mfaEnrollmentRequired: boolean;
}

interface FamilyRow {
  [k: string]: unknown;
  family_id: string;
  used_at: number | null;
  expires_at: number;
  user_id: string;
  amr: string;
  acr: string;
  auth_time: number;
  revoked_at: number | null;
  family_expires_at: number;
}

export interface TokenServiceOptions {
  issuer: string;
  audience: string;
  accessTtlMs: number;
  refreshTtlMs: number;
  /** A used refresh token presented again within this window gets new tokens instead of revoking the family. */
  refreshReuseGraceMs: number;
  sessionMaxAgeMs: number;
  refreshIntervalMs: number;
}

export class TokenService implements LocalTokenIssuer {
  readonly algorithms = ['ES256'] as const;
  readonly issuer: string;
  readonly audience: string;
  // Revocation view loaded from the store…
  private revokedFamilies = new Set<string>();
  private validAfter = new Map<string, number>();
  private disabled = new Set<string>();
  // …plus what this process revoked since (kept one access-token lifetime), so a
  // refresh racing a local revocation cannot drop it.
  private localFamilies = new Map<string, number>();
  private localValidAfter = new Map<string, number>();
  private localDisabled = new Map<string, { disabled: boolean; seq: number }>();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly opts: TokenServiceOptions,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.issuer = opts.issuer;
    this.audience = opts.audience;
  }

  publicKey(kid: string) {
    return this.keys.publicKey(kid);
  }

  isRevoked(claims: { sub: string; jti?: string; sid?: string; iat: number }): boolean {
    const { sub, sid, iat } = claims;
    const local = this.localDisabled.get(sub);
    if (local ? local.disabled : this.disabled.has(sub)) return true;
    // Stryker disable next-line ConditionalExpression: no family is keyed by undefined (Set.has(undefined) is false)
    if (sid !== undefined && (this.revokedFamilies.has(sid) || this.localFamilies.has(sid))) return true;
    const cutoff = this.cutoff(sub);
    return cutoff > 0 && iat * 1000 < cutoff;
  }

  /** The user's "tokens issued before this are revoked" time in ms (0 = none). */
  private cutoff(userId: string): number {
    return Math.max(this.validAfter.get(userId) ?? 0, this.localValidAfter.get(userId) ?? 0);
  }

  private refreshing: Promise<void> | undefined;

  /** Re-reads the revocation view (and signing keys) from the store; concurrent calls share one read. */
  refreshView(): Promise<void> {
    this.refreshing ??= this.readView().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async readView(): Promise<void> {
    const now = this.clock.now();
    const seqAtStart = this.seq;
    // After a revocation no new access tokens are minted for the family/user, so
    // only revocations younger than one access-token lifetime (+1 min slack) matter.
    const since = now - this.opts.accessTtlMs - 60_000;
    const fams = await this.db.query<{ id: string }>(
      'SELECT id FROM token_families WHERE revoked_at IS NOT NULL AND revoked_at > $1',
      [since],
    );
    const users = await this.db.query<{ id: string; tokens_valid_after: number; disabled: number }>(
      'SELECT id, tokens_valid_after, disabled FROM users WHERE disabled = 1 OR tokens_valid_after > $1',
      [since],
    );
    await this.keys.refresh();
    this.revokedFamilies = new Set(fams.map((r) => r.id));
    this.validAfter = new Map(
      // Stryker disable next-line MethodExpression,ConditionalExpression,EqualityOperator: a disabled user's cut-off older than the window revokes only tokens that have expired anyway
      users
        .filter((u) => Number(u.tokens_valid_after) > since)
        .map((u) => [u.id, Number(u.tokens_valid_after)]),
    );
    this.disabled = new Set(users.filter((u) => Number(u.disabled) === 1).map((u) => u.id));
    for (const [id, at] of this.localFamilies) if (at < since) this.localFamilies.delete(id);
    for (const [id, at] of this.localValidAfter) if (at < since) this.localValidAfter.delete(id);
    // The store is the truth for disabled flags once it has been read after the change.
    for (const [id, v] of this.localDisabled) if (v.seq <= seqAtStart) this.localDisabled.delete(id);
  }

  /** Starts the periodic refresh (timer is unref'd). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refreshView().catch(this.onError);
    }, this.opts.refreshIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    // Stryker disable next-line ConditionalExpression: clearInterval(undefined) does nothing
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Signs an access token for a session. */
  async accessToken(
    subject: SessionSubject,
    session: { sid: string; amr: string[]; acr: string; authTime: number },
  ): Promise<{ token: string; expiresIn: number }> {
    const now = this.clock.now();
    // A token minted in the same second as a cut-off must not be caught by it.
    const iat = Math.max(Math.floor(now / 1000), Math.ceil(this.cutoff(subject.userId) / 1000));
    const ttl = Math.floor(this.opts.accessTtlMs / 1000);
    const { kid, privateKey } = this.keys.signer();
    const payload: Record<string, unknown> = {
      sid: session.sid,
      amr: session.amr,
      acr: session.acr,
      auth_time: Math.floor(session.authTime / 1000),
      roles: subject.roles,
    };
    if (subject.mfaEnrollmentRequired) payload.mfa_enrollment_required = true;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(subject.userId)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(Math.floor(now / 1000) + ttl)
      .sign(privateKey);
    return { token, expiresIn: ttl };
  }

  /** Creates a session (refresh-token family) and its first tokens. */
  async startSession(
    subject: SessionSubject,
    auth: { amr: string[]; acr: string; authTime: number },
  ): Promise<TokenResponse & { sid: string }> {
    const now = this.clock.now();
    const sid = newId();
    await this.db.run(
      'INSERT INTO token_families (id, user_id, amr, acr, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [
        sid,
        subject.userId,
        JSON.stringify(auth.amr),
        auth.acr,
        auth.authTime,
        now,
        now + this.opts.sessionMaxAgeMs,
      ],
    );
    const refresh = await this.newRefreshToken(sid, now, now + this.opts.sessionMaxAgeMs);
    const { token, expiresIn } = await this.accessToken(subject, { sid, ...auth });
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refresh, sid };
  }

  private async newRefreshToken(familyId: string, now: number, familyExpiresAt: number): Promise<string> {
    const token = 'rrt_' + randomToken(32);
    await this.db.run(
      'INSERT INTO refresh_tokens (token_hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
      [sha256Hex(token), familyId, now, Math.min(now + this.opts.refreshTtlMs, familyExpiresAt)],
    );
    return token;
  }

  /**
   * Rotates a refresh token. Returns the new pair, or throws 401; when the token was
   * already used, the family is revoked first (`reuse` is set on the error's problem).
   */
  async rotate(
    presented: string,
    loadSubject: (userId: string) => Promise<SessionSubject | undefined>,
  ): Promise<TokenResponse & { userId: string; sid: string; withinGrace: boolean }> {
    const now = this.clock.now();
    const hash = sha256Hex(presented);
    const row = await this.db.one<FamilyRow>(
      `SELECT rt.family_id, rt.used_at, rt.expires_at, f.user_id, f.amr, f.acr, f.auth_time, f.revoked_at, f.expires_at AS family_expires_at
         FROM refresh_tokens rt JOIN token_families f ON f.id = rt.family_id WHERE rt.token_hash = $1`,
      [hash],
    );
    const invalid = (extra: Record<string, unknown> = {}) =>
      new ProblemError('invalid-refresh-token', 'The refresh token is invalid, expired or revoked', extra);
    if (!row) throw invalid();
    const reuse = async (): Promise<never> => {
      await this.revokeFamily(row.family_id, 'refresh-token-reuse');
      throw invalid({ user_id: row.user_id, reuse: true });
    };
    // A used token outside the grace window is reuse, whatever else holds (RFC 9700 §4.14.2).
    if (row.used_at !== null && !this.withinGrace(Number(row.used_at), now)) return reuse();
    if (row.revoked_at !== null || Number(row.expires_at) <= now || Number(row.family_expires_at) <= now)
      throw invalid({ user_id: row.user_id });
    let withinGrace = row.used_at !== null;
    if (row.used_at === null) {
      const claimed = await this.db.run(
        'UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL',
        [now, hash],
      );
      // Lost a race with a concurrent refresh: a reuse, unless that one was within the grace window.
      if (claimed.changes !== 1) {
        if (!(await this.usedWithinGrace(hash, now))) return reuse();
        withinGrace = true;
      }
    }
    const subject = await loadSubject(row.user_id);
    if (!subject) {
      await this.revokeFamily(row.family_id, 'user-unavailable');
      throw invalid({ user_id: row.user_id });
    }
    const refresh = await this.newRefreshToken(row.family_id, now, Number(row.family_expires_at));
    const session = {
      sid: row.family_id,
      amr: JSON.parse(row.amr) as string[],
      acr: row.acr,
      authTime: Number(row.auth_time),
    };
    const { token, expiresIn } = await this.accessToken(subject, session);
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: expiresIn,
      refresh_token: refresh,
      userId: row.user_id,
      sid: row.family_id,
      withinGrace,
    };
  }

  /**
   * RFC 9700 §4.14.2 leaves room for a short reuse interval (Okta's grace period, Auth0's
   * reuse interval): a client whose two tabs refresh at once presents the same token twice.
   * Within `refreshReuseGraceMs` of its first use, the token yields another new pair in the
   * same family; after it, reuse revokes the family. Off (0) by default.
   */
  private withinGrace(usedAt: number, now: number): boolean {
    return this.opts.refreshReuseGraceMs > 0 && now - usedAt <= this.opts.refreshReuseGraceMs;
  }

  private async usedWithinGrace(hash: string, now: number): Promise<boolean> {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a fast path; without a grace window withinGrace() is false anyway
    if (this.opts.refreshReuseGraceMs <= 0) return false;
    const r = await this.db.one<{ used_at: number | null }>(
      'SELECT used_at FROM refresh_tokens WHERE token_hash = $1',
      [hash],
    );
    // Stryker disable next-line OptionalChaining: the row was just read and refresh tokens are never deleted
    return r?.used_at != null && this.withinGrace(Number(r.used_at), now);
  }

  /** Family id of a refresh token (for logout), if it exists. */
  async familyOf(presented: string): Promise<{ familyId: string; userId: string } | undefined> {
    const row = await this.db.one<{ family_id: string; user_id: string }>(
      'SELECT rt.family_id, f.user_id FROM refresh_tokens rt JOIN token_families f ON f.id = rt.family_id WHERE rt.token_hash = $1',
      [sha256Hex(presented)],
    );
    return row ? { familyId: row.family_id, userId: row.user_id } : undefined;
  }

  async revokeFamily(familyId: string, reason: string): Promise<void> {
    const now = this.clock.now();
    await this.db.run(
      'UPDATE token_families SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL',
      [now, reason, familyId],
    );
    this.localFamilies.set(familyId, now);
  }

  /** Revokes every session of a user except `keep`, and every access token issued before now. */
  async revokeUser(userId: string, reason: string, keep?: string): Promise<void> {
    const now = this.clock.now();
    const cutoff = Math.ceil(now / 1000) * 1000;
    const fams = await this.db.query<{ id: string }>(
      'SELECT id FROM token_families WHERE user_id = $1 AND revoked_at IS NULL',
      [userId],
    );
    for (const f of fams) if (f.id !== keep) await this.revokeFamily(f.id, reason);
    await this.db.run('UPDATE users SET tokens_valid_after = $1 WHERE id = $2', [cutoff, userId]);
    this.localValidAfter.set(userId, cutoff);
  }

  /** Marks a user disabled (or enabled) in this process's view at once. */
  setDisabled(userId: string, disabled: boolean): void {
    this.localDisabled.set(userId, { disabled, seq: ++this.seq });
  }

  /** Verifies one of our access tokens (signature, iss, aud, exp, typ) and revocation. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid ? this.keys.publicKey(header.kid) : undefined;
          // Stryker disable next-line ConditionalExpression: jose refuses an undefined key too, and every failure is the same invalid-token answer
          if (!key) throw new joseErrors.JWKSNoMatchingKey();
          return key;
        },
        {
          algorithms: ['ES256'],
          issuer: this.issuer,
          audience: this.audience,
          typ: 'at+jwt',
          requiredClaims: ['exp', 'sub', 'iat', 'sid', 'jti'],
          currentDate: new Date(this.clock.now()),
          clockTolerance: 5,
        },
      );
      const claims = payload as AccessClaims;
      if (this.isRevoked(claims))
        throw new ProblemError('invalid-token', 'The access token has been revoked', {}, CHALLENGE);
      return claims;
    } catch (err) {
      if (err instanceof ProblemError) throw err;
      throw new ProblemError('invalid-token', 'The access token is invalid or expired', {}, CHALLENGE);
    }
  }
}
