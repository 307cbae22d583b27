import { createHmac } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { base64url, exportSPKI } from 'jose';
import type { ApiKeyVerifier, Principal } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import type { Denial, PolicyResult, RouteMatch } from '../../policy.ts';
import {
  buildPolicy,
  testContext,
  testRoute,
  testServices,
  type TestContext,
  type TestPolicy,
} from '../test-context.ts';
import { authenticate, bearerToken, inScope, REJECTIONS } from './index.ts';
import { claimAt, headerSafe } from './claims.ts';
import {
  keyPair,
  signToken,
  startIssuerServer,
  TestLocalIssuer,
  type IssuerServer,
  type TestKeyPair,
} from './testing.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW = T0 / 1000;
const LOCAL_ISS = 'https://id.rampart.test';
const LOCAL_AUD = 'rampart';

let clock: ManualClock;
let own: TestKeyPair;
let ownOld: TestKeyPair;
let stranger: TestKeyPair;
let local: TestLocalIssuer;
let idp: IssuerServer;
let attacker: IssuerServer;
let okta: TestKeyPair;
let auth0: TestKeyPair;
let keycloak: TestKeyPair;
let attackerKey: TestKeyPair;
let OKTA_ISS: string;
let AUTH0_ISS: string;
let KC_ISS: string;

beforeAll(async () => {
  [own, ownOld, stranger, okta, auth0, keycloak, attackerKey] = await Promise.all([
    keyPair('ES256', 'own-2'),
    keyPair('ES256', 'own-1'),
    keyPair('ES256', 'own-2'), // same kid as `own`, different key
    keyPair('RS256', 'okta-k1'),
    keyPair('RS256', 'auth0-k1'),
    keyPair('RS256', 'kc-k1'),
    keyPair('RS256', 'okta-k1'), // attacker reuses a real kid
  ]);
  idp = await startIssuerServer();
  attacker = await startIssuerServer();
  OKTA_ISS = idp.addIssuer({ path: '/oauth2/default', keys: [okta] });
  AUTH0_ISS = idp.addIssuer({ path: '/auth0', keys: [auth0], trailingSlash: true });
  KC_ISS = idp.addIssuer({ path: '/realms/shop', keys: [keycloak] });
  attacker.addIssuer({ path: '/evil', keys: [attackerKey] });
});

afterAll(async () => {
  await idp?.close();
  await attacker?.close();
});

beforeEach(() => {
  clock = new ManualClock(T0);
  local = new TestLocalIssuer(LOCAL_ISS, LOCAL_AUD, [own, ownOld]);
});

function ownClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: LOCAL_ISS,
    aud: LOCAL_AUD,
    sub: 'user-1',
    iat: NOW - 10,
    exp: NOW + 300,
    jti: 'jti-1',
    sid: 'sid-1',
    roles: ['customer'],
    amr: ['pwd', 'otp', 'mfa'],
    acr: 'urn:rampart:acr:mfa',
    auth_time: NOW - 10,
    ...extra,
  };
}

function externalIssuers(extra: Record<string, unknown> = {}) {
  return [
    {
      // Okta: discovery, groups claim, typ JWT, acr only.
      issuer: OKTA_ISS,
      audience: 'api://default',
      claimMapping: { roles: 'groups' },
      acrMapping: { 'urn:okta:loa:2fa:any': ['mfa'] },
      allowPrivate: true, // the test issuers listen on 127.0.0.1
      ...extra,
    },
    {
      // Auth0: explicit jwksUri, namespaced roles claim, amr ["mfa"].
      issuer: AUTH0_ISS,
      jwksUri: `${idp.url}/auth0/keys`,
      audience: 'https://api.shop.example',
      claimMapping: { roles: 'https://shop.example/roles' },
      allowPrivate: true, // the test issuers listen on 127.0.0.1
      ...extra,
    },
    {
      // Keycloak: discovery, realm roles, acr "1"/"2" (LoA levels).
      issuer: KC_ISS,
      audience: 'shop-api',
      claimMapping: { roles: ['realm_access.roles', 'resource_access.shop-api.roles'] },
      acrMapping: { '2': ['mfa'] },
      allowPrivate: true, // the test issuers listen on 127.0.0.1
      ...extra,
    },
  ];
}

function build(
  options: Record<string, unknown> = {},
  services: Partial<Parameters<typeof testServices>[0]> = {},
): TestPolicy {
  return buildPolicy(authenticate, options, testServices({ clock, localIssuer: local, ...services }));
}

async function run(policy: TestPolicy, ctx: TestContext): Promise<Denial | undefined> {
  return (await policy.onRequest(ctx)) ?? undefined;
}

function bearer(token: string, extra: Record<string, string> = {}, route?: RouteMatch) {
  return testContext({ clock, route, headers: { authorization: `Bearer ${token}`, ...extra } });
}

function expectInvalidToken(d: Denial | undefined, description: string) {
  expect(d, description).toBeDefined();
  expect(d!.problem.status).toBe(401);
  expect(d!.problem.type).toBe('https://rampart.dev/problems/invalid-token');
  expect(d!.problem.detail).toBe(description);
  expect(d!.headers?.['www-authenticate']).toBe(
    `Bearer realm="rampart", error="invalid_token", error_description="${description}"`,
  );
}

