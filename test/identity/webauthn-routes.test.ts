/**
 * Wiring of the passkey routes to the Passkeys API (amr/acr, mfa_token binding,
 * recent-auth rules), with a scripted stand-in for the WebAuthn ceremony. The real
 * ceremony runs in passkeys-browser.test.ts (Chromium virtual authenticator).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PasskeyApi } from '../../src/identity/service.ts';
import { forEachStore } from '../helpers/stores.ts';
import { decodeJwt, GOOD_PASSWORD, startHarness, uniqueName, type Harness } from './harness.ts';

class ScriptedPasskeys implements PasskeyApi {
  readonly keys = new Map<
    string,
    Array<{ id: string; name: string; createdAt: number; lastUsedAt: number | null }>
  >();
  private n = 0;
  async startRegistration(user: { id: string }) {
    return { challengeId: `reg-${user.id}`, options: { challenge: 'x' } };
  }
  async finishRegistration(userId: string, _c: string, _r: unknown, name: string) {
    const pk = { id: `pk${++this.n}`, name, createdAt: 1, lastUsedAt: null };
    this.keys.set(userId, [...(this.keys.get(userId) ?? []), pk]);
    return pk;
  }
  async startAuthentication(userId?: string) {
    return { challengeId: `auth-${userId ?? 'any'}`, options: { allowCredentials: userId ? ['…'] : [] } };
  }
  async finishAuthentication(_challengeId: string, response: unknown) {
    const r = response as { userId: string; uv: boolean; synced?: boolean };
    return {
      userId: r.userId,
      passkeyId: 'pk',
      userVerified: r.uv,
      amr: r.synced ? ('swk' as const) : ('hwk' as const),
    };
  }
  async list(userId: string) {
    return this.keys.get(userId) ?? [];
  }
  async remove(userId: string, id: string) {
    const list = this.keys.get(userId) ?? [];
    this.keys.set(
      userId,
      list.filter((p) => p.id !== id),
    );
    return list.some((p) => p.id === id);
  }
  async count(userId: string) {
    return (this.keys.get(userId) ?? []).length;
  }
}

forEachStore('passkey routes', (getDb) => {
  let h: Harness;
  const passkeys = new ScriptedPasskeys();
  beforeAll(async () => {
    h = await startHarness(getDb(), {}, { passkeys });
  });
  afterAll(async () => h?.close());

  async function userWithPasskey(): Promise<{ id: string; username: string; recovery: string[] }> {
    const username = uniqueName('pk');
    const user = await h.service.users.add({ username, password: GOOD_PASSWORD });
    const t = (await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).body.access_token;
    const opts = await h.call('POST', '/passkeys/register/options', {}, t);
    expect(opts.status).toBe(200);
    expect(opts.body.challenge_id).toBe(`reg-${user.id}`);
    const reg = await h.call(
      'POST',
      '/passkeys/register/verify',
      { challenge_id: opts.body.challenge_id, name: 'YubiKey', response: {} },
      t,
    );
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ name: 'YubiKey', created_at: 1 });
    return { id: user.id, username, recovery: reg.body.recovery_codes };
  }

  it('registers a first passkey (with recovery codes) and then asks for it at login', async () => {
    const u = await userWithPasskey();
    expect(u.recovery).toHaveLength(10);
    const first = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
    expect(first.body).toMatchObject({ mfa_required: true, methods: ['passkey', 'recovery_code'] });
    const opts = await h.call('POST', '/passkeys/login/options', { mfa_token: first.body.mfa_token });
    expect(opts.body.challenge_id).toBe(`auth-${u.id}`);
    const ok = await h.call('POST', '/passkeys/login/verify', {
      challenge_id: opts.body.challenge_id,
      mfa_token: first.body.mfa_token,
      response: { userId: u.id, uv: true },
    });
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token).payload).toMatchObject({
      amr: ['pwd', 'hwk', 'user', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
    });
  });

  it('signs in passwordless with a user-verified passkey: amr swk/hwk + user + mfa', async () => {
    const u = await userWithPasskey();
    const ok = await h.call('POST', '/passkeys/login/verify', {
      challenge_id: 'auth-any',
      response: { userId: u.id, uv: true, synced: true },
    });
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token).payload).toMatchObject({
      amr: ['swk', 'user', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
    });
    const noUv = await h.call('POST', '/passkeys/login/verify', {
      challenge_id: 'auth-any',
      response: { userId: u.id, uv: false },
    });
    expect(noUv.status).toBe(401);
  });

  it("refuses another user's passkey for an mfa_token", async () => {
    const a = await userWithPasskey();
    const b = await userWithPasskey();
    const first = await h.call('POST', '/login', { username: a.username, password: GOOD_PASSWORD });
    const res = await h.call('POST', '/passkeys/login/verify', {
      challenge_id: 'c',
      mfa_token: first.body.mfa_token,
      response: { userId: b.id, uv: true },
    });
    expect(res.status).toBe(401);
  });

  it('lists passkeys and removes one only with recent authentication', async () => {
    const u = await userWithPasskey();
    const login = await h.call('POST', '/passkeys/login/verify', {
      challenge_id: 'x',
      response: { userId: u.id, uv: true },
    });
    const t = login.body.access_token as string;
    const list = await h.call('GET', '/passkeys', undefined, t);
    expect(list.body.passkeys).toEqual([expect.objectContaining({ name: 'YubiKey', last_used_at: null })]);
    h.clock.advance(6 * 60_000);
    const r = await h.call('POST', '/token', {
      grant_type: 'refresh_token',
      refresh_token: login.body.refresh_token,
    });
    const stale = r.body.access_token as string;
    expect((await h.call('DELETE', `/passkeys/${list.body.passkeys[0].id}`, undefined, stale)).status).toBe(
      401,
    );
    const step = await h.call(
      'POST',
      '/step-up',
      { method: 'passkey', challenge_id: 'y', response: { userId: u.id, uv: true } },
      stale,
    );
    expect(step.status).toBe(200);
    expect(decodeJwt(step.body.access_token).payload.auth_time).toBe(Math.floor(h.clock.now() / 1000));
    const del = await h.call(
      'DELETE',
      `/passkeys/${list.body.passkeys[0].id}`,
      undefined,
      step.body.access_token,
    );
    expect(del.status).toBe(204);
    expect((await h.call('GET', '/me', undefined, step.body.access_token)).body.factors).toEqual({
      totp: false,
      passkeys: 0,
      recovery_codes_left: 0,
    });
  });

  it('refuses a step-up with a passkey of another account', async () => {
    const a = await userWithPasskey();
    const b = await userWithPasskey();
    const t = (
      await h.call('POST', '/passkeys/login/verify', {
        challenge_id: 'x',
        response: { userId: a.id, uv: true },
      })
    ).body.access_token;
    const res = await h.call(
      'POST',
      '/step-up',
      { method: 'passkey', challenge_id: 'y', response: { userId: b.id, uv: true } },
      t,
    );
    expect(res.status).toBe(401);
  });
});
