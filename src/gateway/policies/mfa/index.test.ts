import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import type { Denial } from '../../policy.ts';
import {
  buildPolicy,
  testContext,
  testRoute,
  testServices,
  type TestContext,
  type TestPolicy,
} from '../test-context.ts';
import { authenticate } from '../authenticate/index.ts';
import {
  keyPair,
  signToken,
  startIssuerServer,
  type IssuerServer,
  type TestKeyPair,
} from '../authenticate/testing.ts';
import { mfa, mfaRequirement, OKTA_2FA, PAPE_MULTI_FACTOR } from './index.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW = T0 / 1000;

let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock(T0);
});

function user(extra: Partial<Principal> = {}): Principal {
  return {
    id: 'u1',
    kind: 'user',
    roles: ['customer'],
    issuer: 'https://id.rampart.test',
    amr: ['pwd'],
    claims: {},
    ...extra,
  };
}

function build(options: Record<string, unknown> = {}): TestPolicy {
  return buildPolicy(mfa, options, testServices({ clock }));
}

function ctxFor(
  principal: Principal | undefined,
  rampart: Record<string, unknown> = {},
  extra: { api?: string } = {},
): TestContext {
  return testContext({ clock, route: testRoute({ rampart, ...extra }), ...(principal ? { principal } : {}) });
}

/** A 401 from mfa is the RFC 6750/9470 challenge, not just a status. */
function challenged(d: Denial | undefined): string | undefined {
  if (d?.problem.status !== 401) return `status ${d?.problem.status}`;
  if (d.problem.type !== 'https://rampart.dev/problems/insufficient-user-authentication')
    return d.problem.type;
  const h = d.headers?.['www-authenticate'];
  return typeof h === 'string' && h.startsWith('Bearer error="insufficient_user_authentication"')
    ? 'challenge'
    : `header ${h}`;
}

function run(policy: TestPolicy, ctx: TestContext): Denial | undefined {
  const r = policy.onRequest(ctx);
  expect(r).not.toBeInstanceOf(Promise); // mfa never waits
  return (r as Denial | undefined) ?? undefined;
}

