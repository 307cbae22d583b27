import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachStore } from '../helpers/stores.ts';
import {
  decodeJwt,
  GOOD_PASSWORD,
  loginWithTotp,
  oathtool,
  startHarness,
  uniqueName,
  userWithTotp,
  type Harness,
} from './harness.ts';

forEachStore('identity login over HTTP', (getDb) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(getDb(), { selfSignup: true, lockout: { maxFailuresPerIp: 1000 } });
  });
  afterAll(async () => h?.close());

  it('logs a password-only user in with an ES256 at+jwt that verifies against the JWKS', async () => {
    const username = uniqueName('plain');
    const user = await h.service.users.add({ username, password: GOOD_PASSWORD, roles: ['reader'] });
    const res = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(res.body).sort()).toEqual([
      'access_token',
      'expires_in',
      'refresh_token',
      'token_type',
    ]);
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.expires_in).toBe(300);
    const { header, payload } = decodeJwt(res.body.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(typeof header.kid).toBe('string');
    const now = Math.floor(h.clock.now() / 1000);
    expect(payload).toMatchObject({
      iss: 'http://127.0.0.1/auth',
      aud: 'rampart',
      sub: user.id,
      iat: now,
      exp: now + 300,
      auth_time: now,
      amr: ['pwd'],
      acr: 'urn:rampart:acr:pwd',
      roles: ['reader'],
    });
    expect(typeof payload.jti).toBe('string');
    expect(typeof payload.sid).toBe('string');
    expect(payload.mfa_enrollment_required).toBeUndefined();

    const jwks = await h.call('GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    for (const k of jwks.body.keys) expect(k).not.toHaveProperty('d');
    const verified = await jwtVerify(res.body.access_token, createLocalJWKSet(jwks.body), {
      algorithms: ['ES256'],
      issuer: 'http://127.0.0.1/auth',
      audience: 'rampart',
      typ: 'at+jwt',
      currentDate: new Date(h.clock.now()),
    });
    expect(verified.payload.sub).toBe(user.id);
    expect(h.service.issuer.isRevoked(verified.payload as { sub: string; iat: number; sid: string })).toBe(
      false,
    );

    const me = await h.call('GET', '/me', undefined, res.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      username,
      roles: ['reader'],
      factors: { totp: false, passkeys: 0, recovery_codes_left: 0 },
    });
    expect(
      h.events.some(
        (e) => e.type === 'auth' && e.action === 'login' && e.outcome === 'success' && e.user === user.id,
      ),
    ).toBe(true);
  });

  it('publishes an OpenID discovery document', async () => {
    const res = await h.call('GET', '/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: 'http://127.0.0.1/auth',
      jwks_uri: 'http://127.0.0.1/auth/.well-known/jwks.json',
      acr_values_supported: ['urn:rampart:acr:pwd', 'urn:rampart:acr:mfa'],
    });
  });

  it('gives an admin without a factor pwd-only tokens flagged mfa_enrollment_required, and refuses credential management', async () => {
    const username = uniqueName('admin');
    await h.service.users.add({ username, password: 'short-ok-1A', roles: ['admin'] }); // 11 chars: allowed, MFA is required
    const res = await h.call('POST', '/login', { username, password: 'short-ok-1A' });
    expect(res.status).toBe(200);
    expect(res.body.mfa_enrollment_required).toBe(true);
    const { payload } = decodeJwt(res.body.access_token);
    expect(payload).toMatchObject({ amr: ['pwd'], mfa_enrollment_required: true, roles: ['admin'] });
    const key = await h.call(
      'POST',
      '/api-keys',
      { name: 'ci', scopes: ['role:admin'] },
      res.body.access_token,
    );
    expect(key.status).toBe(403);
    expect(key.body.type).toBe('https://rampart.dev/problems/mfa-enrollment-required');
  });

  it('runs the TOTP flow: enrol, confirm (recovery codes), mfa_token step, replay rejected', async () => {
    const u = await userWithTotp(h, ['admin']);
    expect(u.recoveryCodes).toHaveLength(10);
    for (const c of u.recoveryCodes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);

    const first = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ mfa_required: true, methods: ['totp', 'recovery_code'] });
    expect(first.body.access_token).toBeUndefined();
    expect(first.body.mfa_token).toMatch(/^rmt_/);

    const code = oathtool(u.secret, h.clock.now());
    const wrong = await h.call('POST', '/login/totp', {
      mfa_token: first.body.mfa_token,
      code: code === '000000' ? '111111' : '000000',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.type).toBe('https://rampart.dev/problems/invalid-otp');

    const ok = await h.call('POST', '/login/totp', { mfa_token: first.body.mfa_token, code });
    expect(ok.status).toBe(200);
    const { payload } = decodeJwt(ok.body.access_token);
    expect(payload).toMatchObject({
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
      roles: ['admin'],
    });
    expect(payload.mfa_enrollment_required).toBeUndefined();

    // The mfa_token is single use…
    const again = await h.call('POST', '/login/totp', { mfa_token: first.body.mfa_token, code });
    expect(again.status).toBe(401);
    // …and so is the code, even with a fresh password step.
    const second = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
    const replay = await h.call('POST', '/login/totp', { mfa_token: second.body.mfa_token, code });
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toMatch(/already used/);
    h.clock.advance(30_000);
    const next = await h.call('POST', '/login/totp', {
      mfa_token: second.body.mfa_token,
      code: oathtool(u.secret, h.clock.now()),
    });
    expect(next.status).toBe(200);
  });

  it('expires the mfa_token after 5 minutes', async () => {
    const u = await userWithTotp(h);
    const first = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
    h.clock.advance(301_000);
    const late = await h.call('POST', '/login/totp', {
      mfa_token: first.body.mfa_token,
      code: oathtool(u.secret, h.clock.now()),
    });
    expect(late.status).toBe(401);
    expect(late.body.type).toBe('https://rampart.dev/problems/invalid-mfa-token');
    expect(late.body.title).toBe('Invalid MFA token');
  });

  it('accepts each recovery code once and emits an event per use', async () => {
    const u = await userWithTotp(h);
    const first = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
    const code = u.recoveryCodes[3]!.toLowerCase().replace(/-/g, ' '); // typed loosely
    const ok = await h.call('POST', '/login/recovery', { mfa_token: first.body.mfa_token, code });
    expect(ok.status).toBe(200);
    expect(ok.body.recovery_codes_left).toBe(9);
    expect(decodeJwt(ok.body.access_token).payload).toMatchObject({
      amr: ['pwd', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
    });
    const second = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
    const reuse = await h.call('POST', '/login/recovery', {
      mfa_token: second.body.mfa_token,
      code: u.recoveryCodes[3],
    });
    expect(reuse.status).toBe(401);
    const uses = h.events.filter((e) => e.type === 'auth' && e.action === 'recovery-code' && e.user === u.id);
    expect(uses.map((e) => (e as { outcome: string }).outcome)).toEqual(['success', 'failure']);
  });

  it('an auth_time later than now (a clock that jumped back) never counts as recent', async () => {
    const u = await userWithTotp(h);
    const login = await loginWithTotp(h, u);
    const token = login.body.access_token as string;
    const t = h.clock.now();
    h.clock.set(t - 60_000); // the token is still valid (exp ahead), its auth_time 60 s in the future
    const denied = await h.call('POST', '/recovery-codes', {}, token);
    expect(denied.status).toBe(401);
    expect(denied.body.type).toBe('https://rampart.dev/problems/insufficient-user-authentication');
    expect(denied.headers.get('www-authenticate')).toMatch(/max_age="300"/);
    h.clock.set(t - 20_000); // within the 30 s tolerance
    expect((await h.call('POST', '/recovery-codes', {}, token)).status).toBe(200);
    h.clock.set(t);
  });

  it('requires recent authentication for MFA changes and gives a fresh auth_time on step-up', async () => {
    const u = await userWithTotp(h);
    const login = await loginWithTotp(h, u);
    const token = login.body.access_token as string;
    h.clock.advance(10 * 60_000); // auth_time is now 10 minutes old (token still valid? no: ttl 300 s)
    const refreshed = await h.call('POST', '/token', {
      grant_type: 'refresh_token',
      refresh_token: login.body.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    const stale = refreshed.body.access_token as string;
    expect(decodeJwt(stale).payload.auth_time).toBe(decodeJwt(token).payload.auth_time);

    const denied = await h.call('DELETE', '/totp', undefined, stale);
    expect(denied.status).toBe(401);
    expect(denied.body.type).toBe('https://rampart.dev/problems/insufficient-user-authentication');
    expect(denied.headers.get('www-authenticate')).toMatch(
      /^Bearer error="insufficient_user_authentication".*max_age="300"/,
    );
    const regen = await h.call('POST', '/recovery-codes', {}, stale);
    expect(regen.status).toBe(401);

    const step = await h.call(
      'POST',
      '/step-up',
      { method: 'totp', code: oathtool(u.secret, h.clock.now()) },
      stale,
    );
    expect(step.status).toBe(200);
    const fresh = decodeJwt(step.body.access_token).payload;
    expect(fresh.auth_time).toBe(Math.floor(h.clock.now() / 1000));
    expect(fresh.amr).toEqual(['pwd', 'otp', 'mfa']);
    // the stepped-up-from session is closed
    expect((await h.call('GET', '/me', undefined, stale)).status).toBe(401);

    const codes = await h.call('POST', '/recovery-codes', {}, step.body.access_token);
    expect(codes.status).toBe(200);
    expect(codes.body.recovery_codes).toHaveLength(10);
    const removed = await h.call('DELETE', '/totp', undefined, step.body.access_token);
    expect(removed.status).toBe(204);
    const me = await h.call('GET', '/me', undefined, step.body.access_token);
    expect(me.body.factors).toEqual({ totp: false, passkeys: 0, recovery_codes_left: 0 });
  });

  it('lets an admin enrol, then step up from a pwd-only session to an MFA session', async () => {
    const username = uniqueName('newadmin');
    await h.service.users.add({ username, password: GOOD_PASSWORD, roles: ['admin'] });
    const login = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    const token = login.body.access_token as string;
    const enroll = await h.call('POST', '/totp/enroll', {}, token);
    expect(enroll.status).toBe(200);
    expect(enroll.body.otpauth_uri).toBe(
      `otpauth://totp/Rampart:${username}?secret=${enroll.body.secret}&issuer=Rampart&algorithm=SHA1&digits=6&period=30`,
    );
    expect(enroll.body.qr_svg).toMatch(/^<svg/);
    const confirm = await h.call(
      'POST',
      '/totp/confirm',
      { code: oathtool(enroll.body.secret, h.clock.now()) },
      token,
    );
    expect(confirm.status).toBe(200);
    h.clock.advance(30_000);
    const step = await h.call(
      'POST',
      '/step-up',
      { method: 'totp', code: oathtool(enroll.body.secret, h.clock.now()) },
      token,
    );
    expect(step.status).toBe(200);
    expect(decodeJwt(step.body.access_token).payload).toMatchObject({
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
    });
    expect(decodeJwt(step.body.access_token).payload.mfa_enrollment_required).toBeUndefined();
    const key = await h.call(
      'POST',
      '/api-keys',
      { name: 'ci', scopes: ['role:admin'] },
      step.body.access_token,
    );
    expect(key.status).toBe(201);
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const username = uniqueName('enum');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    const wrong = await h.call('POST', '/login', { username, password: 'not-the-password-at-all' });
    const unknown = await h.call('POST', '/login', {
      username: username + 'x',
      password: 'not-the-password-at-all',
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.body).toEqual({
      type: 'https://rampart.dev/problems/invalid-credentials',
      title: 'Invalid credentials',
      status: 401,
      detail: 'Wrong username or password',
    });
    const hdr = (r: typeof wrong) => [...r.headers.entries()].filter(([k]) => k !== 'date').sort();
    expect(hdr(unknown)).toEqual(hdr(wrong));
    // failed events never carry the submitted username of an unknown account
    const failures = h.events.filter(
      (e) => e.type === 'auth' && e.action === 'login' && e.outcome === 'failure',
    );
    expect(JSON.stringify(failures)).not.toContain(username + 'x');
  });

  it('rejects unknown JSON fields, malformed JSON, non-JSON and non-UTF-8 bodies with problem+json', async () => {
    const extra = await h.call('POST', '/login', { username: 'a', password: 'b', admin: true });
    expect(extra.status).toBe(400);
    expect(extra.headers.get('content-type')).toBe('application/problem+json');
    expect(extra.body.detail).toBe('Unknown field "admin"');

    const malformed = await h.raw('POST', '/login', '{"username": "a", ', {
      'content-type': 'application/json',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.type).toBe('https://rampart.dev/problems/invalid-json');
    expect(malformed.body.detail).toBe('The body is not valid JSON (it ends early, line 1, column 19)');

    // JSON.parse's message would quote the body: a password fragment, and Node's wording.
    const leaky = await h.raw('POST', '/login', '{"username":"a","password":Hunter2-MySecret}', {
      'content-type': 'application/json',
    });
    expect(leaky.status).toBe(400);
    expect(leaky.headers.get('content-type')).toBe('application/problem+json');
    expect(leaky.headers.get('x-content-type-options')).toBe('nosniff');
    expect(leaky.body).toMatchObject({
      type: 'https://rampart.dev/problems/invalid-json',
      detail: 'The body is not valid JSON (line 1, column 28)',
    });
    expect(JSON.stringify(leaky.body)).not.toMatch(/Hunter|Secret|Unexpected/);

    const form = await h.raw('POST', '/login', 'username=a&password=b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);

    const bytes = Buffer.concat([
      Buffer.from('{"username":"a","password":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    const nonUtf8 = await h.raw('POST', '/signup', bytes, { 'content-type': 'application/json' });
    expect(nonUtf8.status).toBe(400);
    expect(nonUtf8.body.detail).toBe('The body is not valid UTF-8');

    const wrongType = await h.call('POST', '/login', { username: 'a', password: 42 });
    expect(wrongType.status).toBe(400);
    const huge = await h.raw(
      'POST',
      '/login',
      JSON.stringify({ username: 'a', password: 'x'.repeat(70_000) }),
      {
        'content-type': 'application/json',
      },
    );
    expect(huge.status).toBe(413);
    expect((await h.call('GET', '/login')).status).toBe(405);
    expect((await h.call('GET', '/nope')).status).toBe(404);
  });

  it('applies the password rules at sign-up: length, maximum, common list, control characters, NFKC', async () => {
    const name = uniqueName('signup');
    const short = await h.call('POST', '/signup', { username: name, password: 'fourteen-chars' });
    expect(short.status).toBe(422);
    expect(short.body).toMatchObject({
      reason: 'too-short',
      type: 'https://rampart.dev/problems/weak-password',
    });
    const long = await h.call('POST', '/signup', { username: name, password: 'a'.repeat(257) });
    expect(long.body).toMatchObject({ status: 422, reason: 'too-long' });
    const common = await h.call('POST', '/signup', { username: name, password: 'passwordpassword' });
    expect(common.body).toMatchObject({ status: 422, reason: 'common' });
    expect(common.body.detail).toMatch(/common or breached/);
    const control = await h.call('POST', '/signup', {
      username: name,
      password: 'bell\u0007-sound-is-long-enough',
    });
    expect(control.body).toMatchObject({ status: 422, reason: 'control-characters' });
    const surrogate = await h.call('POST', '/signup', {
      username: name,
      password: 'lone-\ud800-surrogate-long',
    });
    expect(surrogate.body).toMatchObject({ status: 422, reason: 'invalid-unicode' });

    // NFKC: sign up with a ligature and full-width letters, log in with plain ASCII.
    const created = await h.call('POST', '/signup', {
      username: name,
      password: 'ﬁne-ｍｏｏｎ-over-harbour',
    });
    expect(created.status).toBe(201);
    const login = await h.call('POST', '/login', {
      username: name.toUpperCase(),
      password: 'fine-moon-over-harbour',
    });
    expect(login.status).toBe(200);
    const dup = await h.call('POST', '/signup', { username: name, password: 'another-fine-long-phrase' });
    expect(dup.status).toBe(409);
  });

  it('serves the sign-in page with a strict CSP', async () => {
    const page = await h.call('GET', '/ui');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const js = await h.call('GET', '/ui/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  });
});

describe('self sign-up switch', () => {
  it('is off by default', async () => {
    const { openTestStore } = await import('../helpers/stores.ts');
    const store = await openTestStore('sqlite');
    const h = await startHarness(store.db);
    try {
      const res = await h.call('POST', '/signup', {
        username: 'someone',
        password: 'a-long-enough-passphrase',
      });
      expect(res.status).toBe(404);
    } finally {
      await h.close();
      await store.cleanup();
    }
  });
});
