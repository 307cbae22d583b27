import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachStore } from '../helpers/stores.ts';
import { decodeJwt, GOOD_PASSWORD, startHarness, uniqueName, type Harness } from './harness.ts';

type Claims = { sub: string; sid: string; jti: string; iat: number };
const claimsOf = (token: string) => decodeJwt(token).payload as unknown as Claims;

forEachStore('identity sessions and revocation', (getDb) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(getDb(), { lockout: { maxFailuresPerIp: 1000 } });
  });
  afterAll(async () => h?.close());

  async function login(): Promise<{ username: string; id: string; access: string; refresh: string }> {
    const username = uniqueName('sess');
    const user = await h.service.users.add({ username, password: GOOD_PASSWORD });
    const res = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    expect(res.status).toBe(200);
    return { username, id: user.id, access: res.body.access_token, refresh: res.body.refresh_token };
  }

  it('rotates refresh tokens and revokes the whole family when an old one is reused', async () => {
    const s = await login();
    h.clock.advance(1000);
    const r1 = await h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: s.refresh });
    expect(r1.status).toBe(200);
    expect(r1.body.refresh_token).not.toBe(s.refresh);
    expect(claimsOf(r1.body.access_token).sid).toBe(claimsOf(s.access).sid);
    const r2 = await h.call('POST', '/token', {
      grant_type: 'refresh_token',
      refresh_token: r1.body.refresh_token,
    });
    expect(r2.status).toBe(200);

    // An attacker replays the first refresh token.
    const reuse = await h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: s.refresh });
    expect(reuse.status).toBe(401);
    expect(reuse.body.type).toBe('https://rampart.dev/problems/invalid-refresh-token');
    expect(reuse.body.title).toBe('Invalid refresh token');
    expect(reuse.body).not.toHaveProperty('user_id');
    // The legitimate client's newest token is dead too, and so are the access tokens.
    const legit = await h.call('POST', '/token', {
      grant_type: 'refresh_token',
      refresh_token: r2.body.refresh_token,
    });
    expect(legit.status).toBe(401);
    expect(h.service.issuer.isRevoked(claimsOf(r2.body.access_token))).toBe(true);
    expect(h.service.issuer.isRevoked(claimsOf(s.access))).toBe(true);
    expect((await h.call('GET', '/me', undefined, r2.body.access_token)).status).toBe(401);
    expect(
      h.events.some(
        (e) =>
          e.type === 'auth' && e.action === 'refresh' && e.outcome === 'reuse-detected' && e.user === s.id,
      ),
    ).toBe(true);
  });

  it('lets exactly one of two concurrent refreshes with the same token win', async () => {
    const s = await login();
    const [a, b] = await Promise.all([
      h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: s.refresh }),
      h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: s.refresh }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
    expect(loser.body.type).toBe('https://rampart.dev/problems/invalid-refresh-token');
    // The loser presented a used token: without a grace window that is reuse, and the
    // whole family goes — the winner's fresh refresh token is refused too.
    const next = await h.call('POST', '/token', {
      grant_type: 'refresh_token',
      refresh_token: winner.body.refresh_token,
    });
    expect(next.status).toBe(401);
    expect(next.body.type).toBe('https://rampart.dev/problems/invalid-refresh-token');
    expect(h.service.issuer.isRevoked(claimsOf(winner.body.access_token))).toBe(true);
    expect(
      h.events.some(
        (e) =>
          e.type === 'auth' && e.action === 'refresh' && e.outcome === 'reuse-detected' && e.user === s.id,
      ),
    ).toBe(true);
  });

  it('logs out: the session and its tokens are revoked', async () => {
    const s = await login();
    const out = await h.call('POST', '/logout', { refresh_token: s.refresh }, s.access);
    expect(out.status).toBe(204);
    expect(h.service.issuer.isRevoked(claimsOf(s.access))).toBe(true);
    const me = await h.call('GET', '/me', undefined, s.access);
    expect(me.status).toBe(401);
    expect(me.body.type).toBe('https://rampart.dev/problems/invalid-token');
    expect(me.body.detail).toBe('The access token has been revoked');
    // RFC 6750 §3: a revoked token gets the same challenge as any other invalid one.
    expect(me.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(
      (await h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: s.refresh })).status,
    ).toBe(401);
  });

  it('revokes earlier tokens and other sessions on password change', async () => {
    const s = await login();
    const other = await h.call('POST', '/login', { username: s.username, password: GOOD_PASSWORD });
    h.clock.advance(2000);
    const weak = await h.call(
      'POST',
      '/password',
      { current_password: GOOD_PASSWORD, new_password: 'short' },
      s.access,
    );
    expect(weak.status).toBe(422);
    const wrong = await h.call(
      'POST',
      '/password',
      { current_password: 'not-my-password-x', new_password: 'a-new-long-passphrase-7' },
      s.access,
    );
    expect(wrong.status).toBe(401);
    const ok = await h.call(
      'POST',
      '/password',
      { current_password: GOOD_PASSWORD, new_password: 'a-new-long-passphrase-7' },
      s.access,
    );
    expect(ok.status).toBe(204);

    expect(h.service.issuer.isRevoked(claimsOf(s.access))).toBe(true);
    expect(h.service.issuer.isRevoked(claimsOf(other.body.access_token))).toBe(true);
    expect(
      (
        await h.call('POST', '/token', {
          grant_type: 'refresh_token',
          refresh_token: other.body.refresh_token,
        })
      ).status,
    ).toBe(401);
    // This session continues through its refresh token; the new access token passes the cut-off.
    const cont = await h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: s.refresh });
    expect(cont.status).toBe(200);
    expect(h.service.issuer.isRevoked(claimsOf(cont.body.access_token))).toBe(false);
    expect((await h.call('POST', '/login', { username: s.username, password: GOOD_PASSWORD })).status).toBe(
      401,
    );
    expect(
      (await h.call('POST', '/login', { username: s.username, password: 'a-new-long-passphrase-7' })).status,
    ).toBe(200);
  });

  it('revokes everything of a disabled user at once, and login answers like a wrong password', async () => {
    const s = await login();
    await h.service.users.disable(s.username);
    expect(h.service.issuer.isRevoked(claimsOf(s.access))).toBe(true);
    expect(
      (await h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: s.refresh })).status,
    ).toBe(401);
    const res = await h.call('POST', '/login', { username: s.username, password: GOOD_PASSWORD });
    expect(res.status).toBe(401);
    expect(res.body.type).toBe('https://rampart.dev/problems/invalid-credentials');
    await h.service.users.disable(s.username, false);
    expect((await h.call('POST', '/login', { username: s.username, password: GOOD_PASSWORD })).status).toBe(
      200,
    );
  });

  it('propagates revocations to another node through the store within one refresh', async () => {
    const other = await startHarness(getDb(), {}, { clock: h.clock });
    try {
      const s = await login();
      const c = claimsOf(s.access);
      expect(other.service.issuer.isRevoked(c)).toBe(false);
      await h.call('POST', '/logout', {}, s.access);
      expect(h.service.issuer.isRevoked(c)).toBe(true); // this node: immediately
      expect(other.service.issuer.isRevoked(c)).toBe(false); // other node: stale until its refresh
      await other.service.refresh();
      expect(other.service.issuer.isRevoked(c)).toBe(true);
      // the other node verifies tokens signed here (shared keys)
      const s2 = await login();
      expect((await other.call('GET', '/me', undefined, s2.access)).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('rotates signing keys and keeps the previous key in the JWKS for the grace period', async () => {
    const s = await login();
    const oldKid = decodeJwt(s.access).header.kid as string;
    const newKid = await h.service.rotateSigningKey();
    expect(newKid).not.toBe(oldKid);
    const jwks = await h.call('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual(
      expect.arrayContaining([oldKid, newKid]),
    );
    expect((await h.call('GET', '/me', undefined, s.access)).status).toBe(200); // old-key token still verifies
    const s2 = await login();
    expect(decodeJwt(s2.access).header.kid).toBe(newKid);
    h.clock.advance(86_400_000 + 1000); // past the default 1-day grace
    await h.service.refresh();
    expect(h.service.issuer.publicKey(oldKid)).toBeUndefined();
    expect(h.service.issuer.publicKey(newKid)).toBeDefined();
  });

  it('rejects tokens that are expired, for another audience, or unsigned', async () => {
    const s = await login();
    const [hd, pl] = s.access.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${pl}.`;
    expect((await h.call('GET', '/me', undefined, none)).status).toBe(401);
    const tampered = `${hd}.${Buffer.from(JSON.stringify({ ...decodeJwt(s.access).payload, roles: ['admin'] })).toString('base64url')}.${s.access.split('.')[2]}`;
    expect((await h.call('GET', '/me', undefined, tampered)).status).toBe(401);
    h.clock.advance(301_000 + 5_000);
    const expired = await h.call('GET', '/me', undefined, s.access);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect((await h.call('GET', '/me')).status).toBe(401);
  });
});

forEachStore('identity mounted behind a body-buffering gateway', (getDb) => {
  it('uses the body the gateway already read', async () => {
    const { createServer } = await import('node:http');
    const h = await startHarness(getDb());
    const username = uniqueName('mounted');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    // A server that, like the gateway, buffers the body before handing the request over.
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void h.service.handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: GOOD_PASSWORD }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { token_type: string }).token_type).toBe('Bearer');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await h.close();
    }
  });
});

forEachStore('identity key-encryption key', (getDb) => {
  it('refuses to start with a different key-encryption key than the store was sealed with', async () => {
    const { randomBytes } = await import('node:crypto');
    const first = await startHarness(getDb());
    await first.close();
    await expect(startHarness(getDb(), {}, { key: randomBytes(32) })).rejects.toThrow(
      /Cannot decrypt the identity signing key/,
    );
  });
});

forEachStore('identity refresh reuse grace window', (getDb) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(getDb(), { refreshReuseGrace: 10, lockout: { maxFailuresPerIp: 1000 } });
  });
  afterAll(async () => h?.close());

  const refresh = (token: string) =>
    h.call('POST', '/token', { grant_type: 'refresh_token', refresh_token: token });

  async function session(): Promise<{ id: string; access: string; refresh: string }> {
    const username = uniqueName('grace');
    const user = await h.service.users.add({ username, password: GOOD_PASSWORD });
    const res = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    return { id: user.id, access: res.body.access_token, refresh: res.body.refresh_token };
  }

  it('gives both of two concurrent refreshes new tokens in the same session, and both stay usable', async () => {
    const s = await session();
    const [a, b] = await Promise.all([refresh(s.refresh), refresh(s.refresh)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refresh_token).not.toBe(b.body.refresh_token);
    const sid = claimsOf(s.access).sid;
    expect(claimsOf(a.body.access_token).sid).toBe(sid);
    expect(claimsOf(b.body.access_token).sid).toBe(sid);
    expect(h.service.issuer.isRevoked(claimsOf(a.body.access_token))).toBe(false);
    expect((await refresh(a.body.refresh_token)).status).toBe(200);
    expect((await refresh(b.body.refresh_token)).status).toBe(200);
    const graceEvents = h.events.filter(
      (e) =>
        e.type === 'auth' && e.action === 'refresh' && e.user === s.id && e.reason === 'reuse-within-grace',
    );
    expect(graceEvents).toHaveLength(1);
  });

  it('still treats a presentation after the window as reuse and revokes the session', async () => {
    const s = await session();
    const first = await refresh(s.refresh);
    expect(first.status).toBe(200);
    h.clock.advance(5_000);
    expect((await refresh(s.refresh)).status).toBe(200); // within 10 s
    h.clock.advance(6_000); // 11 s after the first use
    const late = await refresh(s.refresh);
    expect(late.status).toBe(401);
    expect(h.events.some((e) => e.type === 'auth' && e.outcome === 'reuse-detected' && e.user === s.id)).toBe(
      true,
    );
    expect((await refresh(first.body.refresh_token)).status).toBe(401);
    expect(h.service.issuer.isRevoked(claimsOf(first.body.access_token))).toBe(true);
  });
});
