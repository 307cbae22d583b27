import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  generateTotpSecret,
  hotp,
  matchTotp,
  otpauthUri,
  qrSvg,
  timeStep,
  totp,
  type TotpAlgorithm,
} from './totp.ts';

const OATHTOOL = '/usr/bin/oathtool';

/** Codes from the reference implementation (Debian package oathtool), at a pinned time. */
function oathtool(secret: string, nowMs: number, window = 0): string[] {
  const out = execFileSync(
    OATHTOOL,
    ['--totp', '-b', '-w', String(window), secret, '--now', `@${Math.floor(nowMs / 1000)}`],
    {
      encoding: 'utf8',
    },
  );
  return out.trim().split('\n');
}

describe('HOTP (RFC 4226 appendix D)', () => {
  const secret = Buffer.from('12345678901234567890', 'ascii');
  const expected = [
    '755224',
    '287082',
    '359152',
    '969429',
    '338314',
    '254676',
    '287922',
    '162583',
    '399871',
    '520489',
  ];
  it.each(expected.map((code, counter) => [counter, code] as const))('counter %i → %s', (counter, code) => {
    expect(hotp(secret, counter)).toBe(code);
  });
});

describe('TOTP (RFC 6238 appendix B)', () => {
  const seeds: Record<TotpAlgorithm, Buffer> = {
    SHA1: Buffer.from('12345678901234567890', 'ascii'),
    SHA256: Buffer.from('12345678901234567890123456789012', 'ascii'),
    SHA512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
  };
  const table: Array<[number, string, TotpAlgorithm]> = [
    [59, '94287082', 'SHA1'],
    [59, '46119246', 'SHA256'],
    [59, '90693936', 'SHA512'],
    [1111111109, '07081804', 'SHA1'],
    [1111111109, '68084774', 'SHA256'],
    [1111111109, '25091201', 'SHA512'],
    [1111111111, '14050471', 'SHA1'],
    [1111111111, '67062674', 'SHA256'],
    [1111111111, '99943326', 'SHA512'],
    [1234567890, '89005924', 'SHA1'],
    [1234567890, '91819424', 'SHA256'],
    [1234567890, '93441116', 'SHA512'],
    [2000000000, '69279037', 'SHA1'],
    [2000000000, '90698825', 'SHA256'],
    [2000000000, '38618901', 'SHA512'],
    [20000000000, '65353130', 'SHA1'],
    [20000000000, '77737706', 'SHA256'],
    [20000000000, '47863826', 'SHA512'],
  ];
  it.each(table)('T=%i → %s (%s)', (t, code, alg) => {
    expect(totp(seeds[alg], t * 1000, { digits: 8, algorithm: alg })).toBe(code);
  });
});

describe('Base32 (RFC 4648, no padding)', () => {
  it('round-trips and matches the RFC 4648 §10 vectors', () => {
    expect(base32Encode(Buffer.from('foobar'))).toBe('MZXW6YTBOI');
    expect(base32Encode(Buffer.from('f'))).toBe('MY');
    expect(base32Decode('mzxw6ytboi======').toString()).toBe('foobar');
    const s = generateTotpSecret();
    expect(s).toMatch(/^[A-Z2-7]{32}$/); // 160 bits, no padding
    expect(base32Decode(s)).toHaveLength(20);
  });
  it('rejects characters outside the alphabet', () => {
    expect(() => base32Decode('ABC1')).toThrow();
  });
});