describe('authenticate: which operations need credentials', () => {
  it('passes requests without a route untouched (the gateway answers 404)', async () => {
    const policy = build();
    const ctx = testContext({ clock, route: null, headers: { authorization: 'Bearer garbage' } });
    expect(await run(policy, ctx)).toBeUndefined();
    expect(ctx.principal).toBeUndefined();
    expect(ctx.events).toEqual([]);
  });

  it('answers 401 without an error code when credentials are missing on a secured operation', async () => {
    const policy = build();
    const ctx = testContext({ clock });
    const d = await run(policy, ctx);
    expect(d?.problem).toMatchObject({
      status: 401,
      type: 'https://rampart.dev/problems/unauthenticated',
      detail: 'Credentials are required',
    });
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer realm="rampart"' });
    expect(ctx.events).toEqual([]); // the gateway emits the one `denied` event per denial
  });

  it('lets anonymous requests through `security: []` operations', async () => {
    const ctx = testContext({ clock, route: testRoute({ security: [] }) });
    expect(await run(build(), ctx)).toBeUndefined();
    expect(ctx.principal).toBeUndefined();
  });

  it('treats an empty requirement object among the alternatives as optional credentials', async () => {
    const route = testRoute({ security: [{}, { bearerAuth: [] }] });
    expect(await run(build(), testContext({ clock, route }))).toBeUndefined();
    const ctx = bearer(await signToken(own, ownClaims()), {}, route);
    expect(await run(build(), ctx)).toBeUndefined();
    expect(ctx.principal?.id).toBe('user-1');
  });

  it('default: required protects operations unless the operation itself or x-rampart says public', async () => {
    const policy = build({ default: 'required' });
    // An explicit operation-level `security: []` is honoured…
    const explicit = testRoute({ security: [], operation: { raw: { security: [], responses: {} } } });
    expect(await run(policy, testContext({ clock, route: explicit }))).toBeUndefined();
    // …an effective [] inherited from the document (or no security at all) is not.
    expect(
      (await run(policy, testContext({ clock, route: testRoute({ security: [] }) })))?.problem.status,
    ).toBe(401);
    expect(
      await run(
        policy,
        testContext({ clock, route: testRoute({ security: [], rampart: { auth: 'public' } }) }),
      ),
    ).toBeUndefined();
  });

  it('x-rampart auth: required overrides a public contract', async () => {
    const d = await run(
      build(),
      testContext({ clock, route: testRoute({ security: [], rampart: { auth: 'required' } }) }),
    );
    expect(d?.problem.status).toBe(401);
  });

  it('validates credentials sent to a public operation: an invalid token is a 401', async () => {
    const route = testRoute({ security: [] });
    const bad = bearer('a.b.c', {}, route);
    expectInvalidToken(await run(build(), bad), REJECTIONS.malformed.description);
    const good = bearer(await signToken(own, ownClaims()), {}, route);
    expect(await run(build(), good)).toBeUndefined();
    expect(good.principal?.id).toBe('user-1');
  });

  it('onPublic: ignore leaves credentials on public operations alone', async () => {
    const ctx = bearer('a.b.c', {}, testRoute({ security: [] }));
    expect(await run(build({ onPublic: 'ignore' }), ctx)).toBeUndefined();
    expect(ctx.principal).toBeUndefined();
  });

  it('treats another Authorization scheme as no bearer credentials', async () => {
    const d = await run(build(), testContext({ clock, headers: { authorization: 'Basic dXNlcjpwYXNz' } }));
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer realm="rampart"' });
  });

  it('refuses a request carrying both a bearer token and an API key', async () => {
    const apiKeys: ApiKeyVerifier = { verify: async () => undefined };
    const ctx = bearer(await signToken(own, ownClaims()), { 'x-api-key': 'rk_live_x' });
    const d = await run(build({}, { apiKeys }), ctx);
    expect(d?.problem).toMatchObject({ status: 400, type: 'https://rampart.dev/problems/bad-request' });
    expect(d?.headers?.['www-authenticate']).toBe(
      'Bearer realm="rampart", error="invalid_request", error_description="Send either a bearer token or an API key, not both"',
    );
  });
});

describe('authenticate: own tokens', () => {
  it('sets the principal from a valid ES256 at+jwt and sends the identity upstream', async () => {
    const ctx = bearer(await signToken(own, ownClaims({ roles: ['customer', 'admin'] })));
    expect(await run(build(), ctx)).toBeUndefined();
    const p = ctx.principal!;
    expect(p).toMatchObject({
      id: 'user-1',
      kind: 'user',
      roles: ['customer', 'admin'],
      issuer: LOCAL_ISS,
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
      authTime: NOW - 10,
    });
    expect(p.claims.jti).toBe('jti-1');
    expect(Object.isFrozen(p)).toBe(true);
    expect(ctx.upstreamHeaders).toEqual({
      'x-authenticated-user': 'user-1',
      'x-authenticated-roles': 'customer,admin',
      'x-authenticated-issuer': LOCAL_ISS,
    });
    expect(ctx.events).toEqual([]);
  });

  it('accepts the Bearer scheme case-insensitively (RFC 6750 §2.1)', async () => {
    const token = await signToken(own, ownClaims());
    const ctx = testContext({ clock, headers: { authorization: `bearer  ${token}` } });
    expect(await run(build(), ctx)).toBeUndefined();
    expect(bearerToken('Bearer')).toBeNull();
    expect(bearerToken('Bearer   ')).toBeNull();
    expect(bearerToken('Bearerx y')).toBeUndefined();
    expect(bearerToken('Basic abc')).toBeUndefined();
  });

  it('accepts a token signed by a recently rotated key', async () => {
    const ctx = bearer(await signToken(ownOld, ownClaims()));
    expect(await run(build(), ctx)).toBeUndefined();
  });

  it('answers a repeated token from the cache synchronously, re-checking revocation each time', async () => {
    const policy = build();
    const token = await signToken(own, ownClaims());
    expect(await run(policy, bearer(token))).toBeUndefined();
    const checks = local.revocationChecks;
    const ctx = bearer(token);
    const r: PolicyResult | Promise<PolicyResult> = policy.onRequest(ctx);
    expect(r).toBeUndefined(); // not a promise: no async work on a hit
    expect(ctx.principal?.id).toBe('user-1');
    expect(local.revocationChecks).toBe(checks + 1);
    local.revokedJti.add('jti-1');
    expectInvalidToken(await run(policy, bearer(token)), REJECTIONS.revoked.description);
  });

  it('stops answering from the cache once the token expires (injected clock)', async () => {
    const policy = build();
    const token = await signToken(own, ownClaims({ exp: NOW + 60 }));
    expect(await run(policy, bearer(token))).toBeUndefined();
    clock.advance(60_000 + 29_000); // within the 30 s tolerance
    expect(await run(policy, bearer(token))).toBeUndefined();
    clock.advance(1_000);
    expectInvalidToken(await run(policy, bearer(token)), REJECTIONS.expired.description);
  });

  it('works without the cache (cacheSize: 0)', async () => {
    const policy = build({ cacheSize: 0 });
    const token = await signToken(own, ownClaims());
    expect(await run(policy, bearer(token))).toBeUndefined();
    const r = policy.onRequest(bearer(token));
    expect(r).toBeInstanceOf(Promise);
    expect(await r).toBeUndefined();
  });

  it('percent-encodes upstream identity values that are not plain visible ASCII', async () => {
    const ctx = bearer(await signToken(own, ownClaims({ sub: 'jürgen', roles: ['a,b', 'Team Lead'] })));
    expect(await run(build(), ctx)).toBeUndefined();
    expect(ctx.upstreamHeaders['x-authenticated-user']).toBe('j%C3%BCrgen');
    expect(ctx.upstreamHeaders['x-authenticated-roles']).toBe('a%2Cb,Team%20Lead');
    expect(headerSafe('auth0|123')).toBe('auth0|123');
    expect(headerSafe('50%')).toBe('50%25');
    expect(headerSafe('x\r\nevil: 1')).toBe('x%0D%0Aevil%3A%201');
  });

  it('upstreamIdentity: false sends nothing upstream', async () => {
    const ctx = bearer(await signToken(own, ownClaims()));
    expect(await run(build({ upstreamIdentity: false }), ctx)).toBeUndefined();
    expect(ctx.upstreamHeaders).toEqual({});
  });

  it('rejects own tokens when localTokens is off', async () => {
    expectInvalidToken(
      await run(build({ localTokens: false }), bearer(await signToken(own, ownClaims()))),
      REJECTIONS.issuer.description,
    );
  });
});

