/**
 * authenticate: decisions the second mutation run (#19, docs/testing.md) found untested —
 * `default: required` with an operation's own security, an HMAC issuer that is the built-in
 * one, the INSECURE log line only for weak secrets, an API key header sent twice as an
 * array, a signature that is not base64url, what the logs say when the key store or the
 * issuer keys are down (never the key), close() dropping the cache, and `api:` scopes of
 * the same length or suffix. index.test.ts holds the rest; this file is separate so the
 * mutation run's incremental results of index.test.ts stay valid.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeyVerifier } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import { createLogger, type Logger } from '../../../core/logger.ts';
import type { Denial } from '../../policy.ts';
import {
  buildPolicy,
  testContext,
  testRoute,
  testServices,
  type TestContext,
  type TestPolicy,
} from '../test-context.ts';
import { authenticate, inScope, REJECTIONS } from './index.ts';
import { keyPair, signToken, TestLocalIssuer, type TestKeyPair } from './testing.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW = T0 / 1000;
const LOCAL_ISS = 'https://id.rampart.test';
const P = 'https://rampart.dev/problems/';
const STRONG = randomBytes(32).toString('base64url');

let clock: ManualClock;
let own: TestKeyPair;
let local: TestLocalIssuer;

beforeAll(async () => {
  own = await keyPair('ES256', 'own-1');
});
beforeEach(() => {
  clock = new ManualClock(T0);
  local = new TestLocalIssuer(LOCAL_ISS, 'rampart', [own]);
});

/** A JSON logger whose lines the test reads. */
function capture(): { log: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return {
    log: createLogger({ pretty: false, destination }),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => out.join(''),
  };
}

function build(
  options: Record<string, unknown> = {},
  services: Parameters<typeof testServices>[0] = {},
): TestPolicy {
  return buildPolicy(authenticate, options, testServices({ clock, localIssuer: local, ...services }));
}

async function run(policy: TestPolicy, ctx: TestContext): Promise<Denial | undefined> {
  return (await policy.onRequest(ctx)) ?? undefined;
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: LOCAL_ISS,
  aud: 'rampart',
  sub: 'user-1',
  iat: NOW - 10,
  exp: NOW + 300,
  ...extra,
});

const bearer = (token: string, route = testRoute()) =>
  testContext({ clock, route, headers: { authorization: `Bearer ${token}` } });

function expectInvalidToken(d: Denial | undefined, description: string): void {
  expect(d?.problem).toMatchObject({ status: 401, type: P + 'invalid-token', detail: description });
  expect(d?.headers?.['www-authenticate']).toBe(
    `Bearer realm="rampart", error="invalid_token", error_description="${description}"`,
  );
}

describe('authenticate: default required and the operation’s own security', () => {
  it('an operation whose own security is non-empty is never public, anonymous callers get the challenge', async () => {
    const policy = build({ default: 'required' });
    const secured = testRoute({ operation: { raw: { security: [{ bearerAuth: [] }], responses: {} } } });
    const d = await run(policy, testContext({ clock, route: secured }));
    expect(d?.problem).toMatchObject({ status: 401, type: P + 'unauthenticated' });
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer realm="rampart"' });
  });

  it('with onPublic: ignore, an operation’s own `security: []` is public: a bad token there is not even read', async () => {
    const policy = build({ default: 'required', onPublic: 'ignore' });
    const open = testRoute({ security: [], operation: { raw: { security: [], responses: {} } } });
    expect(policy.forRoute(open)).toBeUndefined();
    expect(await run(policy, bearer('not-a-token', open))).toBeUndefined();
    // …and without onPublic: ignore the bad token there is refused.
    expectInvalidToken(
      await run(build({ default: 'required' }), bearer('a.b.c', open)),
      REJECTIONS.malformed.description,
    );
  });
});

describe('authenticate: HMAC issuer configuration', () => {
  const hmac = (issuer: string, extra: Record<string, unknown> = {}) => ({
    issuer,
    audience: 'api',
    secret: STRONG,
    ...extra,
  });

  it('refuses an HMAC issuer that is the built-in issuer, and accepts it when the built-in issuer is off', () => {
    expect(() => build({ hmacIssuers: [hmac(LOCAL_ISS)] })).toThrow(
      `authenticate: issuer ${LOCAL_ISS} is the built-in issuer`,
    );
    expect(() => build({ localTokens: false, hmacIssuers: [hmac(LOCAL_ISS)] })).not.toThrow();
    expect(() => build({ hmacIssuers: [hmac('https://api.other.test')] })).not.toThrow();
  });

  it('logs the INSECURE line only for a weak secret, naming the policy and issuer, never the secret', () => {
    const strong = capture();
    build({ hmacIssuers: [hmac('https://api.strong.test')] }, { log: strong.log });
    expect(strong.lines()).toEqual([]);
    const weak = capture();
    build(
      { hmacIssuers: [hmac('https://api.weak.test', { secret: 'password1', allowWeakSecret: true })] },
      { log: weak.log },
    );
    expect(weak.lines()).toHaveLength(1);
    expect(weak.lines()[0]).toMatchObject({
      level: 50,
      policy: 'authenticate',
      issuer: 'https://api.weak.test',
    });
    expect(weak.lines()[0]!.msg).toMatch(/^INSECURE: allowWeakSecret is on/);
    expect(weak.text()).not.toContain('password1');
  });
});

