/**
 * Second factors stored by the identity service: TOTP (secrets sealed at rest, replay
 * protection by last accepted step) and recovery codes (hashed, single use).
 * Passkeys live in webauthn.ts.
 */
import type { Clock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import type { Db } from '../store/types.ts';
import { newId, normaliseCrockford, randomCrockford, type Sealer } from './secrets.ts';
import { base32Decode, generateTotpSecret, matchTotp, otpauthUri, qrSvg, type TotpWindow } from './totp.ts';

export const RECOVERY_CODE_COUNT = 10;

export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

interface TotpRow {
  [k: string]: unknown;
  secret_enc: string;
  confirmed: number;
  last_step: number;
}

export class Mfa {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly sealer: Sealer,
    private readonly opts: { window: TotpWindow; issuer: string },
  ) {}

  private ctx(userId: string): string {
    return `totp:${userId}`;
  }

  /**
   * Starts (or restarts) TOTP enrolment with a fresh 160-bit secret. Refused with 409
   * when a confirmed TOTP factor exists (remove it first, with recent authentication).
   * One upsert, so concurrent enrolments leave exactly one pending secret.
   */
  async enrollTotp(userId: string, account: string): Promise<TotpEnrolment> {
    const secret = generateTotpSecret();
    const now = this.clock.now();
    const res = await this.db.run(
      `INSERT INTO totp_factors (user_id, secret_enc, confirmed, last_step, created_at) VALUES ($1, $2, 0, -1, $3)
       ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, last_step = -1, created_at = excluded.created_at
       WHERE totp_factors.confirmed = 0`,
      [userId, this.sealer.seal(secret, this.ctx(userId)), now],
    );
    if (res.changes !== 1)
      throw new ProblemError('conflict', 'TOTP is already enrolled; remove it before enrolling again');
    const uri = otpauthUri({ issuer: this.opts.issuer, account, secret });
    return { secret, otpauth_uri: uri, qr_svg: await qrSvg(uri) };
  }

  /**
   * Confirms a pending enrolment with a first code. Compare-and-set on the exact
   * pending secret: a concurrent re-enrolment or a second confirmation loses (409).
   */
  async confirmTotp(userId: string, code: string): Promise<boolean> {
    const row = await this.db.one<TotpRow>(
      'SELECT secret_enc, confirmed, last_step FROM totp_factors WHERE user_id = $1',
      [userId],
    );
    if (!row || Number(row.confirmed) === 1)
      throw new ProblemError('conflict', 'No TOTP enrolment is pending');
    const step = this.match(userId, row.secret_enc, code);
    if (step === undefined) return false;
    const res = await this.db.run(
      'UPDATE totp_factors SET confirmed = 1, confirmed_at = $1, last_step = $2 WHERE user_id = $3 AND confirmed = 0 AND secret_enc = $4',
      [this.clock.now(), step, userId, row.secret_enc],
    );
    if (res.changes !== 1)
      throw new ProblemError('conflict', 'The TOTP enrolment changed while confirming; enrol again');
    return true;
  }

  /**
   * Verifies a code of a confirmed factor and consumes its time step: only a step
   * later than the last accepted one passes, atomically (RFC 6238 §5.2, ASVS 6.5.1).
   */
  async verifyTotp(userId: string, code: string): Promise<'ok' | 'invalid' | 'replayed' | 'none'> {
    const row = await this.db.one<TotpRow>(
      'SELECT secret_enc, confirmed, last_step FROM totp_factors WHERE user_id = $1 AND confirmed = 1',
      [userId],
    );
    if (!row) return 'none';
    const step = this.match(userId, row.secret_enc, code);
    if (step === undefined) return 'invalid';
    const res = await this.db.run(
      'UPDATE totp_factors SET last_step = $1 WHERE user_id = $2 AND confirmed = 1 AND last_step < $1',
      [step, userId],
    );
    return res.changes === 1 ? 'ok' : 'replayed';
  }

  private match(userId: string, secretEnc: string, code: string): number | undefined {
    const secret = base32Decode(this.sealer.open(secretEnc, this.ctx(userId)).toString('utf8'));
    return matchTotp(secret, code.replace(/\s/g, ''), this.clock.now(), this.opts.window);
  }

  async removeTotp(userId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM totp_factors WHERE user_id = $1', [userId])).changes > 0;
  }

  private codeHash(userId: string, code: string): string {
    return this.sealer.mac(`recovery:${userId}:${normaliseCrockford(code)}`);
  }

  /**
   * Replaces the user's recovery codes with 10 new ones: 16 Crockford Base32 characters
   * (80 bits) in 4 groups. Stored as HMAC-SHA-256 under a key derived from the
   * key-encryption key: with 80 random bits a slow KDF adds nothing, and the key means
   * a database dump alone does not even allow checking a guess.
   */
  async regenerateRecoveryCodes(userId: string): Promise<string[]> {
    const now = this.clock.now();
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () =>
      randomCrockford(16).match(/.{4}/g)!.join('-'),
    );
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
      for (const c of codes) {
        await tx.run(
          'INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)',
          [newId(), userId, this.codeHash(userId, c), now],
        );
      }
    });
    return codes;
  }

  /** Consumes a recovery code (single use, atomically). Returns the codes left, or undefined when invalid. */
  async useRecoveryCode(userId: string, code: string): Promise<number | undefined> {
    if (!/^[0-9A-Za-z\s-]{16,24}$/.test(code)) return undefined;
    const res = await this.db.run(
      'UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL',
      [this.clock.now(), userId, this.codeHash(userId, code)],
    );
    if (res.changes !== 1) return undefined;
    const left = await this.db.one<{ n: number }>(
      'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
      [userId],
    );
    // Stryker disable next-line OptionalChaining: SELECT COUNT(*) always returns one row
    return Number(left?.n ?? 0);
  }
}
