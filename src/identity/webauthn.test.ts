import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import type { Db } from '../store/types.ts';
import { SoftAuthenticator } from '../../test/helpers/soft-authenticator.ts';
import { forEachStore } from '../../test/helpers/stores.ts';
import { DEFAULT_CHALLENGE_TTL_MS, MAX_PASSKEYS_PER_USER, Passkeys } from './webauthn.ts';
import type { PasskeyOptions } from './webauthn.ts';

const RP: PasskeyOptions = {
  rpId: 'id.example.test',
  rpName: 'Rampart test',
  origins: ['https://id.example.test'],
};
const ORIGIN = 'https://id.example.test';

/** Expects `p` to reject with a ProblemError of `code`. */
async function rejectsWith(p: Promise<unknown>, code: string): Promise<ProblemError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ProblemError "${code}"`).toBeInstanceOf(ProblemError);
  const pe = err as ProblemError;
  expect(pe.problem.type).toBe(`https://rampart.dev/problems/${code}`);
  return pe;
}

forEachStore('Passkeys', (getDb) => {
  let db: Db;
  let clock: ManualClock;
  let passkeys: Passkeys;

  const addUser = async (id: string): Promise<void> => {
    await db.run('INSERT INTO users (id, username, created_at, updated_at) VALUES ($1, $2, $3, $4)', [
      id,
      `user-${id}`,
      clock.now(),
      clock.now(),
    ]);
  };

  /** Registers a passkey on `auth` for `userId` and returns its summary. */
  const register = async (auth: SoftAuthenticator, userId: string, name = 'Laptop') => {
    const { challengeId, options } = await passkeys.startRegistration({ id: userId, name: `user-${userId}` });
    return passkeys.finishRegistration(userId, challengeId, auth.create(options), name);
  };

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    db = getDb();
    // One migrated store per dialect for the whole block: start every test empty.
    await db.run('DELETE FROM webauthn_challenges');
    await db.run('DELETE FROM passkeys');
    await db.run('DELETE FROM users');
    passkeys = new Passkeys(db, RP, clock);
    await addUser('u1');
    await addUser('u2');
  });

  describe('options', () => {
    it('asks for a discoverable credential with user verification, excluding existing ones', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const first = await register(auth, 'u1');
      expect(first.name).toBe('Laptop');
      const { options } = await passkeys.startRegistration({ id: 'u1', name: 'alice', displayName: 'Alice' });
      expect(options.rp).toEqual({ id: RP.rpId, name: RP.rpName });
      expect(options.user.id).toBe(Buffer.from('u1').toString('base64url'));
      expect(options.user.displayName).toBe('Alice');
      expect(options.authenticatorSelection).toMatchObject({
        residentKey: 'required',
        requireResidentKey: true,
        userVerification: 'required',
      });
      expect(options.attestation).toBe('none');
      expect(options.timeout).toBe(DEFAULT_CHALLENGE_TTL_MS);
      expect(options.excludeCredentials?.map((c) => c.id)).toEqual([...auth.credentials.keys()]);
      // The same authenticator refuses to register twice (InvalidStateError in a browser).
      expect(() => auth.create(options)).toThrow(/InvalidStateError/);
    });

    it('passwordless sign-in has no allowCredentials; user-bound sign-in lists that user’s passkeys', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await register(auth, 'u1');
      const open = await passkeys.startAuthentication();
      expect(open.options.userVerification).toBe('required');
      expect(open.options.rpId).toBe(RP.rpId);
      expect(open.options.allowCredentials ?? []).toEqual([]);
      const bound = await passkeys.startAuthentication('u1');
      expect(bound.options.allowCredentials?.map((c) => c.id)).toEqual([...auth.credentials.keys()]);
      expect(bound.options.allowCredentials?.[0]?.transports).toEqual(['internal']);
    });

    it('rejects bad relying-party settings at construction', () => {
      expect(() => new Passkeys(db, { ...RP, rpId: 'https://x.test' }, clock)).toThrow(/rpId/);
      expect(() => new Passkeys(db, { ...RP, origins: [] }, clock)).toThrow(/origins/);
      expect(() => new Passkeys(db, { ...RP, origins: ['http://id.example.test'] }, clock)).toThrow(
        /secure context/,
      );
      expect(() => new Passkeys(db, { ...RP, origins: ['https://id.example.test/path'] }, clock)).toThrow(
        /origin/,
      );
      expect(() => new Passkeys(db, { ...RP, challengeTtlMs: 5 }, clock)).toThrow(/challengeTtlMs/);
      expect(
        () => new Passkeys(db, { ...RP, rpId: 'localhost', origins: ['http://localhost:8080'] }, clock),
      ).not.toThrow();
    });
  });

  describe('registration and sign-in', () => {
    it('registers a passkey and signs in passwordless with it, advancing the counter', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const pk = await register(auth, 'u1', '  YubiKey 5  ');
      expect(pk).toEqual({ id: expect.any(String), name: 'YubiKey 5', createdAt: clock.now() });

      clock.advance(60_000);
      const { challengeId, options } = await passkeys.startAuthentication();
      const result = await passkeys.finishAuthentication(challengeId, auth.get(options));
      expect(result).toEqual({ userId: 'u1', passkeyId: pk.id, userVerified: true, amr: 'hwk' });

      const row = await db.one<{ counter: number; public_key: string }>(
        'SELECT counter, public_key FROM passkeys WHERE id = $1',
        [pk.id],
      );
      expect(Number(row?.counter)).toBe(1);
      expect(row?.public_key).toMatch(/^[A-Za-z0-9_-]+$/); // base64url TEXT
      expect(await passkeys.list('u1')).toEqual([
        { id: pk.id, name: 'YubiKey 5', createdAt: pk.createdAt, lastUsedAt: clock.now() },
      ]);
    });

    it('reports swk for a synced (backup-eligible / backed-up) credential, hwk for a device-bound one', async () => {
      const synced = new SoftAuthenticator({ origin: ORIGIN, backupEligible: true, backedUp: true });
      const eligible = new SoftAuthenticator({ origin: ORIGIN, backupEligible: true });
      await register(synced, 'u1', 'iCloud Keychain');
      await register(eligible, 'u2', 'Password manager');
      for (const [auth, user] of [
        [synced, 'u1'],
        [eligible, 'u2'],
      ] as const) {
        const { challengeId, options } = await passkeys.startAuthentication();
        const r = await passkeys.finishAuthentication(challengeId, auth.get(options));
        expect(r).toMatchObject({ userId: user, amr: 'swk' });
      }
      const rows = await db.query<{ user_id: string; backed_up: number; device_type: string }>(
        'SELECT user_id, backed_up, device_type FROM passkeys ORDER BY user_id',
      );
      expect(rows.map((r) => [r.user_id, Number(r.backed_up), r.device_type])).toEqual([
        ['u1', 1, 'multiDevice'],
        ['u2', 0, 'multiDevice'],
      ]);
    });

    it('a user-bound challenge refuses another user’s passkey', async () => {
      const alice = new SoftAuthenticator({ origin: ORIGIN });
      const bob = new SoftAuthenticator({ origin: ORIGIN });
      await register(alice, 'u1');
      await register(bob, 'u2');
      const { challengeId, options } = await passkeys.startAuthentication('u1');
      const bobId = [...bob.credentials.keys()][0]!;
      await rejectsWith(
        passkeys.finishAuthentication(challengeId, bob.get(options, { credentialId: bobId })),
        'invalid-credentials',
      );
    });

    it('a user handle that is not the credential owner’s is refused (WebAuthn §7.2 step 6)', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await register(auth, 'u1');
      const { challengeId, options } = await passkeys.startAuthentication();
      const forged = auth.get(options, { userHandle: Buffer.from('u2').toString('base64url') });
      await rejectsWith(passkeys.finishAuthentication(challengeId, forged), 'invalid-credentials');
      // Without a user handle (non-discoverable use) it works.
      const again = await passkeys.startAuthentication('u1');
      await expect(
        passkeys.finishAuthentication(again.challengeId, auth.get(again.options, { userHandle: null })),
      ).resolves.toMatchObject({ userId: 'u1' });
    });

    it('an unknown credential is refused', async () => {
      const known = new SoftAuthenticator({ origin: ORIGIN });
      await register(known, 'u1');
      const stranger = new SoftAuthenticator({ origin: ORIGIN });
      const { options: regOptions } = await passkeys.startRegistration({ id: 'u2', name: 'bob' });
      stranger.create(regOptions); // created on the device, never verified by the server
      const { challengeId, options } = await passkeys.startAuthentication();
      await rejectsWith(
        passkeys.finishAuthentication(challengeId, stranger.get(options)),
        'invalid-credentials',
      );
    });

    it('a credential already registered (to anyone) is a conflict', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const first = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      const original = auth.create(first.options);
      await passkeys.finishRegistration('u1', first.challengeId, original, 'Laptop');
      // `none` attestation signs nothing: a client ignoring excludeCredentials (or an
      // attacker) can resend the same attestationObject with a fresh clientDataJSON.
      for (const user of ['u1', 'u2']) {
        const { challengeId, options } = await passkeys.startRegistration({ id: user, name: user });
        const clientDataJSON = Buffer.from(
          JSON.stringify({
            type: 'webauthn.create',
            challenge: options.challenge,
            origin: ORIGIN,
            crossOrigin: false,
          }),
        ).toString('base64url');
        const replay = { ...original, response: { ...original.response, clientDataJSON } };
        await rejectsWith(passkeys.finishRegistration(user, challengeId, replay, 'Again'), 'conflict');
      }
      expect(await passkeys.count('u1')).toBe(1);
      expect(await passkeys.count('u2')).toBe(0);
    });
  });

  describe('challenges', () => {
    it('are single-use: a replayed registration or sign-in fails', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const { challengeId, options } = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      const response = auth.create(options);
      await passkeys.finishRegistration('u1', challengeId, response, 'Laptop');
      await rejectsWith(
        passkeys.finishRegistration('u1', challengeId, response, 'Laptop again'),
        'bad-request',
      );

      const login = await passkeys.startAuthentication();
      const assertion = auth.get(login.options);
      await passkeys.finishAuthentication(login.challengeId, assertion);
      await rejectsWith(passkeys.finishAuthentication(login.challengeId, assertion), 'invalid-credentials');
    });

    it('only one of two concurrent finishes with the same challenge succeeds', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await register(auth, 'u1');
      const { challengeId, options } = await passkeys.startAuthentication();
      const a = auth.get(options);
      const b = auth.get(options);
      const results = await Promise.allSettled([
        passkeys.finishAuthentication(challengeId, a),
        passkeys.finishAuthentication(challengeId, b),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    });

    it('a failed attempt burns the challenge too', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await register(auth, 'u1');
      const { challengeId, options } = await passkeys.startAuthentication();
      await rejectsWith(
        passkeys.finishAuthentication(challengeId, auth.get(options, { origin: 'https://evil.test' })),
        'invalid-credentials',
      );
      await rejectsWith(passkeys.finishAuthentication(challengeId, auth.get(options)), 'invalid-credentials');
    });

    it('expire after the TTL (default 5 minutes) on the injected clock', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const reg = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      clock.advance(DEFAULT_CHALLENGE_TTL_MS);
      await rejectsWith(
        passkeys.finishRegistration('u1', reg.challengeId, auth.create(reg.options), 'Late'),
        'bad-request',
      );
      expect(await passkeys.count('u1')).toBe(0);

      const reg2 = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      auth.credentials.clear();
      clock.advance(DEFAULT_CHALLENGE_TTL_MS - 1);
      await passkeys.finishRegistration('u1', reg2.challengeId, auth.create(reg2.options), 'Just in time');

      const login = await passkeys.startAuthentication();
      clock.advance(DEFAULT_CHALLENGE_TTL_MS + 1);
      await rejectsWith(
        passkeys.finishAuthentication(login.challengeId, auth.get(login.options)),
        'invalid-credentials',
      );
    });

    it('honours challengeTtlMs and sweeps expired challenges', async () => {
      const short = new Passkeys(db, { ...RP, challengeTtlMs: 10_000 }, clock);
      const { options } = await short.startAuthentication();
      expect(options.timeout).toBe(10_000);
      await short.startAuthentication();
      clock.advance(10_000);
      await short.startAuthentication(); // sweeps the two expired ones
      const row = await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM webauthn_challenges');
      expect(Number(row?.n)).toBe(1);
    });

    it('a registration challenge is bound to its user and kind', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const reg = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      await rejectsWith(
        passkeys.finishRegistration('u2', reg.challengeId, auth.create(reg.options), 'Not mine'),
        'bad-request',
      );

      auth.credentials.clear();
      const login = await passkeys.startAuthentication();
      await rejectsWith(
        passkeys.finishRegistration(
          'u1',
          login.challengeId,
          auth.create({ ...reg.options, challenge: login.options.challenge }),
          'Wrong kind',
        ),
        'bad-request',
      );
      await rejectsWith(passkeys.finishRegistration('u1', 'not a challenge id', {}, 'x'), 'bad-request');
    });
  });

  describe('signature counter', () => {
    it('rejects a counter that does not increase (cloned authenticator) and keeps the stored value', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const pk = await register(auth, 'u1');
      for (let i = 0; i < 3; i++) {
        const { challengeId, options } = await passkeys.startAuthentication();
        await passkeys.finishAuthentication(challengeId, auth.get(options));
      }
      const stored = async (): Promise<number> =>
        Number(
          (await db.one<{ counter: number }>('SELECT counter FROM passkeys WHERE id = $1', [pk.id]))?.counter,
        );
      expect(await stored()).toBe(3);

      for (const counter of [3, 2, 0]) {
        const { challengeId, options } = await passkeys.startAuthentication();
        await rejectsWith(
          passkeys.finishAuthentication(challengeId, auth.get(options, { counter })),
          'invalid-credentials',
        );
      }
      expect(await stored()).toBe(3);

      // The genuine authenticator moves on.
      const { challengeId, options } = await passkeys.startAuthentication();
      await passkeys.finishAuthentication(challengeId, auth.get(options, { counter: 10 }));
      expect(await stored()).toBe(10);
    });

    it('of two concurrent assertions with the same counter (a clone racing the original) only one succeeds', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await register(auth, 'u1');
      const one = await passkeys.startAuthentication();
      const two = await passkeys.startAuthentication();
      const results = await Promise.allSettled([
        passkeys.finishAuthentication(one.challengeId, auth.get(one.options, { counter: 5 })),
        passkeys.finishAuthentication(two.challengeId, auth.get(two.options, { counter: 5 })),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    });

    it('accepts authenticators without a counter (always 0)', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN, counterStep: 0 });
      await register(auth, 'u1');
      for (let i = 0; i < 2; i++) {
        const { challengeId, options } = await passkeys.startAuthentication();
        await expect(passkeys.finishAuthentication(challengeId, auth.get(options))).resolves.toMatchObject({
          userId: 'u1',
        });
      }
    });
  });

  describe('origin, RP ID and flags', () => {
    it('rejects a wrong origin or RP ID at registration', async () => {
      for (const bend of [
        { origin: 'https://evil.test' },
        { origin: 'https://id.example.test:8443' },
        { rpId: 'evil.test' },
        { rpId: 'example.test' },
      ]) {
        const auth = new SoftAuthenticator({ origin: ORIGIN });
        const { challengeId, options } = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
        await rejectsWith(
          passkeys.finishRegistration('u1', challengeId, auth.create(options, bend), 'x'),
          'bad-request',
        );
      }
      expect(await passkeys.count('u1')).toBe(0);
    });

    it('rejects a wrong origin, RP ID, challenge or ceremony type at sign-in', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await register(auth, 'u1');
      for (const bend of [
        { origin: 'https://evil.test' },
        { rpId: 'evil.test' },
        { challenge: Buffer.from('another challenge').toString('base64url') },
        { type: 'webauthn.create' },
      ]) {
        const { challengeId, options } = await passkeys.startAuthentication();
        await rejectsWith(
          passkeys.finishAuthentication(challengeId, auth.get(options, bend)),
          'invalid-credentials',
        );
      }
    });

    it('requires user verification (and presence) on both ceremonies', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const reg = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      await rejectsWith(
        passkeys.finishRegistration(
          'u1',
          reg.challengeId,
          auth.create(reg.options, { noUserVerification: true }),
          'x',
        ),
        'bad-request',
      );
      auth.credentials.clear();
      await register(auth, 'u1');
      for (const bend of [{ noUserVerification: true }, { noUserPresence: true }]) {
        const { challengeId, options } = await passkeys.startAuthentication();
        await rejectsWith(
          passkeys.finishAuthentication(challengeId, auth.get(options, bend)),
          'invalid-credentials',
        );
      }
    });

    it('rejects a tampered signature', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await register(auth, 'u1');
      const { challengeId, options } = await passkeys.startAuthentication();
      const assertion = auth.get(options);
      const sig = Buffer.from(assertion.response.signature, 'base64url');
      sig[sig.length - 1]! ^= 0x01;
      assertion.response.signature = sig.toString('base64url');
      await rejectsWith(passkeys.finishAuthentication(challengeId, assertion), 'invalid-credentials');
    });
  });

  describe('untrusted input', () => {
    const shapes: Array<[string, unknown]> = [
      ['null', null],
      ['a string', 'hello'],
      ['an array', []],
      ['no id', { rawId: 'abc', type: 'public-key', response: {} }],
      ['id ≠ rawId', { id: 'abc', rawId: 'abd', type: 'public-key', response: {} }],
      ['wrong type', { id: 'abc', rawId: 'abc', type: 'password', response: {} }],
      ['non-base64url id', { id: 'a+b/c=', rawId: 'a+b/c=', type: 'public-key', response: {} }],
      ['huge id', { id: 'a'.repeat(5000), rawId: 'a'.repeat(5000), type: 'public-key', response: {} }],
      ['response not an object', { id: 'abc', rawId: 'abc', type: 'public-key', response: 'x' }],
      [
        'numeric fields',
        {
          id: 'abc',
          rawId: 'abc',
          type: 'public-key',
          response: { clientDataJSON: 1, attestationObject: 2, authenticatorData: 3, signature: 4 },
        },
      ],
      [
        'bad attachment',
        { id: 'abc', rawId: 'abc', type: 'public-key', authenticatorAttachment: 'usb', response: {} },
      ],
    ];

    it.each(shapes)('registration rejects %s as bad-request', async (_label, body) => {
      const { challengeId } = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      await rejectsWith(passkeys.finishRegistration('u1', challengeId, body, 'x'), 'bad-request');
    });

    it.each(shapes)('sign-in rejects %s as invalid-credentials', async (_label, body) => {
      const { challengeId } = await passkeys.startAuthentication();
      await rejectsWith(passkeys.finishAuthentication(challengeId, body), 'invalid-credentials');
    });

    it('rejects transports that are not a string list, drops unknown ones', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const bad = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      const r1 = auth.create(bad.options);
      await rejectsWith(
        passkeys.finishRegistration(
          'u1',
          bad.challengeId,
          { ...r1, response: { ...r1.response, transports: 'usb' } },
          'x',
        ),
        'bad-request',
      );
      auth.credentials.clear();
      const ok = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      const r2 = auth.create(ok.options);
      await passkeys.finishRegistration(
        'u1',
        ok.challengeId,
        { ...r2, response: { ...r2.response, transports: ['usb', 'telepathy', 'hybrid'] } },
        'Key',
      );
      const row = await db.one<{ transports: string }>('SELECT transports FROM passkeys');
      expect(JSON.parse(String(row?.transports))).toEqual(['usb', 'hybrid']);
    });

    it.each([
      ['', 'empty'],
      ['   ', 'blank'],
      ['x'.repeat(65), 'too long'],
      ['bad\u0000name', 'NUL'],
      ['evil\u202Eexe.txt', 'bidi override'],
    ])('rejects the passkey name %j (%s)', async (name) => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const { challengeId, options } = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      await rejectsWith(
        passkeys.finishRegistration('u1', challengeId, auth.create(options), name),
        'bad-request',
      );
    });

    it('never echoes library messages (which may quote client input) in the problem detail', async () => {
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      const { challengeId, options } = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      const err = await rejectsWith(
        passkeys.finishRegistration(
          'u1',
          challengeId,
          auth.create(options, { origin: 'https://<script>.test' }),
          'x',
        ),
        'bad-request',
      );
      expect(JSON.stringify(err.problem)).not.toContain('script');
    });
  });

  describe('several passkeys per user', () => {
    it('lists, renames, removes and counts them per user', async () => {
      const phone = new SoftAuthenticator({ origin: ORIGIN });
      const key = new SoftAuthenticator({ origin: ORIGIN });
      const bobs = new SoftAuthenticator({ origin: ORIGIN });
      const a = await register(phone, 'u1', 'Phone');
      clock.advance(1_000);
      const b = await register(key, 'u1', 'Security key');
      const c = await register(bobs, 'u2', 'Bob’s laptop');
      expect(await passkeys.count('u1')).toBe(2);
      expect((await passkeys.list('u1')).map((p) => p.name)).toEqual(['Phone', 'Security key']);

      // Both of u1's passkeys sign in as u1.
      for (const [auth, id] of [
        [phone, a.id],
        [key, b.id],
      ] as const) {
        const { challengeId, options } = await passkeys.startAuthentication();
        await expect(passkeys.finishAuthentication(challengeId, auth.get(options))).resolves.toMatchObject({
          userId: 'u1',
          passkeyId: id,
        });
      }

      // Object-level authorisation: u2 cannot rename or remove u1's passkeys (OWASP API1).
      expect(await passkeys.rename('u2', a.id, 'Mine now')).toBe(false);
      expect(await passkeys.remove('u2', a.id)).toBe(false);
      expect(await passkeys.rename('u1', a.id, 'Old phone')).toBe(true);
      await rejectsWith(passkeys.rename('u1', a.id, ''), 'bad-request');
      expect((await passkeys.list('u1'))[0]?.name).toBe('Old phone');

      expect(await passkeys.remove('u1', a.id)).toBe(true);
      expect(await passkeys.remove('u1', a.id)).toBe(false);
      expect(await passkeys.count('u1')).toBe(1);
      expect(await passkeys.list('u2')).toEqual([
        { id: c.id, name: 'Bob’s laptop', createdAt: c.createdAt, lastUsedAt: null },
      ]);

      // A removed passkey no longer signs in.
      const { challengeId, options } = await passkeys.startAuthentication();
      await rejectsWith(
        passkeys.finishAuthentication(challengeId, phone.get(options)),
        'invalid-credentials',
      );
    });

    it(`caps passkeys at ${MAX_PASSKEYS_PER_USER} per user`, async () => {
      for (let i = 0; i < MAX_PASSKEYS_PER_USER; i++)
        await register(new SoftAuthenticator({ origin: ORIGIN }), 'u1', `Key ${i}`);
      await rejectsWith(passkeys.startRegistration({ id: 'u1', name: 'alice' }), 'conflict');
    });

    it('removeAll drops every passkey and pending challenge of one user only (MFA reset)', async () => {
      await register(new SoftAuthenticator({ origin: ORIGIN }), 'u1', 'A');
      await register(new SoftAuthenticator({ origin: ORIGIN }), 'u1', 'B');
      await register(new SoftAuthenticator({ origin: ORIGIN }), 'u2', 'C');
      const pending = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
      await passkeys.removeAll('u1');
      expect(await passkeys.count('u1')).toBe(0);
      expect(await passkeys.count('u2')).toBe(1);
      const auth = new SoftAuthenticator({ origin: ORIGIN });
      await rejectsWith(
        passkeys.finishRegistration('u1', pending.challengeId, auth.create(pending.options), 'x'),
        'bad-request',
      );
    });

    it('deleting the user deletes their passkeys (ON DELETE CASCADE)', async () => {
      await register(new SoftAuthenticator({ origin: ORIGIN }), 'u1');
      await db.run('DELETE FROM users WHERE id = $1', ['u1']);
      expect(await passkeys.count('u1')).toBe(0);
    });
  });
});