describe('interoperability with oathtool', () => {
  // Required, never skipped: a missing oathtool must fail the run (CI installs it, .ci/run).
  it('has oathtool installed (Debian package oathtool)', () => {
    expect(existsSync(OATHTOOL), `${OATHTOOL} is missing: apt-get install -y oathtool`).toBe(true);
  });

  it('accepts codes from `oathtool --totp -b SECRET` at many pinned times', () => {
    for (let i = 0; i < 20; i++) {
      const secret = generateTotpSecret();
      const now = Date.UTC(2026, 0, 1) + i * 7_919_000 + i * 13;
      const [code] = oathtool(secret, now);
      expect(code).toMatch(/^\d{6}$/);
      expect(totp(base32Decode(secret), now)).toBe(code);
      expect(matchTotp(base32Decode(secret), code!, now, 'strictest')).toBe(timeStep(now));
    }
  });

  it('applies the configured skew window to neighbouring codes', () => {
    const secret = generateTotpSecret();
    const key = base32Decode(secret);
    const now = Date.UTC(2026, 2, 3, 4, 5, 6);
    const [prev] = oathtool(secret, now - 30_000);
    const [next] = oathtool(secret, now + 30_000);
    const [old] = oathtool(secret, now - 60_000);
    const t = timeStep(now);
    expect(matchTotp(key, prev!, now, 'lenient')).toBe(t - 1);
    expect(matchTotp(key, next!, now, 'lenient')).toBe(t + 1);
    expect(matchTotp(key, prev!, now, 'strict')).toBe(t - 1);
    expect(matchTotp(key, next!, now, 'strict')).toBeUndefined();
    expect(matchTotp(key, prev!, now, 'strictest')).toBeUndefined();
    expect(matchTotp(key, old!, now, 'lenient')).toBeUndefined();
  });
});

describe('matchTotp input handling', () => {
  it('rejects malformed codes without computing', () => {
    const key = base32Decode(generateTotpSecret());
    for (const bad of ['', '12345', '1234567', 'abcdef', '12 456', '１２３４５６']) {
      expect(matchTotp(key, bad, Date.now())).toBeUndefined();
    }
  });
});

describe('key URI and QR code', () => {
  it('follows the Key-Uri-Format', () => {
    const uri = otpauthUri({ issuer: 'Rampart', account: 'alice@example.com', secret: 'JBSWY3DPEHPK3PXP' });
    expect(uri).toBe(
      'otpauth://totp/Rampart:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Rampart&algorithm=SHA1&digits=6&period=30',
    );
  });
  it('renders an SVG', async () => {
    const svg = await qrSvg('otpauth://totp/Rampart:a?secret=JBSWY3DPEHPK3PXP&issuer=Rampart');
    expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  });
});

describe('TOTP parameters are honoured, not just defaulted (#19)', () => {
  // RFC 6238 Appendix B seeds.
  const sha1 = Buffer.from('12345678901234567890');
  const sha256 = Buffer.from('12345678901234567890123456789012');

  it('period 60: a 59 s-old code is step 0, and matches only with period 60', () => {
    const code = totp(sha1, 59_000, { period: 60 });
    expect(code).toBe(hotp(sha1, 0, 6, 'SHA1'));
    expect(totp(sha1, 61_000, { period: 60 })).toBe(hotp(sha1, 1, 6, 'SHA1'));
    expect(matchTotp(sha1, totp(sha1, 119_000, { period: 60 }), 119_000, 'strictest', { period: 60 })).toBe(
      1,
    );
    expect(matchTotp(sha1, totp(sha1, 119_000), 119_000, 'strictest', { period: 60 })).toBeUndefined();
  });

  it('SHA256 codes (RFC 6238 vector) match only with algorithm SHA256', () => {
    expect(totp(sha256, 59_000, { algorithm: 'SHA256', digits: 8 })).toBe('46119246');
    const code = totp(sha256, 1_111_111_109_000, { algorithm: 'SHA256' });
    expect(matchTotp(sha256, code, 1_111_111_109_000, 'strictest', { algorithm: 'SHA256' })).toBe(
      timeStep(1_111_111_109_000),
    );
    expect(matchTotp(sha256, code, 1_111_111_109_000, 'strictest')).toBeUndefined();
  });

  it('at the first step the previous (negative) step is skipped, not computed', () => {
    const code = totp(sha1, 10_000);
    expect(matchTotp(sha1, code, 10_000, 'lenient')).toBe(0);
  });
});
