/**
 * Password hashing and rules.
 *
 * Hashing: scrypt from node:crypto with the OWASP Password Storage parameters
 * (N=2^17, r=8, p=1, 128 MiB), a 16-byte salt and a 32-byte output, encoded with its
 * parameters as a PHC-like string `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (base64 without
 * padding) so the service can tell an old hash and re-hash it at the next login.
 *
 * Rules (NIST SP 800-63B-4 §3.1.1.2): NFKC-normalised; at least 15 characters when
 * the password is the only factor, 8 when the account has or must have a second
 * factor; at most 256 characters; any Unicode except control characters; no
 * composition rules; not on the common/breached list; not the username.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { ProblemError } from '../core/errors.ts';
import { isCommonPassword } from './common-passwords.ts';

const scrypt = promisify(scryptCb) as (
  pw: Buffer,
  salt: Buffer,
  keylen: number,
  opts: object,
) => Promise<Buffer>;

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. OWASP: 17. */
  ln: number;
  /** Block size r. OWASP: 8. */
  r: number;
  /** Parallelisation p. OWASP: 1. */
  p: number;
}

export const OWASP_SCRYPT: ScryptParams = { ln: 17, r: 8, p: 1 };

const KEY_LEN = 32;
const SALT_LEN = 16;

function maxmem(p: ScryptParams): number {
  // scrypt needs 128·N·r bytes (+ 128·r·p); leave headroom.
  // Stryker disable next-line ArithmeticOperator: the 128·r·p term is far inside the 32 MiB headroom
  return 128 * 2 ** p.ln * p.r + 128 * p.r * p.p + 32 * 1024 * 1024;
}

/** NFKC normalisation (NIST: normalise before hashing so equivalent inputs match). */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Hashes a (normalised) password. */
export async function hashPassword(password: string, params: ScryptParams = OWASP_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const hash = await derive(password, salt, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

function b64(b: Buffer): string {
  // Stryker disable next-line Regex: base64 has '=' only at its end
  return b.toString('base64').replace(/=+$/, '');
}

async function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // Stryker disable next-line StringLiteral: Buffer.from(string, '') is UTF-8 too
  return scrypt(Buffer.from(normalisePassword(password), 'utf8'), salt, KEY_LEN, {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    maxmem: maxmem(params),
  });
}

interface Parsed {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function parse(encoded: string): Parsed | undefined {
  const m = PHC.exec(encoded);
  if (!m) return undefined;
  return {
    params: { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) },
    salt: Buffer.from(m[4]!, 'base64'),
    hash: Buffer.from(m[5]!, 'base64'),
  };
}

/** Verifies a password against an encoded hash (constant-time comparison). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded);
  if (!parsed) return false;
  const got = await derive(password, parsed.salt, parsed.params);
  return got.length === parsed.hash.length && timingSafeEqual(got, parsed.hash);
}

/** True when the hash was made with other parameters than `current` (re-hash at login). */
export function needsRehash(encoded: string, current: ScryptParams): boolean {
  const parsed = parse(encoded);
  if (!parsed) return true;
  return parsed.params.ln !== current.ln || parsed.params.r !== current.r || parsed.params.p !== current.p;
}

export interface PasswordPolicy {
  /** Minimum length when the password is the only factor (NIST: 15). */
  minLengthSingleFactor: number;
  /** Minimum length when a second factor is enrolled or required (NIST: 8). */
  minLengthWithMfa: number;
  /** Maximum length in characters (NIST: allow at least 64). */
  maxLength: number;
}

export type PasswordRejection =
  'invalid-unicode' | 'control-characters' | 'too-short' | 'too-long' | 'common' | 'contains-username';

/**
 * Checks a new password against the rules; returns the normalised password or throws
 * a `weak-password` problem (422) whose `reason` and `detail` say why.
 */
export function checkNewPassword(
  password: string,
  policy: PasswordPolicy,
  ctx: { withMfa: boolean; username?: string },
): string {
  const reject = (reason: PasswordRejection, detail: string): never => {
    throw new ProblemError('weak-password', detail, { reason });
  };
  if (/\p{Cs}/u.test(password))
    reject('invalid-unicode', 'Password is not valid Unicode text (unpaired surrogate)');
  const pw = normalisePassword(password);
  if (/\p{Cc}/u.test(pw))
    reject(
      'control-characters',
      'Password must not contain control characters (tabs, newlines, escape codes…)',
    );
  const len = [...pw].length;
  const min = ctx.withMfa ? policy.minLengthWithMfa : policy.minLengthSingleFactor;
  if (len > policy.maxLength) reject('too-long', `Password must be at most ${policy.maxLength} characters`);
  if (len < min) {
    reject(
      'too-short',
      ctx.withMfa
        ? `Password must be at least ${min} characters`
        : `Password must be at least ${min} characters when it is the account's only factor (${policy.minLengthWithMfa} with a second factor)`,
    );
  }
  if (isCommonPassword(pw)) {
    reject('common', 'This password appears in lists of common or breached passwords; choose another one');
  }
  if (ctx.username && pw.toLowerCase() === ctx.username.toLowerCase()) {
    reject('contains-username', 'Password must not be the username');
  }
  return pw;
}
