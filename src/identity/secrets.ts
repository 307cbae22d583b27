/**
 * Small cryptographic helpers of the identity service: the key-encryption key (KEK)
 * that protects secrets at rest, AES-256-GCM envelopes, random identifiers and hashes.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../core/logger.ts';

/** Environment variable holding the key-encryption key (32 bytes, base64 or hex). */
export const KEK_ENV = 'RAMPART_KEY_ENCRYPTION_KEY';

/** Parses a 32-byte key given as base64, base64url or 64 hex characters. */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  const buf = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (buf.length !== 32)
    throw new Error('The key-encryption key must be 32 bytes (base64 or 64 hex characters)');
  return buf;
}

/**
 * Resolves the key-encryption key: an explicit value, else `RAMPART_KEY_ENCRYPTION_KEY`,
 * else a key file (created with mode 0600 and a warning when missing, so a single
 * node works out of the box; several nodes must share one key via the env variable).
 */
export function loadKeyEncryptionKey(opts: {
  explicit?: string | Buffer;
  file: string;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
}): Buffer {
  if (opts.explicit !== undefined)
    return Buffer.isBuffer(opts.explicit) ? checkLen(opts.explicit) : parseKey(opts.explicit);
  const fromEnv = (opts.env ?? process.env)[KEK_ENV];
  if (fromEnv) return parseKey(fromEnv);
  if (existsSync(opts.file)) return parseKey(readFileSync(opts.file, 'utf8'));
  const key = randomBytes(32);
  mkdirSync(dirname(opts.file), { recursive: true });
  writeFileSync(opts.file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(opts.file, 0o600);
  opts.log?.warn(
    { file: opts.file },
    `no ${KEK_ENV} set: generated a key-encryption key file; back it up, and set ${KEK_ENV} when running several nodes`,
  );
  return key;
}

function checkLen(b: Buffer): Buffer {
  if (b.length !== 32) throw new Error('The key-encryption key must be 32 bytes');
  return b;
}

/**
 * AES-256-GCM with a random 96-bit nonce; `context` is bound as additional data so a
 * ciphertext copied to another row (another user's TOTP secret) fails to open.
 * Format: `v1.<iv>.<ciphertext>.<tag>` (base64url).
 */
export class Sealer {
  private readonly encKey: Buffer;
  private readonly macKey: Buffer;
  constructor(kek: Buffer) {
    this.encKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'rampart identity seal v1', 32));
    this.macKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'rampart identity mac v1', 32));
  }
  /** A 32-byte key of its own for `purpose`, derived from the key-encryption key (HKDF-SHA256). */
  static derive(kek: Buffer, purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), purpose, 32));
  }
  seal(plain: string | Buffer, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.encKey, iv);
    c.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return [
      'v1',
      iv.toString('base64url'),
      ct.toString('base64url'),
      c.getAuthTag().toString('base64url'),
    ].join('.');
  }
  open(envelope: string, context: string): Buffer {
    const [v, iv, ct, tag] = envelope.split('.');
    if (v !== 'v1' || iv === undefined || ct === undefined || tag === undefined)
      throw new Error('Unknown envelope format');
    const d = createDecipheriv('aes-256-gcm', this.encKey, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(context, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]);
  }
  /** Keyed hash (HMAC-SHA-256, hex) for high-entropy values such as recovery codes. */
  mac(value: string): string {
    return createHmac('sha256', this.macKey).update(value, 'utf8').digest('hex');
  }
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Opaque random token: 256 bits, base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time comparison of two hex/ASCII strings. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Crockford Base32 (no I, L, O, U) of random bits: `chars` × 5 bits. */
export function randomCrockford(chars: number): string {
  const bytes = randomBytes(chars);
  let out = '';
  for (let i = 0; i < chars; i++) out += CROCKFORD[bytes[i]! & 31];
  return out;
}

/** Normalises user-typed Crockford Base32: upper case, O→0, I/L→1, separators dropped. */
export function normaliseCrockford(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

/** A random identifier (128 bits, lowercase Crockford-style base32, no `_`). */
export function newId(): string {
  return randomCrockford(26).toLowerCase();
}
