import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import type { LabMode } from './types.ts';

/**
 * Password storage for the two twins.
 * - vulnerable: unsalted MD5 (CWE-916) — cracked in seconds once a hash leaks.
 * - secure: scrypt with a per-password salt (OWASP Password Storage). N=2^14 keeps the
 *   lab and its tests quick; a production service uses N=2^17 (docs/STANDARDS).
 */
const N = 1 << 14;
const KEYLEN = 32;

const md5 = (password: string): string => createHash('md5').update(password).digest('hex');

function scrypt(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, KEYLEN, { N, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(mode: LabMode, password: string): Promise<string> {
  if (mode === 'vulnerable') return md5(password);
  const salt = randomBytes(16);
  const key = await scrypt(password, salt);
  return `scrypt$${N}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  if (!stored.startsWith('scrypt$')) return md5(password) === stored;
  const [, , saltB64, keyB64] = stored.split('$');
  const expected = Buffer.from(keyB64 ?? '', 'base64url');
  const key = await scrypt(password, Buffer.from(saltB64 ?? '', 'base64url'));
  return expected.length === key.length && timingSafeEqual(expected, key);
}

const memo = new Map<string, Promise<string>>();
/** Seed hashes are computed once per process (secure-mode scrypt is deliberately slow). */
export function seedHash(mode: LabMode, password: string): Promise<string> {
  const k = mode + '\0' + password;
  let p = memo.get(k);
  if (!p) {
    p = hashPassword(mode, password);
    memo.set(k, p);
  }
  return p;
}
