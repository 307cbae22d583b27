import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKeyEncryptionKey, normaliseCrockford, parseKey, randomCrockford, Sealer } from './secrets.ts';

describe('Sealer (AES-256-GCM at rest)', () => {
  const sealer = new Sealer(randomBytes(32));
  it('round-trips and binds the context', () => {
    const env = sealer.seal('JBSWY3DPEHPK3PXP', 'totp:u1');
    expect(env).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(env).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealer.open(env, 'totp:u1').toString()).toBe('JBSWY3DPEHPK3PXP');
    expect(() => sealer.open(env, 'totp:u2')).toThrow(); // copied to another user's row
    expect(() => new Sealer(randomBytes(32)).open(env, 'totp:u1')).toThrow(); // other key
  });
  it('keys the recovery-code hash', () => {
    expect(sealer.mac('x')).toMatch(/^[0-9a-f]{64}$/);
    expect(new Sealer(randomBytes(32)).mac('x')).not.toBe(sealer.mac('x'));
  });
});

describe('key-encryption key', () => {
  it('parses base64 and hex, and rejects other sizes', () => {
    const k = randomBytes(32);
    expect(parseKey(k.toString('base64'))).toEqual(k);
    expect(parseKey(k.toString('hex'))).toEqual(k);
    expect(() => parseKey('c2hvcnQ=')).toThrow(/32 bytes/);
  });
  it('prefers the env variable, else generates a 0600 key file with a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-kek-'));
    try {
      const k = randomBytes(32);
      expect(
        loadKeyEncryptionKey({
          file: join(dir, 'x'),
          env: { RAMPART_KEY_ENCRYPTION_KEY: k.toString('base64') },
        }),
      ).toEqual(k);
      const warnings: string[] = [];
      const log = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as never;
      const file = join(dir, 'data', 'kek.key');
      const made = loadKeyEncryptionKey({ file, env: {}, log });
      expect(made).toHaveLength(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(warnings[0]).toMatch(/generated a key-encryption key file/);
      expect(loadKeyEncryptionKey({ file, env: {} })).toEqual(made); // reused next time
      expect(readFileSync(file, 'utf8').trim()).toBe(made.toString('base64'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Crockford Base32 codes', () => {
  it('draws from the 32-symbol alphabet and normalises typing mistakes', () => {
    expect(randomCrockford(64)).toMatch(/^[0-9A-HJKMNP-TV-Z]{64}$/);
    expect(normaliseCrockford('ab0o-il1 x')).toBe('AB00111X');
  });
});
