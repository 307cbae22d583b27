/**
 * End to end through real HTTP: client → gateway (TLS 1.3) → upstream, with the
 * `authenticate` and `mfa` policies, own ES256 tokens (a real LocalTokenIssuer) and an
 * Okta-shaped external issuer served by a real discovery + JWKS server on 127.0.0.1.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  keyPair,
  signToken,
  startIssuerServer,
  TestLocalIssuer,
  type IssuerServer,
  type TestKeyPair,
} from '../../src/gateway/policies/authenticate/testing.ts';
import { call, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

const SPEC = `openapi: 3.1.0
info: { title: Orders, version: 1.0.0 }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
security:
  - bearer: []
paths:
  /health:
    get:
      operationId: health
      security: []
      responses: { '200': { description: ok } }
  /orders/{orderId}:
    parameters:
      - { name: orderId, in: path, required: true, schema: { type: string } }
    get:
      operationId: getOrder
      responses: { '200': { description: ok } }
    delete:
      operationId: deleteOrder
      x-rampart:
        mfa: { stepUp: { maxAge: 300 } }
      responses: { '204': { description: deleted } }
`;

const LOCAL_ISS = 'https://id.rampart.e2e';
const AUD = 'rampart';

describe('authenticate + mfa through the gateway', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let gw: TestGateway;
  let idp: IssuerServer;
  let dir: string;
  let own: TestKeyPair;
  let okta: TestKeyPair;
  let oktaIss: string;
  let local: TestLocalIssuer;
  const now = () => Math.floor(gw.clock.now() / 1000);

  beforeAll(async () => {
    [own, okta] = await Promise.all([keyPair('ES256', 'e2e-1'), keyPair('RS256', 'okta-e2e')]);
    local = new TestLocalIssuer(LOCAL_ISS, AUD, [own]);
    idp = await startIssuerServer();
    oktaIss = idp.addIssuer({ path: '/oauth2/default', keys: [okta] });
    up = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'rampart-auth-e2e-'));
    const spec = join(dir, 'orders.yaml');
    await writeFile(spec, SPEC);
    gw = await startTestGateway(
      up.url,
      {
        apis: [{ name: 'orders', upstream: up.url, versions: [{ base: '/v1', spec }] }],
        policies: {
          authenticate: {
            issuers: [
              {
                issuer: oktaIss,
                audience: 'api://default',
                claimMapping: { roles: 'groups' },
                acrMapping: { 'urn:okta:loa:2fa:any': ['mfa'] },
                allowPrivate: true,
              },
            ],
          },
        },
      },
      [],
      { localIssuer: local },
    );
  });

  afterAll(async () => {
    await gw?.close();
    await up?.close();
    await idp?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const own$ = (extra: Record<string, unknown> = {}) =>
    signToken(own, {
      iss: LOCAL_ISS,
      aud: AUD,
      sub: 'user-42',
      iat: now(),
      exp: now() + 3600,
      jti: `j-${Math.random()}`,
      roles: ['customer'],
      amr: ['pwd', 'otp', 'mfa'],
      acr: 'urn:rampart:acr:mfa',
      auth_time: now(),
      ...extra,
    });

  const denials = () => gw.events.filter((e) => e.type === 'denied');

  it('401 with an RFC 6750 challenge when the token is missing; one denied event', async () => {
    const before = denials().length;
    const r = await call(`${gw.url}/v1/orders/1`);
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.headers['www-authenticate']).toBe('Bearer realm="rampart"');
    expect(r.json()).toMatchObject({ type: 'https://rampart.dev/problems/unauthenticated', status: 401 });
    expect(denials().slice(before)).toEqual([
      expect.objectContaining({ policy: 'authenticate', problem: 'unauthenticated' }),
    ]);
  });

  it('forwards an authenticated request with the verified identity, never the client-sent one (ASVS 4.1.3)', async () => {
    const r = await call(`${gw.url}/v1/orders/1`, {
      headers: {
        authorization: `Bearer ${await own$()}`,
        'x-authenticated-user': 'admin',
        'x-authenticated-roles': 'admin',
      },
    });
    expect(r.status).toBe(200);
    const seen = up.seen.at(-1)!;
    expect(seen.url).toBe('/v1/orders/1');
    expect(seen.headers['x-authenticated-user']).toBe('user-42');
    expect(seen.headers['x-authenticated-roles']).toBe('customer');
    expect(seen.headers['x-authenticated-issuer']).toBe(LOCAL_ISS);
    expect(seen.rawHeaders.filter((h) => h.toLowerCase() === 'x-authenticated-user')).toHaveLength(1);
  });

  it('public operation: anonymous passes, spoofed identity headers are dropped', async () => {
    const r = await call(`${gw.url}/v1/health`, { headers: { 'x-authenticated-user': 'admin' } });
    expect(r.status).toBe(200);
    expect(up.seen.at(-1)!.headers['x-authenticated-user']).toBeUndefined();
  });

  it('an expired token: 401 invalid_token', async () => {
    const r = await call(`${gw.url}/v1/orders/1`, {
      headers: { authorization: `Bearer ${await own$({ iat: now() - 7200, exp: now() - 3600 })}` },
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(
      'Bearer realm="rampart", error="invalid_token", error_description="The access token expired"',
    );
  });

  it('step-up: a fresh MFA login may delete; 301 s later the RFC 9470 challenge asks for max_age', async () => {
    const token = await own$();
    expect(
      (
        await call(`${gw.url}/v1/orders/7`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(200);
    gw.clock.advance(301_000);
    const r = await call(`${gw.url}/v1/orders/7`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="300"',
    );
    expect(r.json()).toMatchObject({
      type: 'https://rampart.dev/problems/insufficient-user-authentication',
      max_age: 300,
    });
    expect(denials().at(-1)).toMatchObject({
      policy: 'mfa',
      problem: 'insufficient-user-authentication',
      principal: 'user-42',
    });
    // …and a step-up demand for the monitor's MFA metrics.
    expect(gw.events.filter((e) => e.type === 'mfa').at(-1)).toMatchObject({
      outcome: 'step-up-required',
      principal: 'user-42',
      route: '/orders/{orderId}',
    });
    // Reading is still fine with the same token.
    expect(
      (await call(`${gw.url}/v1/orders/7`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
  });

  it('step-up: a signed token with auth_time a day ahead (or after its iat) gets the challenge', async () => {
    for (const token of [
      await own$({ auth_time: now() + 86_400 }),
      await own$({ iat: now() - 600, auth_time: now() - 60 }),
    ]) {
      const r = await call(`${gw.url}/v1/orders/7`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.status).toBe(401);
      expect(r.json()).toMatchObject({
        type: 'https://rampart.dev/problems/insufficient-user-authentication',
        max_age: 300,
      });
      expect(r.headers['www-authenticate']).toContain('max_age="300"');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('admins need MFA everywhere: a password-only admin token gets the challenge', async () => {
    const r = await call(`${gw.url}/v1/orders/1`, {
      headers: {
        authorization: `Bearer ${await own$({ roles: ['admin'], amr: ['pwd'], acr: 'urn:rampart:acr:pwd' })}`,
      },
    });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Multi-factor authentication is required"',
    );
  });

  it('an Okta token (acr urn:okta:loa:2fa:any, keys by discovery) passes the step-up operation', async () => {
    const t = now();
    const token = await signToken(
      okta,
      {
        iss: oktaIss,
        aud: 'api://default',
        sub: '00uOkta',
        iat: t,
        exp: t + 3600,
        acr: 'urn:okta:loa:2fa:any',
        auth_time: t,
        groups: ['admin'],
      },
      { typ: 'JWT' },
    );
    const r = await call(`${gw.url}/v1/orders/9`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.status).toBe(200);
    expect(up.seen.at(-1)!.headers['x-authenticated-user']).toBe('00uOkta');
    expect(up.seen.at(-1)!.headers['x-authenticated-roles']).toBe('admin');
  });
});
