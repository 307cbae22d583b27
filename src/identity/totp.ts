/**
 * TOTP (RFC 6238) over HOTP (RFC 4226), implemented with node:crypto.
 * 30-second steps, 6 digits, HMAC-SHA-1 by default (what authenticator apps support).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import QRCode from 'qrcode';

export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/**
 * Which time steps a code may come from, relative to the current step T.
 * - `lenient`: T−1, T, T+1 (RFC 6238 §5.2: at most one step of network/clock delay each way)
 * - `strict`: T−1, T (no future step; a code lives at most 60 s — default)
 * - `strictest`: T only (OWASP ASVS 5.0 6.5.5: at most 30 s)
 */
export type TotpWindow = 'lenient' | 'strict' | 'strictest';

export interface TotpParams {
  period?: number;
  digits?: number;
  algorithm?: TotpAlgorithm;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 Base32 without padding. */
export function base32Encode(buf: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** Decodes RFC 4648 Base32, tolerating lower case, spaces and padding. */
export function base32Decode(text: string): Buffer {
  const clean = text.toUpperCase().replace(/[\s=]/g, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = B32.indexOf(ch);
    if (idx < 0) throw new Error('Invalid Base32 character');
    value = ((value << 5) | idx) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new 160-bit secret from the CSPRNG, Base32 without padding (32 characters). */
export function generateTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** HOTP (RFC 4226 §5.3): dynamic truncation of HMAC(secret, counter). */
export function hotp(
  secret: Uint8Array,
  counter: number,
  digits = 6,
  algorithm: TotpAlgorithm = 'SHA1',
): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm.toLowerCase(), secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin =
    ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The RFC 6238 time step for a time in ms. */
export function timeStep(nowMs: number, period = 30): number {
  return Math.floor(nowMs / 1000 / period);
}

/** The TOTP code at `nowMs`. */
export function totp(secret: Uint8Array, nowMs: number, params: TotpParams = {}): string {
  return hotp(secret, timeStep(nowMs, params.period ?? 30), params.digits ?? 6, params.algorithm ?? 'SHA1');
}

const OFFSETS: Record<TotpWindow, number[]> = {
  lenient: [0, -1, 1],
  strict: [0, -1],
  strictest: [0],
};

/**
 * Checks a code and returns the time step it matched, or undefined. Replay protection
 * is the caller's job: accept only a step greater than the last one used (atomically).
 * Every candidate step is compared in constant time.
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  nowMs: number,
  window: TotpWindow = 'strict',
  params: TotpParams = {},
): number | undefined {
  const digits = params.digits ?? 6;
  if (!new RegExp(`^[0-9]{${digits}}$`).test(code)) return undefined;
  const t = timeStep(nowMs, params.period ?? 30);
  let found: number | undefined;
  for (const off of OFFSETS[window]) {
    const step = t + off;
    if (step < 0) continue;
    const expected = hotp(secret, step, digits, params.algorithm ?? 'SHA1');
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code)) && found === undefined) found = step;
  }
  return found;
}

/**
 * Key URI for authenticator apps (Google Authenticator Key-Uri-Format):
 * `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
 */
export function otpauthUri(opts: { issuer: string; account: string; secret: string } & TotpParams): string {
  const label = `${encodeURIComponent(opts.issuer)}:${encodeURIComponent(opts.account)}`;
  const q = [
    `secret=${opts.secret}`,
    `issuer=${encodeURIComponent(opts.issuer)}`,
    `algorithm=${opts.algorithm ?? 'SHA1'}`,
    `digits=${opts.digits ?? 6}`,
    `period=${opts.period ?? 30}`,
  ].join('&');
  return `otpauth://totp/${label}?${q}`;
}

/** The key URI as an SVG QR code (error correction M). */
export async function qrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