describe('mfa: requirements', () => {
  it('passes requests without a route, and operations without requirements', () => {
    const policy = build();
    expect(run(policy, testContext({ clock, route: null }))).toBeUndefined();
    expect(run(policy, ctxFor(user()))).toBeUndefined();
    expect(run(policy, ctxFor(undefined))).toBeUndefined();
  });

  it('mfa: required + password only → RFC 9470 challenge (exact header)', () => {
    const ctx = ctxFor(user(), { mfa: 'required' });
    const d = run(build(), ctx);
    expect(d?.problem).toMatchObject({
      status: 401,
      type: 'https://rampart.dev/problems/insufficient-user-authentication',
      detail: 'Multi-factor authentication is required',
    });
    expect(d?.headers).toEqual({
      'www-authenticate':
        'Bearer error="insufficient_user_authentication", error_description="Multi-factor authentication is required"',
    });
    expect(ctx.events).toEqual([]); // the gateway emits the one `denied` event per denial
  });

  it('satisfied by amr mfa, pwd+otp, hwk+user, swk+user; not by otp or hwk alone', () => {
    const policy = build();
    for (const amr of [
      ['mfa'],
      ['pwd', 'otp'],
      ['otp', 'pwd', 'mfa'],
      ['hwk', 'user'],
      ['swk', 'user', 'mfa'],
    ]) {
      expect(run(policy, ctxFor(user({ amr }), { mfa: 'required' })), amr.join()).toBeUndefined();
    }
    for (const amr of [[], ['otp'], ['hwk'], ['pwd', 'sms'], ['user']]) {
      expect(run(policy, ctxFor(user({ amr }), { mfa: 'required' }))?.problem.status, amr.join()).toBe(401);
    }
  });

  it('satisfied by an allowed acr (Okta 2fa, PAPE multi-factor, Rampart mfa); not by Okta 2fa:any:ifpossible', () => {
    const policy = build();
    for (const acr of [OKTA_2FA, PAPE_MULTI_FACTOR, 'urn:rampart:acr:mfa']) {
      expect(run(policy, ctxFor(user({ amr: [], acr }), { mfa: 'required' })), acr).toBeUndefined();
    }
    for (const acr of [
      'urn:okta:loa:2fa:any:ifpossible',
      'urn:okta:loa:1fa:any',
      '2',
      'urn:rampart:acr:pwd',
    ]) {
      expect(challenged(run(policy, ctxFor(user({ amr: [], acr }), { mfa: 'required' }))), acr).toBe(
        'challenge',
      );
    }
  });

  it('acrValues and amrCombinations are configurable', () => {
    const policy = build({ acrValues: ['gold'], amrCombinations: [['hwk', 'pin']] });
    expect(run(policy, ctxFor(user({ amr: [], acr: 'gold' }), { mfa: 'required' }))).toBeUndefined();
    expect(run(policy, ctxFor(user({ amr: ['hwk', 'pin'] }), { mfa: 'required' }))).toBeUndefined();
    expect(challenged(run(policy, ctxFor(user({ amr: ['mfa'] }), { mfa: 'required' })))).toBe('challenge');
  });

  it('sends the configured acr_values in the challenge', () => {
    const d = run(build({ challengeAcrValues: [OKTA_2FA] }), ctxFor(user(), { mfa: 'required' }));
    expect(d?.headers?.['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="Multi-factor authentication is required", acr_values="urn:okta:loa:2fa:any"',
    );
    expect(d?.problem.acr_values).toBe(OKTA_2FA);
  });

  it('joins several challenge acr_values with spaces (RFC 9470)', () => {
    const d = run(build({ challengeAcrValues: [OKTA_2FA, 'gold'] }), ctxFor(user(), { mfa: 'required' }));
    expect(d?.headers?.['www-authenticate']).toMatch(/, acr_values="urn:okta:loa:2fa:any gold"$/);
  });

  it('an acr list or a stepUp alone still refuses anonymous callers and checks the principal', () => {
    const policy = build({ requireFor: { roles: [] } });
    for (const mfa of [
      { required: false, acr: ['gold'] },
      { required: false, stepUp: { maxAge: 60 } },
    ]) {
      const d = run(policy, ctxFor(undefined, { mfa }));
      expect(d?.problem.type, JSON.stringify(mfa)).toBe('https://rampart.dev/problems/unauthenticated');
      expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer' });
    }
    const silver = run(policy, ctxFor(user({ acr: 'silver' }), { mfa: { required: false, acr: ['gold'] } }));
    expect(silver?.problem.type).toBe('https://rampart.dev/problems/insufficient-user-authentication');
    expect(silver?.headers?.['www-authenticate']).toMatch(/acr_values="gold"/);
    // A stepUp without MFA: a caller who needs no second factor must still be recent enough.
    const stale = user({ authTime: clock.now() / 1000 - 61 });
    const d = run(policy, ctxFor(stale, { mfa: { required: false, stepUp: { maxAge: 60 } } }));
    expect(d?.problem.detail).toBe('More recent authentication is required');
    expect(d?.headers?.['www-authenticate']).toMatch(/max_age="60"$/);
  });

  it('parses x-rampart mfa forms, failing closed on malformed ones', () => {
    expect(mfaRequirement({})).toEqual({ mfa: false, acr: undefined, maxAge: undefined });
    expect(mfaRequirement({ mfa: 'optional' }).mfa).toBe(false);
    expect(mfaRequirement({ mfa: true }).mfa).toBe(true);
    expect(mfaRequirement({ mfa: { stepUp: { maxAge: 300 } } })).toEqual({
      mfa: true,
      acr: undefined,
      maxAge: 300,
    });
    expect(mfaRequirement({ mfa: { required: false, stepUp: { maxAge: 60 } } })).toEqual({
      mfa: false,
      acr: undefined,
      maxAge: 60,
    });
    expect(mfaRequirement({ mfa: { acr: ['gold'] } })).toEqual({
      mfa: true,
      acr: ['gold'],
      maxAge: undefined,
    });
    for (const off of ['off', false, { required: false }])
      expect(mfaRequirement({ mfa: off }), JSON.stringify(off)).toEqual({
        mfa: false,
        acr: undefined,
        maxAge: undefined,
      });
    expect(mfaRequirement({ mfa: 'required' })).toEqual({ mfa: true, acr: undefined, maxAge: undefined });
    expect(mfaRequirement({ mfa: {} }).mfa).toBe(true); // `required` defaults to true
    expect(mfaRequirement({ mfa: { required: true, acr: ['a', 'b'] } }).acr).toEqual(['a', 'b']);
    expect(mfaRequirement({ mfa: 'yes please' }).mfa).toBe(true);
    expect(mfaRequirement({ mfa: { required: false, acr: [] } }).mfa).toBe(true);
    expect(mfaRequirement({ mfa: { required: false, stepUp: {} } }).mfa).toBe(true);
    expect(mfaRequirement({ mfa: { required: false, stepUp: { maxAge: 'soon' } } }).mfa).toBe(true);
    expect(mfaRequirement({ mfa: { required: false, acr: ['has "quote"'] } }).mfa).toBe(true);
  });
});

describe('mfa: step-up (auth_time, max_age)', () => {
  const stepUp = { mfa: { stepUp: { maxAge: 300 } } };

  it('passes a recent MFA authentication and challenges once it is older than maxAge (injected clock)', () => {
    const policy = build();
    const p = user({ amr: ['pwd', 'otp', 'mfa'], authTime: NOW - 100 });
    expect(run(policy, ctxFor(p, stepUp))).toBeUndefined();
    clock.advance(200_000); // exactly 300 s: still fine
    expect(run(policy, ctxFor(p, stepUp))).toBeUndefined();
    clock.advance(1_000);
    const d = run(policy, ctxFor(p, stepUp));
    expect(d?.problem).toMatchObject({
      status: 401,
      detail: 'More recent authentication is required',
      max_age: 300,
    });
    expect(d?.headers).toEqual({
      'www-authenticate':
        'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="300"',
    });
  });

  it('a future auth_time never satisfies maxAge: not beyond now, not beyond iat (each ± clockTolerance)', () => {
    const policy = build();
    const recent =
      'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="300"';
    for (const p of [
      user({ amr: ['mfa'], authTime: NOW + 86_400 }), // a day ahead: 0 ≤ maxAge without a lower bound
      user({ amr: ['mfa'], authTime: NOW + 31 }),
      user({ amr: ['mfa'], authTime: NOW - 10, claims: { iat: NOW - 100 } }), // authenticated after issuance
    ]) {
      const d = run(policy, ctxFor(p, stepUp));
      expect(d?.problem).toMatchObject({
        status: 401,
        type: 'https://rampart.dev/problems/insufficient-user-authentication',
        max_age: 300,
      });
      expect(d?.headers).toEqual({ 'www-authenticate': recent });
    }
    // Within the tolerance (skewed clocks) it still passes.
    expect(run(policy, ctxFor(user({ amr: ['mfa'], authTime: NOW + 30 }), stepUp))).toBeUndefined();
    expect(
      run(policy, ctxFor(user({ amr: ['mfa'], authTime: NOW - 10, claims: { iat: NOW - 40 } }), stepUp)),
    ).toBeUndefined();
    // A tolerance of 0 is exact.
    expect(
      run(build({ clockTolerance: 0 }), ctxFor(user({ amr: ['mfa'], authTime: NOW + 1 }), stepUp)),
    ).toMatchObject({
      problem: { status: 401 },
    });
  });

  it('challenges a token without auth_time', () => {
    const d = run(build(), ctxFor(user({ amr: ['mfa'] }), stepUp));
    expect(d?.headers?.['www-authenticate']).toContain('max_age="300"');
  });

  it('asks for MFA and recency in one challenge when both are missing', () => {
    const d = run(
      build({ challengeAcrValues: ['urn:rampart:acr:mfa'] }),
      ctxFor(user({ authTime: NOW - 1000 }), stepUp),
    );
    expect(d?.headers).toEqual({
      'www-authenticate':
        'Bearer error="insufficient_user_authentication", error_description="Multi-factor authentication is required", acr_values="urn:rampart:acr:mfa", max_age="300"',
    });
  });

  it('an operation acr list: acr_values names exactly those', () => {
    const rampart = { mfa: { acr: ['urn:example:loa:3', 'urn:example:loa:4'], stepUp: { maxAge: 60 } } };
    const d = run(build(), ctxFor(user({ amr: ['mfa'], acr: 'urn:example:loa:2', authTime: NOW }), rampart));
    expect(d?.headers).toEqual({
      'www-authenticate':
        'Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:loa:3 urn:example:loa:4", max_age="60"',
    });
    expect(
      run(build(), ctxFor(user({ amr: ['mfa'], acr: 'urn:example:loa:4', authTime: NOW }), rampart)),
    ).toBeUndefined();
  });
});

describe('mfa: policy-level requirements', () => {
  it('admins need MFA on every operation by default', () => {
    const policy = build();
    const d = run(policy, ctxFor(user({ roles: ['customer', 'admin'] })));
    expect(d?.problem.type).toBe('https://rampart.dev/problems/insufficient-user-authentication');
    expect(run(policy, ctxFor(user({ roles: ['admin'], amr: ['pwd', 'otp', 'mfa'] })))).toBeUndefined();
    expect(run(policy, ctxFor(user({ roles: ['customer'] })))).toBeUndefined();
  });

  it('requireFor: roles, apis, all', () => {
    expect(run(build({ requireFor: { roles: [] } }), ctxFor(user({ roles: ['admin'] })))).toBeUndefined();
    expect(
      challenged(run(build({ requireFor: { roles: ['support'] } }), ctxFor(user({ roles: ['support'] })))),
    ).toBe('challenge');
    const byApi = build({ requireFor: { apis: ['backoffice'] } });
    expect(challenged(run(byApi, ctxFor(user(), {}, { api: 'backoffice' })))).toBe('challenge');
    expect(run(byApi, ctxFor(user(), {}, { api: 'shop' }))).toBeUndefined();
    expect(challenged(run(build({ requireFor: { all: true } }), ctxFor(user())))).toBe('challenge');
  });

  it('an admin who must still enroll a second factor gets 403 mfa-enrollment-required', () => {
    const p = user({ roles: ['admin'], claims: { mfa_enrollment_required: true } });
    const ctx = ctxFor(p);
    const d = run(build(), ctx);
    expect(d?.problem).toMatchObject({
      status: 403,
      type: 'https://rampart.dev/problems/mfa-enrollment-required',
    });
    expect(d?.headers).toBeUndefined();
  });

  it('API keys on operations that need MFA: 403 unless allowed', () => {
    const key = user({ id: 'key-1', kind: 'api-key', roles: ['admin'], issuer: 'api-key', amr: [] });
    const d = run(build(), ctxFor(key, { mfa: 'required' }));
    expect(d?.problem).toMatchObject({ status: 403, type: 'https://rampart.dev/problems/forbidden' });
    expect(run(build({ apiKeys: 'allow' }), ctxFor(key, { mfa: 'required' }))).toBeUndefined();
    expect(run(build(), ctxFor(key))?.problem.status).toBe(403); // admin role
    expect(run(build(), ctxFor({ ...key, roles: ['service'] }))).toBeUndefined();
  });

  it('leaves anonymous callers on public operations alone, even with requireFor all/apis', () => {
    expect(run(build({ requireFor: { all: true } }), ctxFor(undefined))).toBeUndefined();
    expect(run(build({ requireFor: { apis: ['shop'] } }), ctxFor(undefined))).toBeUndefined();
    expect(run(build(), ctxFor(undefined, { mfa: 'optional' }))).toBeUndefined();
  });

  it('fails closed when an operation needs MFA but nobody authenticated', () => {
    const d = run(build(), ctxFor(undefined, { mfa: 'required' }));
    expect(d?.problem).toMatchObject({ status: 401, type: 'https://rampart.dev/problems/unauthenticated' });
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer' });
  });
});

describe('mfa after authenticate, with real external issuer tokens', () => {
  let idp: IssuerServer;
  let okta: TestKeyPair;
  let auth0: TestKeyPair;
  let keycloak: TestKeyPair;
  let issuers: Record<string, unknown>[];
  beforeAll(async () => {
    [okta, auth0, keycloak] = await Promise.all([
      keyPair('RS256', 'o1'),
      keyPair('ES256', 'a1'),
      keyPair('RS256', 'k1'),
    ]);
    idp = await startIssuerServer();
    issuers = [
      {
        issuer: idp.addIssuer({ path: '/okta', keys: [okta] }),
        audience: 'api://default',
        claimMapping: { roles: 'groups' },
        allowPrivate: true,
      },
      {
        issuer: idp.addIssuer({ path: '/auth0', keys: [auth0], trailingSlash: true }),
        audience: 'shop',
        allowPrivate: true,
        claimMapping: { roles: 'https://shop/roles' },
      },
      {
        issuer: idp.addIssuer({ path: '/kc', keys: [keycloak] }),
        audience: 'shop-api',
        allowPrivate: true,
        claimMapping: { roles: 'realm_access.roles' },
        acrMapping: { '2': ['mfa'] },
      },
    ];
  });
  afterAll(() => idp?.close());

  async function chain(token: string, rampart: Record<string, unknown>): Promise<Denial | undefined> {
    const services = testServices({ clock });
    const policies = [buildPolicy(authenticate, { issuers }, services), buildPolicy(mfa, {}, services)];
    const ctx = testContext({
      clock,
      route: testRoute({ rampart }),
      headers: { authorization: `Bearer ${token}` },
    });
    for (const p of policies) {
      const d = await p.onRequest(ctx);
      if (d) return d;
    }
    return undefined;
  }
  const base = (iss: string, aud: string) => ({
    iss,
    aud,
    sub: 's1',
    iat: NOW,
    exp: NOW + 600,
    auth_time: NOW - 10,
  });

  it('Okta: acr urn:okta:loa:2fa:any passes, 1fa gets the challenge', async () => {
    const iss = issuers[0]!.issuer as string;
    expect(
      await chain(await signToken(okta, { ...base(iss, 'api://default'), acr: OKTA_2FA }, { typ: 'JWT' }), {
        mfa: 'required',
      }),
    ).toBeUndefined();
    const d = await chain(
      await signToken(okta, { ...base(iss, 'api://default'), acr: 'urn:okta:loa:1fa:any' }, { typ: 'JWT' }),
      { mfa: 'required' },
    );
    expect(d?.problem.status).toBe(401);
    expect(d?.headers?.['www-authenticate']).toMatch(/^Bearer error="insufficient_user_authentication"/);
  });

  it('Auth0: amr ["mfa"] passes; no amr fails; step-up by auth_time', async () => {
    const iss = issuers[1]!.issuer as string;
    const stepUp = { mfa: { stepUp: { maxAge: 300 } } };
    expect(
      await chain(await signToken(auth0, { ...base(iss, 'shop'), amr: ['mfa'] }, { typ: 'JWT' }), stepUp),
    ).toBeUndefined();
    expect(
      (await chain(await signToken(auth0, base(iss, 'shop'), { typ: 'JWT' }), stepUp))?.problem.status,
    ).toBe(401);
    const old = await chain(
      await signToken(auth0, { ...base(iss, 'shop'), amr: ['mfa'], auth_time: NOW - 301 }, { typ: 'JWT' }),
      stepUp,
    );
    expect(old?.headers?.['www-authenticate']).toBe(
      'Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="300"',
    );
  });

  it('Keycloak: acr "2" passes for an admin, acr "1" does not (admin rule, no operation rule)', async () => {
    const iss = issuers[2]!.issuer as string;
    const kc = (acr: string) => ({ ...base(iss, 'shop-api'), acr, realm_access: { roles: ['admin'] } });
    expect(await chain(await signToken(keycloak, kc('2'), { typ: 'JWT' }), {})).toBeUndefined();
    expect((await chain(await signToken(keycloak, kc('1'), { typ: 'JWT' }), {}))?.problem.type).toBe(
      'https://rampart.dev/problems/insufficient-user-authentication',
    );
  });
});
