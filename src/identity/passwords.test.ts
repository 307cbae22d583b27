import { describe, expect, it } from 'vitest';
import { ProblemError } from '../core/errors.ts';
import { commonPasswordCount, isCommonPassword } from './common-passwords.ts';
import {
  checkNewPassword,
  hashPassword,
  needsRehash,
  OWASP_SCRYPT,
  verifyPassword,
  type PasswordPolicy,
} from './passwords.ts';

const policy: PasswordPolicy = { minLengthSingleFactor: 15, minLengthWithMfa: 8, maxLength: 256 };
const FAST = { ln: 10, r: 8, p: 1 };

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProblemError) return err.problem.reason as string;
    throw err;
  }
  return undefined;
}

describe('common/breached password list', () => {
  it('ships at least 100,000 real entries', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(100_000);
  });
  it('finds well-known entries case-insensitively and not random ones', () => {
    for (const pw of ['password', 'iloveyou', '12345678', 'PASSWORD1', 'qwertyuiop', 'Baseball1'])
      expect(isCommonPassword(pw)).toBe(true);
    for (const pw of ['correct horse battery staple zx9', 'ʁampaʁt-ꙮ-2026-unlikely'])
      expect(isCommonPassword(pw)).toBe(false);
  });
  it('rejects a common password and says why', () => {
    expect(reason(() => checkNewPassword('password123', policy, { withMfa: true }))).toBe('common');
    try {
      checkNewPassword('iloveyou1', policy, { withMfa: true });
    } catch (err) {
      expect((err as ProblemError).problem).toMatchObject({
        status: 422,
        detail: expect.stringMatching(/common or breached/),
      });
    }
  });
});

describe('password rules (NIST SP 800-63B-4)', () => {
  it('needs 15 characters as the only factor, 8 with MFA', () => {
    expect(reason(() => checkNewPassword('lantern-quartz', policy, { withMfa: false }))).toBe('too-short'); // 14
    expect(checkNewPassword('lantern-quartz9', policy, { withMfa: false })).toBe('lantern-quartz9'); // 15
    expect(reason(() => checkNewPassword('q7#Lmz!', policy, { withMfa: true }))).toBe('too-short'); // 7
    expect(checkNewPassword('q7#Lmz!w', policy, { withMfa: true })).toBe('q7#Lmz!w');
  });
  it('allows long passwords up to the maximum and rejects longer ones clearly', () => {
    const long = [...'żółw🐢 '.repeat(50)].slice(0, 256).join('');
    expect(checkNewPassword(long, policy, { withMfa: false })).toBe(long.normalize('NFKC'));
    expect(reason(() => checkNewPassword('x'.repeat(257), policy, { withMfa: false }))).toBe('too-long');
  });
  it('counts characters (code points), not UTF-16 units', () => {
    // 8 emoji = 16 UTF-16 units: still 8 characters
    expect(reason(() => checkNewPassword('🐢🐢🐢🐢🐢🐢🐢🐢', policy, { withMfa: false }))).toBe('too-short');
    expect(checkNewPassword('🐢🦊🐙🦉🐝🦋🐞🦀', policy, { withMfa: true })).toBeTruthy();
  });
  it('accepts any Unicode without composition rules, rejects control characters and lone surrogates', () => {
    expect(checkNewPassword('пароль для входа', policy, { withMfa: false })).toBeTruthy();
    expect(checkNewPassword('all lower case words here', policy, { withMfa: false })).toBeTruthy();
    expect(reason(() => checkNewPassword('tab\there-is-long-enough', policy, { withMfa: false }))).toBe(
      'control-characters',
    );
    expect(reason(() => checkNewPassword('nul\u0000-is-long-enough', policy, { withMfa: false }))).toBe(
      'control-characters',
    );
    expect(reason(() => checkNewPassword('lone \ud800 surrogate here', policy, { withMfa: false }))).toBe(
      'invalid-unicode',
    );
  });
  it('normalises with NFKC', () => {
    // U+FB01 LATIN SMALL LIGATURE FI → "fi"; full-width letters → ASCII
    expect(checkNewPassword('ﬁrst-ｍｏｏｎ-landing', policy, { withMfa: false })).toBe('first-moon-landing');
  });
  it('rejects the username as password', () => {
    expect(
      reason(() =>
        checkNewPassword('Alice-the-admin', policy, { withMfa: true, username: 'alice-the-admin' }),
      ),
    ).toBe('contains-username');
  });
});

describe('scrypt hashing', () => {
  it('hashes with the OWASP parameters (N=2^17, r=8, p=1) and verifies', async () => {
    const hash = await hashPassword('tiger lily on the river', OWASP_SCRYPT);
    expect(hash).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword('tiger lily on the river', hash)).toBe(true);
    expect(await verifyPassword('tiger lily on the rivet', hash)).toBe(false);
    expect(needsRehash(hash, OWASP_SCRYPT)).toBe(false);
  });
  it('flags hashes made with other parameters for re-hashing', async () => {
    const hash = await hashPassword('tiger lily on the river', FAST);
    expect(needsRehash(hash, OWASP_SCRYPT)).toBe(true);
    expect(needsRehash(hash, FAST)).toBe(false);
    expect(needsRehash('$2b$10$bcrypt-style', FAST)).toBe(true);
  });
  it('verifies NFKC-equivalent inputs alike and uses a fresh salt each time', async () => {
    const a = await hashPassword('ﬁsh and chips', FAST);
    const b = await hashPassword('ﬁsh and chips', FAST);
    expect(a).not.toBe(b);
    expect(await verifyPassword('fish and chips', a)).toBe(true);
    expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
  });
});