describe('authenticate: token shapes jose refuses', () => {
  it('a signature part that is not base64url is malformed', async () => {
    const [h, p] = (await signToken(own, claims())).split('.');
    expectInvalidToken(await run(build(), bearer(`${h}.${p}.***`)), REJECTIONS.malformed.description);
  });

  it('an own token whose sub is not a string has no subject', async () => {
    expectInvalidToken(
      await run(build(), bearer(await signToken(own, claims({ sub: 42 })))),
      REJECTIONS.missingSub.description,
    );
  });
});

describe('authenticate: API keys', () => {
  it('a key header that arrives as an array (sent twice) is refused without asking the store', async () => {
    const seen: unknown[] = [];
    const apiKeys: ApiKeyVerifier = {
      verify: async (k) => {
        seen.push(k);
        return undefined;
      },
    };
    const policy = build({}, { apiKeys });
    const d = await run(
      policy,
      testContext({ clock, headers: { 'x-api-key': ['rk_a', 'rk_b'] as unknown as string } }),
    );
    expect(d?.problem).toMatchObject({ status: 401, detail: REJECTIONS.apiKey.description });
    expect(seen).toEqual([]);
  });

  it('a failing key store is 503 and logged by error name, never with the key', async () => {
    const c = capture();
    const apiKeys: ApiKeyVerifier = {
      verify: async () => {
        throw new RangeError('connection refused to db:5432');
      },
    };
    const d = await run(
      build({}, { apiKeys, log: c.log }),
      testContext({ clock, headers: { 'x-api-key': 'rk_secret_value' } }),
    );
    expect(d?.problem).toMatchObject({ status: 503, type: P + 'upstream-unavailable' });
    expect(c.lines()).toEqual([
      expect.objectContaining({
        level: 50,
        policy: 'authenticate',
        error: 'RangeError',
        msg: 'API key verification failed',
      }),
    ]);
    expect(c.text()).not.toContain('rk_secret_value');
  });

  it('inScope: an api: scope of the same length, or ending with the API name, is another API', () => {
    const route = testRoute({ api: 'shop' });
    expect(inScope(['api:shoq'], route)).toBe(false);
    expect(inScope(['api:myshop'], route)).toBe(false);
    expect(inScope(['api:shop'], route)).toBe(true);
  });
});

describe('authenticate: lifecycle and logs', () => {
  it('close() drops the token cache: the same token is verified again afterwards', async () => {
    const policy = build();
    const token = await signToken(own, claims());
    expect(await run(policy, bearer(token))).toBeUndefined();
    expect(policy.onRequest(bearer(token))).not.toBeInstanceOf(Promise); // answered from the cache
    await policy.hooks.close?.();
    expect(policy.onRequest(bearer(token))).toBeInstanceOf(Promise);
  });

  it('close() of a policy without a cache (cacheSize: 0) resolves', async () => {
    const policy = build({ cacheSize: 0 });
    const token = await signToken(own, claims());
    expect(policy.onRequest(bearer(token))).toBeInstanceOf(Promise); // nothing cached
    await expect(policy.hooks.close?.()).resolves.toBeUndefined();
  });

  it('unavailable issuer keys are 503 and logged with the reason', async () => {
    const c = capture();
    const issuer = 'http://127.0.0.1:9/unreachable';
    const policy = build({ issuers: [{ issuer, audience: 'api', allowPrivate: true }] }, { log: c.log });
    const external = await keyPair('RS256', 'k1');
    const token = await signToken(external, { ...claims(), iss: issuer, aud: 'api' }, { typ: 'JWT' });
    const d = await run(policy, bearer(token));
    expect(d?.problem).toMatchObject({ status: 503, type: P + 'upstream-unavailable' });
    expect(c.lines()).toContainEqual(
      expect.objectContaining({ level: 40, policy: 'authenticate', msg: 'token issuer keys unavailable' }),
    );
    await policy.hooks.close?.();
  });
});