describe('authenticate: RFC 8725 rejections', () => {
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v));

  async function rejects(token: string, description: string, options: Record<string, unknown> = {}) {
    const ctx = bearer(token);
    const d = await run(build(options), ctx);
    expectInvalidToken(d, description);
    expect(ctx.principal).toBeUndefined();
    expect(ctx.upstreamHeaders).toEqual({});
    expect(ctx.events).toEqual([]);
  }

  it('alg none, with or without a signature part', async () => {
    const header = enc({ alg: 'none', typ: 'at+jwt', kid: 'own-2' });
    const payload = enc(ownClaims());
    await rejects(`${header}.${payload}.`, REJECTIONS.malformed.description);
    await rejects(`${header}.${payload}.c2ln`, REJECTIONS.algorithm.description);
    await rejects(
      `${enc({ alg: 'NONE', typ: 'at+jwt', kid: 'own-2' })}.${payload}.c2ln`,
      REJECTIONS.algorithm.description,
    );
  });

  it('HS256 signed with the public key bytes (algorithm confusion)', async () => {
    const pem = await exportSPKI(own.publicKey);
    const input = `${enc({ alg: 'HS256', typ: 'at+jwt', kid: 'own-2' })}.${enc(ownClaims())}`;
    const sig = createHmac('sha256', pem).update(input).digest('base64url');
    await rejects(`${input}.${sig}`, REJECTIONS.algorithm.description);
  });

  it('an algorithm the issuer does not use (ES384 for an ES256 issuer)', async () => {
    const es384 = await keyPair('ES384', 'own-2');
    await rejects(await signToken(es384, ownClaims()), REJECTIONS.algorithm.description);
  });

  it('wrong or missing typ (RFC 9068 at+jwt required for own tokens)', async () => {
    await rejects(await signToken(own, ownClaims(), { typ: 'JWT' }), REJECTIONS.typ.description);
    await rejects(await signToken(own, ownClaims(), { typ: undefined }), REJECTIONS.typ.description);
  });

  it('wrong aud, wrong iss', async () => {
    await rejects(await signToken(own, ownClaims({ aud: 'another-api' })), REJECTIONS.audience.description);
    await rejects(
      await signToken(own, ownClaims({ iss: 'https://evil.example' })),
      REJECTIONS.issuer.description,
    );
    await rejects(await signToken(own, ownClaims({ iss: undefined })), REJECTIONS.issuer.description);
  });

  it('missing exp, expired exp, missing iat, missing sub, iat in the future, nbf in the future', async () => {
    await rejects(await signToken(own, ownClaims({ exp: undefined })), REJECTIONS.missingExp.description);
    await rejects(await signToken(own, ownClaims({ exp: NOW - 31 })), REJECTIONS.expired.description);
    await rejects(await signToken(own, ownClaims({ iat: undefined })), REJECTIONS.missingIat.description);
    await rejects(await signToken(own, ownClaims({ sub: undefined })), REJECTIONS.missingSub.description);
    await rejects(await signToken(own, ownClaims({ iat: NOW + 31 })), REJECTIONS.issuedInFuture.description);
    await rejects(await signToken(own, ownClaims({ nbf: NOW + 31 })), REJECTIONS.notYetValid.description);
  });

  it('accepts exp within the clock tolerance, and honours a custom tolerance', async () => {
    expect(await run(build(), bearer(await signToken(own, ownClaims({ exp: NOW - 29 }))))).toBeUndefined();
    await rejects(await signToken(own, ownClaims({ exp: NOW - 29 })), REJECTIONS.expired.description, {
      clockTolerance: 0,
    });
  });

  it('unknown kid, missing kid', async () => {
    await rejects(await signToken(own, ownClaims(), { kid: 'nope' }), REJECTIONS.unknownKey.description);
    await rejects(await signToken(own, ownClaims(), { kid: undefined }), REJECTIONS.noKeyId.description);
  });

  it('a known kid with another key, and a tampered payload: bad signature', async () => {
    await rejects(await signToken(stranger, ownClaims()), REJECTIONS.signature.description);
    const [h, , s] = (await signToken(own, ownClaims())).split('.');
    await rejects(`${h}.${enc(ownClaims({ roles: ['admin'] }))}.${s}`, REJECTIONS.signature.description);
  });

  it('never follows jku/x5u or trusts an embedded jwk/x5c (the attacker server gets no request)', async () => {
    const evilJwks = `${attacker.url}/evil/keys`;
    await rejects(
      await signToken(attackerKey, ownClaims(), { jku: evilJwks }),
      REJECTIONS.keyReference.description,
    );
    await rejects(
      await signToken(attackerKey, ownClaims(), { x5u: evilJwks }),
      REJECTIONS.keyReference.description,
    );
    await rejects(
      await signToken(attackerKey, ownClaims(), { jwk: attackerKey.jwk as never }),
      REJECTIONS.keyReference.description,
    );
    await rejects(
      await signToken(attackerKey, ownClaims(), { x5c: ['MIIB'] }),
      REJECTIONS.keyReference.description,
    );
    // Also for an external issuer whose real key id the attacker reuses.
    const claims = { iss: OKTA_ISS, aud: 'api://default', sub: 'u', iat: NOW, exp: NOW + 60 };
    await rejects(
      await signToken(attackerKey, claims, { typ: 'JWT', jku: evilJwks }),
      REJECTIONS.keyReference.description,
      {
        issuers: externalIssuers(),
      },
    );
    await rejects(await signToken(attackerKey, claims, { typ: 'JWT' }), REJECTIONS.signature.description, {
      issuers: externalIssuers(),
    });
    expect(attacker.total()).toBe(0);
  });

  it('revoked tokens: by jti, by session, by a password change after iat', async () => {
    local.revokedJti.add('jti-1');
    await rejects(await signToken(own, ownClaims()), REJECTIONS.revoked.description);
    local.revokedJti.clear();
    local.revokedSid.add('sid-1');
    await rejects(await signToken(own, ownClaims()), REJECTIONS.revoked.description);
    local.revokedSid.clear();
    local.revokedBefore.set('user-1', NOW - 5);
    await rejects(await signToken(own, ownClaims()), REJECTIONS.revoked.description);
  });

  it('malformed tokens: not three parts, bad base64url, not JSON, not an object', async () => {
    const good = await signToken(own, ownClaims());
    const [h, p, s] = good.split('.');
    await rejects(`${h}.${p}`, REJECTIONS.malformed.description);
    await rejects(`${h}.${p}.${s}.${s}`, REJECTIONS.malformed.description);
    await rejects(`${h}.${p}.${s}.${s}.${s}`, REJECTIONS.malformed.description); // JWE shape
    await rejects(`${h}.${p.slice(0, 10)}!!${p.slice(12)}.${s}`, REJECTIONS.malformed.description);
    await rejects(`${h}.${p}+/.${s}`, REJECTIONS.malformed.description); // base64, not base64url
    await rejects(`${base64url.encode('{not json')}.${p}.${s}`, REJECTIONS.malformed.description);
    await rejects(`${enc([1, 2])}.${p}.${s}`, REJECTIONS.malformed.description);
    await rejects(`${h}.${base64url.encode('null')}.${s}`, REJECTIONS.malformed.description);
  });

  it('huge tokens are rejected before any parsing (> maxTokenLength)', async () => {
    const huge = await signToken(own, ownClaims({ pad: 'x'.repeat(9000) }));
    expect(huge.length).toBeGreaterThan(8192);
    await rejects(huge, REJECTIONS.tooLarge.description);
    // The same token passes a larger limit: the limit, not the content, rejected it.
    expect(await run(build({ maxTokenLength: 16384 }), bearer(huge))).toBeUndefined();
  });
});