describe('what a refusal says (the weak-password problem, #19)', () => {
  const problemOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ProblemError) return err.problem;
      throw err;
    }
    throw new Error('not refused');
  };
  const TYPE = 'https://rampart.dev/problems/weak-password';

  it('gives each reason its own detail, with the limits that apply', () => {
    expect(problemOf(() => checkNewPassword('lantern-quartz', policy, { withMfa: false }))).toEqual({
      type: TYPE,
      title: expect.any(String),
      status: 422,
      reason: 'too-short',
      detail:
        "Password must be at least 15 characters when it is the account's only factor (8 with a second factor)",
    });
    expect(problemOf(() => checkNewPassword('q7#Lmz!', policy, { withMfa: true }))).toMatchObject({
      reason: 'too-short',
      detail: 'Password must be at least 8 characters',
    });
    expect(problemOf(() => checkNewPassword('x'.repeat(257), policy, { withMfa: true }))).toMatchObject({
      type: TYPE,
      reason: 'too-long',
      detail: 'Password must be at most 256 characters',
    });
    expect(
      problemOf(() => checkNewPassword('tab\there-is-long-enough', policy, { withMfa: false })),
    ).toMatchObject({
      reason: 'control-characters',
      detail: 'Password must not contain control characters (tabs, newlines, escape codes…)',
    });
    expect(
      problemOf(() => checkNewPassword('lone \udc00 surrogate here', policy, { withMfa: false })),
    ).toMatchObject({
      reason: 'invalid-unicode',
      detail: 'Password is not valid Unicode text (unpaired surrogate)',
    });
    expect(problemOf(() => checkNewPassword('password123', policy, { withMfa: true }))).toMatchObject({
      reason: 'common',
      detail: 'This password appears in lists of common or breached passwords; choose another one',
    });
    expect(
      problemOf(() =>
        checkNewPassword('ALICE-THE-ADMIN', policy, { withMfa: true, username: 'Alice-the-Admin' }),
      ),
    ).toMatchObject({ reason: 'contains-username', detail: 'Password must not be the username' });
  });

  it('uses the policy’s own limits, inclusive', () => {
    const p: PasswordPolicy = { minLengthSingleFactor: 10, minLengthWithMfa: 6, maxLength: 12 };
    expect(checkNewPassword('kx7#pq', p, { withMfa: true })).toBe('kx7#pq');
    expect(checkNewPassword('kx7#pq2!mz', p, { withMfa: false })).toBe('kx7#pq2!mz');
    expect(checkNewPassword('kx7#pq2!mzw3', p, { withMfa: false })).toBe('kx7#pq2!mzw3'); // 12
    expect(problemOf(() => checkNewPassword('kx7#pq2!mzw3v', p, { withMfa: false }))).toMatchObject({
      reason: 'too-long',
      detail: 'Password must be at most 12 characters',
    });
    expect(problemOf(() => checkNewPassword('kx7#pq2!m', p, { withMfa: false }))).toMatchObject({
      detail:
        "Password must be at least 10 characters when it is the account's only factor (6 with a second factor)",
    });
  });

  it('lets a password that merely contains the username, or has no username to compare, pass', () => {
    expect(
      checkNewPassword('alice-the-admin-2026', policy, { withMfa: true, username: 'alice-the-admin' }),
    ).toBe('alice-the-admin-2026');
    expect(checkNewPassword('alice-the-admin', policy, { withMfa: true })).toBe('alice-the-admin');
    expect(checkNewPassword('alice-the-admin', policy, { withMfa: true, username: '' })).toBe(
      'alice-the-admin',
    );
  });

  it('checks the normalised password: a full-width or ligature spelling of the username is the username', () => {
    expect(
      problemOf(() =>
        checkNewPassword('ｂｏｂ-the-builder', policy, { withMfa: true, username: 'bob-the-builder' }),
      ),
    ).toMatchObject({ reason: 'contains-username' });
  });
});

describe('scrypt hashes that do not parse or do not match (#19)', () => {
  it('a hash of the wrong length is a mismatch, not an error', async () => {
    const hash = await hashPassword('tiger lily on the river', FAST);
    const short = hash.slice(0, -4);
    expect(await verifyPassword('tiger lily on the river', short)).toBe(false);
    expect(await verifyPassword('tiger lily on the river', hash + 'AAAA')).toBe(false);
    expect(await verifyPassword('tiger lily on the river', hash + '\n')).toBe(false);
    expect(await verifyPassword('tiger lily on the river', 'x' + hash)).toBe(false);
  });

  it('re-hashes when any one of ln, r or p differs', async () => {
    const hash = await hashPassword('tiger lily on the river', FAST);
    expect(needsRehash(hash, { ...FAST, ln: 11 })).toBe(true);
    expect(needsRehash(hash, { ...FAST, r: 9 })).toBe(true);
    expect(needsRehash(hash, { ...FAST, p: 2 })).toBe(true);
    expect(needsRehash(hash, { ...FAST })).toBe(false);
  });

  it('stores the parameters it used and verifies with them (r and p too)', async () => {
    const params = { ln: 9, r: 4, p: 2 };
    const hash = await hashPassword('tiger lily on the river', params);
    expect(hash).toMatch(/^\$scrypt\$ln=9,r=4,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await verifyPassword('tiger lily on the river', hash)).toBe(true);
    // The same salt and password under other parameters give another hash.
    const tampered = hash.replace('r=4,p=2', 'r=4,p=1');
    expect(await verifyPassword('tiger lily on the river', tampered)).toBe(false);
  });
});