describe('authenticate: external OIDC issuers (real JWKS server)', () => {
  const okClaims = () => ({
    iss: OKTA_ISS,
    aud: 'api://default',
    sub: '00u1okta',
    iat: NOW - 5,
    exp: NOW + 3600,
    cid: 'client',
    groups: ['Everyone', 'admin'],
  });

  it('Okta: discovery, groups as roles, acr urn:okta:loa:2fa:any mapped to amr mfa, typ JWT', async () => {
    const hits = (path: string) => idp.hits.get(path) ?? 0;
    const discovery0 = hits('/oauth2/default/.well-known/openid-configuration');
    const keys0 = hits('/oauth2/default/keys');
    const policy = build({ issuers: externalIssuers() });
    const ctx = bearer(
      await signToken(
        okta,
        { ...okClaims(), acr: 'urn:okta:loa:2fa:any', auth_time: NOW - 60 },
        { typ: 'JWT' },
      ),
    );
    expect(await run(policy, ctx)).toBeUndefined();
    expect(ctx.principal).toMatchObject({
      id: '00u1okta',
      kind: 'user',
      issuer: OKTA_ISS,
      roles: ['Everyone', 'admin'],
      amr: ['mfa'],
      acr: 'urn:okta:loa:2fa:any',
      authTime: NOW - 60,
    });
    expect(hits('/oauth2/default/.well-known/openid-configuration')).toBe(discovery0 + 1);
    expect(hits('/oauth2/default/keys')).toBe(keys0 + 1);
    // A second token from the same issuer reuses the cached discovery and JWKS.
    const other = bearer(
      await signToken(okta, { ...okClaims(), sub: '00u2okta', acr: 'urn:okta:loa:1fa:any' }, { typ: 'JWT' }),
    );
    expect(await run(policy, other)).toBeUndefined();
    expect(other.principal).toMatchObject({ id: '00u2okta', amr: [], acr: 'urn:okta:loa:1fa:any' });
    expect(hits('/oauth2/default/.well-known/openid-configuration')).toBe(discovery0 + 1);
    expect(hits('/oauth2/default/keys')).toBe(keys0 + 1);
  });

  it('Auth0: jwksUri, namespaced roles claim, amr ["mfa"], issuer with trailing slash', async () => {
    const ctx = bearer(
      await signToken(
        auth0,
        {
          iss: AUTH0_ISS,
          aud: ['https://api.shop.example', `${AUTH0_ISS}userinfo`],
          sub: 'auth0|65a1',
          iat: NOW,
          exp: NOW + 86400,
          amr: ['mfa'],
          'https://shop.example/roles': ['support'],
          scope: 'openid read:orders',
        },
        { typ: 'JWT' },
      ),
    );
    expect(await run(build({ issuers: externalIssuers() }), ctx)).toBeUndefined();
    expect(ctx.principal).toMatchObject({
      id: 'auth0|65a1',
      issuer: AUTH0_ISS,
      roles: ['support'],
      amr: ['mfa'],
    });
    expect(ctx.principal!.acr).toBeUndefined();
    expect(ctx.upstreamHeaders['x-authenticated-user']).toBe('auth0|65a1');
  });

  it('Keycloak: realm and client roles, acr "2" mapped to mfa, acr "1" not', async () => {
    const kc = (acr: string) => ({
      iss: KC_ISS,
      aud: ['shop-api', 'account'],
      sub: 'f3b1-uuid',
      iat: NOW,
      exp: NOW + 300,
      typ: 'Bearer',
      acr,
      auth_time: NOW - 30,
      realm_access: { roles: ['offline_access', 'admin'] },
      resource_access: { 'shop-api': { roles: ['orders-read', 'admin'] } },
    });
    const policy = build({ issuers: externalIssuers() });
    const two = bearer(await signToken(keycloak, kc('2'), { typ: 'JWT' }));
    expect(await run(policy, two)).toBeUndefined();
    expect(two.principal).toMatchObject({
      id: 'f3b1-uuid',
      roles: ['offline_access', 'admin', 'orders-read'],
      amr: ['mfa'],
      acr: '2',
    });
    const one = bearer(await signToken(keycloak, kc('1'), { typ: 'JWT' }));
    expect(await run(policy, one)).toBeUndefined();
    expect(one.principal).toMatchObject({ amr: [], acr: '1' });
  });

  it('maps issuer-specific amr values (amrMapping)', async () => {
    const issuers = externalIssuers({ amrMapping: { ngcmfa: 'mfa' } });
    const ctx = bearer(await signToken(okta, { ...okClaims(), amr: ['pwd', 'ngcmfa'] }, { typ: 'JWT' }));
    expect(await run(build({ issuers }), ctx)).toBeUndefined();
    expect(ctx.principal!.amr).toEqual(['pwd', 'mfa']);
  });

  it('uses a custom subject claim', async () => {
    const issuers = externalIssuers({ claimMapping: { subject: 'uid', roles: 'groups' } });
    const ctx = bearer(await signToken(okta, { ...okClaims(), uid: 'alice@example.com' }, { typ: 'JWT' }));
    expect(await run(build({ issuers }), ctx)).toBeUndefined();
    expect(ctx.principal!.id).toBe('alice@example.com');
  });

  it('rejects: unknown kid, wrong aud, wrong typ, missing typ, algorithm outside the issuer allow-list, expired, no exp, no iat', async () => {
    const policy = build({ issuers: externalIssuers() });
    const unknownKid = await keyPair('RS256', 'okta-unknown');
    expectInvalidToken(
      await run(policy, bearer(await signToken(unknownKid, okClaims(), { typ: 'JWT' }))),
      REJECTIONS.unknownKey.description,
    );
    expectInvalidToken(
      await run(policy, bearer(await signToken(okta, { ...okClaims(), aud: 'api://other' }, { typ: 'JWT' }))),
      REJECTIONS.audience.description,
    );
    expectInvalidToken(
      await run(policy, bearer(await signToken(okta, okClaims(), { typ: 'id+jwt' }))),
      REJECTIONS.typ.description,
    );
    expectInvalidToken(
      await run(policy, bearer(await signToken(okta, okClaims(), { typ: undefined }))),
      REJECTIONS.typ.description,
    );
    const ps = await keyPair('PS256', 'okta-k1');
    expectInvalidToken(
      await run(policy, bearer(await signToken(ps, okClaims(), { typ: 'JWT' }))),
      REJECTIONS.algorithm.description,
    );
    expectInvalidToken(
      await run(policy, bearer(await signToken(okta, { ...okClaims(), exp: NOW - 100 }, { typ: 'JWT' }))),
      REJECTIONS.expired.description,
    );
    // No exp at all: an external token that never expires is refused, like an own one.
    expectInvalidToken(
      await run(policy, bearer(await signToken(okta, { ...okClaims(), exp: undefined }, { typ: 'JWT' }))),
      REJECTIONS.missingExp.description,
    );
    expectInvalidToken(
      await run(policy, bearer(await signToken(okta, { ...okClaims(), iat: undefined }, { typ: 'JWT' }))),
      REJECTIONS.missingIat.description,
    );
    expect(attacker.total()).toBe(0);
  });

  it('typRequired: false accepts issuers that send no typ', async () => {
    const policy = build({ issuers: externalIssuers({ typRequired: false }) });
    expect(await run(policy, bearer(await signToken(okta, okClaims(), { typ: undefined })))).toBeUndefined();
  });

  it('an own token signed with an external issuer key is still rejected (keys are per issuer)', async () => {
    const d = await run(
      build({ issuers: externalIssuers() }),
      bearer(await signToken(okta, ownClaims(), { kid: 'okta-k1', alg: 'RS256' })),
    );
    expectInvalidToken(d, REJECTIONS.algorithm.description);
  });

  it('discovery whose issuer does not match, or an unreachable issuer: 503 and retry later', async () => {
    const server = await startIssuerServer();
    try {
      const k = await keyPair('RS256', 'm1');
      const iss = server.addIssuer({
        path: '/mismatch',
        keys: [k],
        discoveryIssuer: 'https://someone-else.example',
      });
      const policy = build({ issuers: [{ issuer: iss, audience: 'a', cooldownMs: 0, allowPrivate: true }] });
      const token = await signToken(k, { iss, aud: 'a', sub: 's', iat: NOW, exp: NOW + 60 }, { typ: 'JWT' });
      const ctx = bearer(token);
      const d = await run(policy, ctx);
      expect(d?.problem).toMatchObject({
        status: 503,
        type: 'https://rampart.dev/problems/upstream-unavailable',
      });
      expect(d?.headers).toEqual({ 'retry-after': '5' });
      expect(server.hits.get('/mismatch/keys')).toBeUndefined(); // the discovered JWKS was not trusted
      // Fixed: the next attempt (cooldown 0) discovers again and succeeds.
      server.issuer('/mismatch').discoveryIssuer = iss;
      expect(await run(policy, bearer(token))).toBeUndefined();
    } finally {
      await server.close();
    }
    const closedPort = server.url; // closed now
    const k = await keyPair('RS256', 'c1');
    const policy = build({
      issuers: [{ issuer: `${closedPort}/gone`, audience: 'a', timeoutMs: 500, allowPrivate: true }],
    });
    const d = await run(
      policy,
      bearer(
        await signToken(
          k,
          { iss: `${closedPort}/gone`, aud: 'a', sub: 's', iat: NOW, exp: NOW + 60 },
          { typ: 'JWT' },
        ),
      ),
    );
    expect(d?.problem.status).toBe(503);
  });

  it('rate-limits key fetches: unknown kids refetch the JWKS at most once per cooldown, failed discovery waits too', async () => {
    const server = await startIssuerServer();
    try {
      const k = await keyPair('ES256', 'real');
      const iss = server.addIssuer({ path: '/idp', keys: [k] });
      const policy = build({ issuers: [{ issuer: iss, audience: 'a', allowPrivate: true }] });
      const claims = { iss, aud: 'a', sub: 's', iat: NOW, exp: NOW + 60 };
      expect(await run(policy, bearer(await signToken(k, claims, { typ: 'JWT' })))).toBeUndefined();
      expect(server.hits.get('/idp/keys')).toBe(1);
      for (let i = 0; i < 5; i++) {
        const forged = await keyPair('ES256', `random-${i}`);
        expectInvalidToken(
          await run(policy, bearer(await signToken(forged, claims, { typ: 'JWT' }))),
          REJECTIONS.unknownKey.description,
        );
      }
      expect(server.hits.get('/idp/keys')).toBe(1); // within the 30 s cooldown: no refetch

      const down = server.addIssuer({ path: '/down', keys: [k], discoveryIssuer: 'https://wrong.example' });
      const downPolicy = build({ issuers: [{ issuer: down, audience: 'a', allowPrivate: true }] });
      const t = await signToken(k, { ...claims, iss: down }, { typ: 'JWT' });
      expect((await run(downPolicy, bearer(t)))?.problem.status).toBe(503);
      expect((await run(downPolicy, bearer(t)))?.problem.status).toBe(503);
      expect(server.hits.get('/down/.well-known/openid-configuration')).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('a JWKS that answers an error status: 503', async () => {
    const server = await startIssuerServer();
    try {
      const k = await keyPair('ES256', 'e1');
      const iss = server.addIssuer({ path: '/broken', keys: [k] });
      server.issuer('/broken').jwksStatus = 500;
      const policy = build({
        issuers: [{ issuer: iss, jwksUri: `${server.url}/broken/keys`, audience: 'a', allowPrivate: true }],
      });
      const d = await run(
        policy,
        bearer(await signToken(k, { iss, aud: 'a', sub: 's', iat: NOW, exp: NOW + 60 }, { typ: 'at+jwt' })),
      );
      expect(d?.problem.status).toBe(503);
    } finally {
      await server.close();
    }
  });

  describe('SSRF guard on key fetches (discovery and JWKS)', () => {
    const token = async (k: TestKeyPair, iss: string) =>
      signToken(k, { iss, aud: 'a', sub: 's', iat: NOW, exp: NOW + 60 }, { typ: 'JWT' });
    const unavailable = (d: Denial | undefined) =>
      expect(d?.problem).toMatchObject({
        status: 503,
        type: 'https://rampart.dev/problems/upstream-unavailable',
      });

    it('a loopback issuer is refused unless the issuer says allowPrivate (no request reaches it)', async () => {
      const server = await startIssuerServer();
      try {
        const k = await keyPair('ES256', 'p1');
        const iss = server.addIssuer({ path: '/internal', keys: [k] });
        unavailable(
          await run(
            build({ issuers: [{ issuer: iss, audience: 'a', cooldownMs: 0 }] }),
            bearer(await token(k, iss)),
          ),
        );
        expect(server.hits.get('/internal/.well-known/openid-configuration')).toBeUndefined();
        const allowed = build({ issuers: [{ issuer: iss, audience: 'a', allowPrivate: true }] });
        expect(await run(allowed, bearer(await token(k, iss)))).toBeUndefined();
        expect(server.hits.get('/internal/keys')).toBe(1);
      } finally {
        await server.close();
      }
    });

    it.each([
      ['169.254.169.254'],
      ['10.0.0.5'],
      ['192.168.1.1'],
      ['100.64.0.1'],
      ['127.0.0.1'],
      ['::ffff:169.254.169.254'],
      ['fd00:ec2::254'],
    ])(
      'a JWKS host resolving to %s is refused before any request (503, the resolver was asked)',
      async (address) => {
        const asked: string[] = [];
        const k = await keyPair('ES256', 'm1');
        const policy = build(
          {
            issuers: [
              { issuer: 'https://idp.example', jwksUri: 'https://keys.idp.example/jwks', audience: 'a' },
            ],
          },
          { resolve: async (host) => (asked.push(host), [address]) },
        );
        unavailable(await run(policy, bearer(await token(k, 'https://idp.example'))));
        expect(asked).toEqual(['keys.idp.example']);
      },
    );

    it('DNS rebinding: a host public at the check and loopback at connect time gets no connection', async () => {
      const sockets: Socket[] = [];
      const trap = createServer((s) => {
        sockets.push(s);
        s.destroy();
      });
      await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
      const port = (trap.address() as AddressInfo).port;
      let calls = 0;
      try {
        const k = await keyPair('ES256', 'r1');
        const policy = build(
          {
            issuers: [
              {
                issuer: 'https://idp.example',
                jwksUri: `https://rebind.example:${port}/jwks`,
                audience: 'a',
              },
            ],
          },
          { resolve: async () => (++calls === 1 ? ['93.184.216.34'] : ['127.0.0.1']) },
        );
        unavailable(await run(policy, bearer(await token(k, 'https://idp.example'))));
        expect(calls).toBe(2); // checked, then re-checked by the connect-time lookup
        expect(sockets).toHaveLength(0);
        await policy.hooks.close?.();
      } finally {
        await new Promise((r) => trap.close(r));
      }
    });
  });

  it('refuses bad issuer configuration at build time', () => {
    expect(() =>
      build({
        issuers: [{ issuer: 'https://a.example', audience: 'x', jwksUri: 'http://keys.example/jwks' }],
      }),
    ).toThrow(/https/);
    expect(() => build({ issuers: [{ issuer: 'http://idp.example', audience: 'x' }] })).toThrow(/https/);
    expect(() =>
      build({
        issuers: [
          { issuer: 'https://a.example', audience: 'x' },
          { issuer: 'https://a.example', audience: 'y' },
        ],
      }),
    ).toThrow(/twice/);
    expect(() => build({ issuers: [{ issuer: LOCAL_ISS, audience: 'x' }] })).toThrow(/built-in/);
    expect(() =>
      build({ issuers: [{ issuer: 'https://a.example', audience: 'x', algorithms: ['HS256'] }] }),
    ).toThrow(/invalid/);
    expect(() =>
      build({ issuers: [{ issuer: 'https://a.example', audience: 'x', algorithms: ['none'] }] }),
    ).toThrow(/invalid/);
    const hmacIssuer = new TestLocalIssuer(LOCAL_ISS, LOCAL_AUD, [own], ['HS256']);
    expect(() => build({}, { localIssuer: hmacIssuer })).toThrow(/asymmetric/);
  });
});

describe('authenticate: API keys', () => {
  const keyPrincipal = (scopes?: string[]): Principal => ({
    id: 'key-owner-1',
    kind: 'api-key',
    roles: ['service'],
    issuer: 'api-key',
    amr: [],
    ...(scopes ? { scopes } : {}),
    claims: {},
  });
  const verifier = (p: Principal | undefined | Error): ApiKeyVerifier & { seen: string[] } => {
    const seen: string[] = [];
    return {
      seen,
      verify: async (k) => {
        seen.push(k);
        if (p instanceof Error) throw p;
        return k === 'rk_live_good' ? p : undefined;
      },
    };
  };
  const withKey = (key: string, header = 'x-api-key', route = testRoute()) =>
    testContext({ clock, route, headers: { [header]: key } });

  it('authenticates a valid key and sends its owner upstream', async () => {
    const ctx = withKey('rk_live_good');
    expect(await run(build({}, { apiKeys: verifier(keyPrincipal()) }), ctx)).toBeUndefined();
    expect(ctx.principal).toMatchObject({ id: 'key-owner-1', kind: 'api-key' });
    expect(ctx.upstreamHeaders['x-authenticated-user']).toBe('key-owner-1');
    expect(ctx.upstreamHeaders['x-authenticated-issuer']).toBe('api-key');
  });

  it('rejects an unknown key with 401, and a key header repeated', async () => {
    const v = verifier(keyPrincipal());
    const d = await run(build({}, { apiKeys: v }), withKey('rk_live_bad'));
    expect(d?.problem).toMatchObject({
      status: 401,
      type: 'https://rampart.dev/problems/unauthenticated',
      detail: 'The API key is not valid',
    });
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer realm="rampart"' });
    const twice = await run(build({}, { apiKeys: v }), withKey('rk_live_good, rk_live_good'));
    expect(twice?.problem.status).toBe(401);
    expect(v.seen).toEqual(['rk_live_bad']);
  });

  it('uses the configured header name', async () => {
    const ctx = withKey('rk_live_good', 'x-shop-key');
    expect(
      await run(build({ apiKeyHeader: 'X-Shop-Key' }, { apiKeys: verifier(keyPrincipal()) }), ctx),
    ).toBeUndefined();
    expect(ctx.principal?.kind).toBe('api-key');
  });

  it('enforces scopes: operationId, METHOD /template, api:<name>; out of scope → 403', async () => {
    for (const scopes of [
      ['getOrder'],
      ['GET /orders/{orderId}'],
      ['get /v1/orders/{orderId}'],
      ['api:shop'],
      ['*'],
    ]) {
      const ctx = withKey('rk_live_good');
      expect(
        await run(build({}, { apiKeys: verifier(keyPrincipal(scopes)) }), ctx),
        scopes.join(),
      ).toBeUndefined();
    }
    for (const scopes of [['listOrders'], ['POST /orders/{orderId}'], ['api:shopping'], []]) {
      const ctx = withKey('rk_live_good');
      const d = await run(build({}, { apiKeys: verifier(keyPrincipal(scopes)) }), ctx);
      expect(d?.problem, scopes.join()).toMatchObject({
        status: 403,
        type: 'https://rampart.dev/problems/forbidden',
      });
      // Authenticated, not authorized: the principal stays so the gateway's denied event names the key.
      expect(ctx.principal?.id).toBe('key-owner-1');
      expect(ctx.upstreamHeaders).toEqual({});
    }
    expect(inScope(undefined, testRoute())).toBe(true);
  });

  it('answers 503 when the verifier fails (store down), without leaking the error', async () => {
    const d = await run(
      build({}, { apiKeys: verifier(new Error('connection refused to db at 10.0.0.5')) }),
      withKey('rk_live_good'),
    );
    expect(d?.problem).toMatchObject({
      status: 503,
      detail: 'API keys cannot be verified right now, try again later',
    });
    expect(JSON.stringify(d)).not.toContain('10.0.0.5');
  });

  it('apiKeys: false ignores the header', async () => {
    const d = await run(
      build({ apiKeys: false }, { apiKeys: verifier(keyPrincipal()) }),
      withKey('rk_live_good'),
    );
    expect(d?.problem.type).toBe('https://rampart.dev/problems/unauthenticated');
    expect(d?.problem.detail).toBe('Credentials are required');
  });
});

describe('claim paths', () => {
  it('reads nested paths and whole keys containing dots', () => {
    const claims = { realm_access: { roles: ['a'] }, 'https://x.example/roles': ['b'], a: { 'b.c': 1 } };
    expect(claimAt(claims, 'realm_access.roles')).toEqual(['a']);
    expect(claimAt(claims, 'https://x.example/roles')).toEqual(['b']);
    expect(claimAt(claims, 'a.b.c')).toBe(1);
    expect(claimAt(claims, 'nope.x')).toBeUndefined();
  });
});

describe('authenticate: decisions the mutation run found untested (#19)', () => {
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
  const P = 'https://rampart.dev/problems/';

  it("an operation's own non-empty security requirement is never public (default: required)", async () => {
    const own = testRoute({ operation: { raw: { security: [{ bearerAuth: [] }], responses: {} } } });
    const d = await run(build(), testContext({ clock, route: own }));
    expect(d?.problem.type).toBe(P + 'unauthenticated');
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer realm="rampart"' });
  });

  it('x-rampart auth: optional lets anonymous callers through a secured operation, and checks sent tokens', async () => {
    const route = testRoute({ rampart: { auth: 'optional' } });
    expect(await run(build(), testContext({ clock, route }))).toBeUndefined();
    expectInvalidToken(await run(build(), bearer('a.b.c', {}, route)), REJECTIONS.malformed.description);
  });

  it('onPublic: ignore still demands credentials on secured operations, and ignores them on `security: []` ones', async () => {
    const policy = build({ onPublic: 'ignore' });
    const d = await run(policy, testContext({ clock }));
    expect(d?.problem.type).toBe(P + 'unauthenticated');
    const explicit = testRoute({ security: [], operation: { raw: { security: [], responses: {} } } });
    expect(await run(policy, bearer('a.b.c', {}, explicit))).toBeUndefined();
  });

  it('a Bearer header without a token is malformed; other six-letter schemes and "Bearerxyz" are not bearer', async () => {
    expectInvalidToken(
      await run(build(), testContext({ clock, headers: { authorization: 'Bearer   ' } })),
      REJECTIONS.malformed.description,
    );
    expect(bearerToken('Bearer')).toBeNull();
    expect(bearerToken('Digest abc')).toBeUndefined();
    expect(bearerToken('Bearerxyz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeNull();
    expect(bearerToken('bearer t0k')).toBe('t0k');
    expect(bearerToken('BEARER  t0k')).toBe('t0k');
  });

  it('a token of exactly maxTokenLength is verified (the limit is inclusive)', async () => {
    const token = await signToken(own, ownClaims());
    expect(await run(build({ maxTokenLength: token.length }), bearer(token))).toBeUndefined();
    expectInvalidToken(
      await run(build({ maxTokenLength: token.length - 1 }), bearer(token)),
      REJECTIONS.tooLarge.description,
    );
  });

  it('a header or payload that is JSON but not an object is malformed', async () => {
    const [h, p, s] = (await signToken(own, ownClaims())).split('.');
    for (const v of [5, 'x', true])
      expectInvalidToken(await run(build(), bearer(`${enc(v)}.${p}.${s}`)), REJECTIONS.malformed.description);
    expectInvalidToken(await run(build(), bearer(`${h}.${enc(7)}.${s}`)), REJECTIONS.malformed.description);
  });

  it('alg none is refused as an algorithm before any issuer or kid is looked at', async () => {
    for (const alg of ['none', 'NONE', 'nOnE']) {
      const t = `${enc({ alg, typ: 'at+jwt' })}.${enc({ iss: 'https://nobody.test', sub: 'x' })}.sig`;
      expectInvalidToken(await run(build(), bearer(t)), REJECTIONS.algorithm.description);
    }
    const noAlg = `${enc({ typ: 'at+jwt', kid: 'own-2' })}.${enc(ownClaims())}.sig`;
    expectInvalidToken(await run(build(), bearer(noAlg)), REJECTIONS.algorithm.description);
  });

  it('an empty kid, an empty sub and a non-numeric exp or iat are refused with their own reasons', async () => {
    expectInvalidToken(
      await run(build(), bearer(await signToken(own, ownClaims(), { kid: '' }))),
      REJECTIONS.noKeyId.description,
    );
    expectInvalidToken(
      await run(build(), bearer(await signToken(own, ownClaims({ sub: '' })))),
      REJECTIONS.missingSub.description,
    );
    expectInvalidToken(
      await run(build(), bearer(await signToken(own, ownClaims({ exp: 'soon' })))),
      REJECTIONS.claims.description,
    );
    expectInvalidToken(
      await run(build(), bearer(await signToken(own, ownClaims({ iat: 'now' })))),
      REJECTIONS.claims.description,
    );
  });

  it('iat exactly at now + clockTolerance is accepted, one second later is not', async () => {
    const at = await signToken(own, ownClaims({ iat: NOW + 30 }));
    expect(await run(build({ clockTolerance: 30 }), bearer(at))).toBeUndefined();
    const after = await signToken(own, ownClaims({ iat: NOW + 31 }));
    expectInvalidToken(
      await run(build({ clockTolerance: 30 }), bearer(after)),
      REJECTIONS.issuedInFuture.description,
    );
  });

  it('the principal carries acr and auth_time only when the token has usable ones; no roles → an empty header', async () => {
    const ctx = bearer(
      await signToken(own, ownClaims({ roles: [], auth_time: 'yesterday', acr: undefined })),
    );
    expect(await run(build(), ctx)).toBeUndefined();
    expect(ctx.principal).toBeDefined();
    expect('authTime' in ctx.principal!).toBe(false);
    expect('acr' in ctx.principal!).toBe(false);
    expect(ctx.upstreamHeaders['x-authenticated-roles']).toBe('');
    const nul = bearer(await signToken(own, ownClaims({ jti: 'j2', auth_time: null })));
    expect(await run(build(), nul)).toBeUndefined();
    expect('authTime' in nul.principal!).toBe(false);
  });

  it('with no issuer at all every token is from an untrusted issuer; with external issuers only, theirs are accepted', async () => {
    const none = build({ localTokens: false });
    expectInvalidToken(
      await run(none, bearer(await signToken(own, ownClaims()))),
      REJECTIONS.issuer.description,
    );
    expectInvalidToken(await run(none, bearer('not-a-jwt')), REJECTIONS.issuer.description);
    const onlyOkta = build({ localTokens: false, issuers: externalIssuers().slice(0, 1) });
    const token = await signToken(
      okta,
      { iss: OKTA_ISS, aud: 'api://default', sub: 'okta-user', iat: NOW - 5, exp: NOW + 300 },
      { typ: 'JWT' },
    );
    const ctx = bearer(token);
    expect(await run(onlyOkta, ctx)).toBeUndefined();
    expect(ctx.principal?.id).toBe('okta-user');
    expectInvalidToken(await run(onlyOkta, bearer('not-a-jwt')), REJECTIONS.malformed.description);
  });

  it('an external token with an empty subject or an iat in the future is refused', async () => {
    const policy = build({ localTokens: false, issuers: externalIssuers().slice(0, 1) });
    const sign = (claims: Record<string, unknown>) =>
      signToken(
        okta,
        { iss: OKTA_ISS, aud: 'api://default', sub: 'u', iat: NOW - 5, exp: NOW + 300, ...claims },
        { typ: 'JWT' },
      );
    expectInvalidToken(await run(policy, bearer(await sign({ sub: '' }))), REJECTIONS.missingSub.description);
    expectInvalidToken(
      await run(policy, bearer(await sign({ iat: NOW + 3600 }))),
      REJECTIONS.issuedInFuture.description,
    );
    expect(await run(policy, bearer(await sign({ iat: NOW + 30 })))).toBeUndefined();
  });

  it('an out-of-scope API key gets 403 forbidden without a Bearer challenge', async () => {
    const apiKeys: ApiKeyVerifier = {
      verify: async () => ({
        id: 'k',
        kind: 'api-key',
        roles: [],
        issuer: 'api-key',
        amr: [],
        scopes: ['listOrders'],
        claims: {},
      }),
    };
    const d = await run(
      build({}, { apiKeys }),
      testContext({ clock, headers: { 'x-api-key': 'rk_live_k' } }),
    );
    expect(d?.problem).toMatchObject({ status: 403, type: P + 'forbidden' });
    expect(d?.headers).toBeUndefined();
  });

  it('an empty, oversized or repeated API key is refused without asking the store', async () => {
    const seen: string[] = [];
    const apiKeys: ApiKeyVerifier = {
      verify: async (k) => {
        seen.push(k);
        return undefined;
      },
    };
    const policy = build({}, { apiKeys });
    for (const key of ['', 'k'.repeat(1025), 'a,b']) {
      const d = await run(policy, testContext({ clock, headers: { 'x-api-key': key } }));
      expect(d?.problem.detail, JSON.stringify(key.slice(0, 10))).toBe(REJECTIONS.apiKey.description);
    }
    expect(seen).toEqual([]);
    await run(policy, testContext({ clock, headers: { 'x-api-key': 'k'.repeat(1024) } }));
    expect(seen).toEqual(['k'.repeat(1024)]);
  });

  it('inScope: an unrelated operationId, api name or method/template grants nothing', () => {
    const route = testRoute({ method: 'get', template: '/orders/{orderId}', api: 'shop', base: '/v1' });
    expect(inScope(['listOrders'], route)).toBe(false);
    expect(inScope(['api:shopx', 'api:hop', 'api:'], route)).toBe(false);
    expect(inScope(['api:shop'], route)).toBe(true);
    expect(inScope(['POST /orders/{orderId}', 'GET /orders', ' GET /orders/{orderId}'], route)).toBe(false);
    expect(inScope(['GET  /orders/{orderId} '], route)).toBe(true);
    expect(inScope(['get /v1/orders/{orderId}'], route)).toBe(true);
    expect(inScope(['GET /v2/orders/{orderId}'], route)).toBe(false);
    expect(inScope([], route)).toBe(false);
  });
});
