/**
 * The `mfa` policy (priority 500): multi-factor and step-up authentication, enforced
 * from the verified token's `amr` (RFC 8176), `acr` and `auth_time` (OIDC Core §2,
 * ASVS 6.8.4). Unmet requirements answer with the RFC 9470 challenge:
 *
 *   401  WWW-Authenticate: Bearer error="insufficient_user_authentication",
 *        error_description="…", acr_values="…", max_age="300"
 *
 * Requirements come from the operation (`x-rampart: { mfa: required }`,
 * `{ mfa: { stepUp: { maxAge: 300 } } }`, `{ mfa: { acr: [...] } }`) and from the policy
 * (`requireFor.roles`, default `admin`: administrators need MFA on every operation).
 * See docs/policies/mfa.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Principal } from '../../../core/auth.ts';
import { problem, type ProblemCode } from '../../../core/errors.ts';
import {
  definePolicy,
  deny,
  type Denial,
  type PolicyHooks,
  type RequestContext,
  type RouteInfo,
} from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

export const MFA_PRIORITY = PRIORITIES.mfa;

/** Okta: at least two factors (`urn:okta:loa:2fa:any:ifpossible` is NOT included: it may be one). */
export const OKTA_2FA = 'urn:okta:loa:2fa:any';
/** OpenID PAPE multi-factor policy URI, as Auth0 and others send in `acr`. */
export const PAPE_MULTI_FACTOR = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';
/** The built-in identity service's two-factor acr (src/identity/tokens.ts `ACR.mfa`). */
export const RAMPART_MFA = 'urn:rampart:acr:mfa';

export const mfaSchema = Type.Object(
  {
    requireFor: Type.Object(
      {
        roles: Type.Array(Type.String({ minLength: 1 }), {
          description: 'Principals with any of these roles need MFA on every operation (admin APIs first).',
          default: ['admin'],
        }),
        apis: Type.Array(Type.String({ minLength: 1 }), {
          description: 'APIs (by name) whose every operation needs MFA.',
          default: [],
        }),
        all: Type.Boolean({ description: 'Every authenticated operation needs MFA.', default: false }),
      },
      {
        additionalProperties: false,
        default: {},
        description: "Where MFA is required regardless of the operation's x-rampart.",
      },
    ),
    acrValues: Type.Array(Type.String({ minLength: 1 }), {
      description:
        'acr values that count as MFA from any issuer. Use globally unique URIs here; issuer-local values (Keycloak "2") belong in the issuer\'s authenticate acrMapping.',
      default: [RAMPART_MFA, OKTA_2FA, PAPE_MULTI_FACTOR],
    }),
    amrCombinations: Type.Array(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }), {
      minItems: 1,
      description:
        "MFA is satisfied when the token's amr contains every value of one of these sets (RFC 8176 values).",
      default: [['mfa'], ['pwd', 'otp'], ['hwk', 'user'], ['swk', 'user']],
    }),
    apiKeys: Type.Union([Type.Literal('deny'), Type.Literal('allow')], {
      description:
        'API-key principals on operations that need MFA: deny (403; machines cannot do MFA) or allow.',
      default: 'deny',
    }),
    challengeAcrValues: Type.Array(
      Type.String({ minLength: 1, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }),
      {
        description:
          'acr_values to send in the RFC 9470 challenge when MFA (rather than a specific acr) is missing, e.g. [urn:okta:loa:2fa:any]. Empty: none sent.',
        default: [],
      },
    ),
    clockTolerance: Type.Integer({
      minimum: 0,
      maximum: 300,
      description:
        'Seconds of clock skew tolerated when auth_time is compared with now and with iat (an auth_time later than either by more than this never satisfies a step-up maxAge).',
      default: 30,
    }),
  },
  {
    additionalProperties: false,
    description: 'Multi-factor and step-up authentication (RFC 9470 challenges).',
  },
);

export type MfaOptions = Static<typeof mfaSchema>;

/** An acr value that can sit inside a quoted challenge parameter (no space, quote or backslash). */
const ACR_PATTERN = '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$';

/** `x-rampart.mfa`, validated when the document loads (a typo is an error, never "no MFA"). */
export const mfaKey = Type.Union(
  [
    Type.Literal('required'),
    Type.Literal('optional'),
    Type.Literal('off'),
    Type.Boolean(),
    Type.Object(
      {
        required: Type.Optional(
          Type.Boolean({ description: 'A second factor is required (default true).', default: true }),
        ),
        acr: Type.Optional(
          Type.Array(Type.String({ minLength: 1, pattern: ACR_PATTERN }), {
            minItems: 1,
            description: "The token's acr must be one of these.",
          }),
        ),
        stepUp: Type.Optional(
          Type.Object(
            {
              maxAge: Type.Integer({
                minimum: 0,
                description: 'Seconds since the last active authentication (auth_time), at most.',
              }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      'MFA on this operation: required / true, optional / off / false, or { required, acr: [...], stepUp: { maxAge } } (RFC 9470 step-up).',
    examples: ['required', { stepUp: { maxAge: 300 } }],
  },
);

/** What one operation asks for, parsed once from `x-rampart.mfa`. */
export interface MfaRequirement {
  /** A second factor is required. */
  mfa: boolean;
  /** The principal's acr must be one of these. */
  acr: readonly string[] | undefined;
  /** Seconds since the last active authentication (`auth_time`) at most. */
  maxAge: number | undefined;
}

const NONE: MfaRequirement = Object.freeze({ mfa: false, acr: undefined, maxAge: undefined });
const REQUIRED: MfaRequirement = Object.freeze({ mfa: true, acr: undefined, maxAge: undefined });
const requirementCache = new WeakMap<object, MfaRequirement>();

/**
 * Parses `x-rampart.mfa`: `required` / `true`; `optional` / `off` / `false`; or
 * `{ required?: boolean = true, acr?: string[], stepUp?: { maxAge: seconds } }`.
 * Anything else is a contract error and fails closed (MFA required).
 * @example
 * mfaRequirement({ mfa: { stepUp: { maxAge: 300 } } }) // { mfa: true, acr: undefined, maxAge: 300 }
 */
export function mfaRequirement(rampart: Readonly<Record<string, unknown>>): MfaRequirement {
  const cached = requirementCache.get(rampart);
  // Stryker disable next-line ConditionalExpression: the cache only saves re-parsing; the answer is the same
  if (cached) return cached;
  const v = rampart.mfa;
  // Read through the declared schema; a value that does not pass it (a document loaded
  // without validation, a malformed acr list or stepUp) fails closed: MFA required.
  const r = v === undefined ? NONE : Value.Check(mfaKey, v) ? parseRequirement(v) : REQUIRED;
  requirementCache.set(rampart, r);
  return r;
}

/** An `x-rampart.mfa` value that passed the schema (acr values are challenge-safe there). */
function parseRequirement(v: Static<typeof mfaKey>): MfaRequirement {
  if (v === false || v === 'optional' || v === 'off') return NONE;
  // Stryker disable next-line ConditionalExpression,LogicalOperator,BooleanLiteral,StringLiteral: the object branch below reads true and 'required' as { mfa: true } too
  if (v === true || v === 'required') return REQUIRED;
  return Object.freeze({
    mfa: v.required !== false,
    acr: v.acr !== undefined ? Object.freeze([...v.acr]) : undefined,
    maxAge: v.stepUp?.maxAge,
  });
}

const DESCRIBE = {
  mfa: 'Multi-factor authentication is required',
  acr: 'A different authentication level is required',
  recent: 'More recent authentication is required',
  apiKey: 'This operation requires multi-factor authentication, which API keys cannot provide',
  enroll: 'Enroll a second factor before using this operation',
  anonymous: 'Credentials are required',
} as const;

/**
 * The `mfa` policy definition.
 * @example
 * // rampart.yaml
 * // policies:
 * //   mfa: { requireFor: { roles: [admin, support] }, challengeAcrValues: ['urn:okta:loa:2fa:any'] }
 */
export const mfa = definePolicy({
  name: 'mfa',
  priority: MFA_PRIORITY,
  schema: mfaSchema,
  xRampart: { mfa: mfaKey },
  create: createMfa,
});

export default mfa;

/** Needs no services: everything it reads is on the principal and the route. */
function createMfa(options: MfaOptions): PolicyHooks {
  const roles = new Set(options.requireFor.roles);
  const apis = new Set(options.requireFor.apis);
  const all = options.requireFor.all;
  const acrValues = new Set(options.acrValues);
  const combinations = options.amrCombinations;
  const allowApiKeys = options.apiKeys === 'allow';
  const challengeAcr = options.challengeAcrValues.join(' ');
  const tolerance = options.clockTolerance;

  /**
   * OIDC max_age semantics: seconds elapsed since the last active authentication. An
   * auth_time after the token's own iat, or after now (each beyond the clock tolerance),
   * is no authentication that happened: without this lower bound `auth_time = now + 1 day`
   * would satisfy every maxAge for a day.
   */
  function recentEnough(p: Principal, maxAge: number, nowSeconds: number): boolean {
    const authTime = p.authTime;
    // Stryker disable next-line ConditionalExpression: an undefined auth_time fails the comparisons below as well (NaN)
    if (authTime === undefined || authTime > nowSeconds + tolerance) return false;
    const iat = p.claims.iat;
    // Stryker disable next-line ConditionalExpression: authTime > undefined + tolerance is false (NaN)
    if (typeof iat === 'number' && authTime > iat + tolerance) return false;
    return nowSeconds - authTime <= maxAge;
  }

  function hasMfa(p: Principal): boolean {
    // Stryker disable next-line ConditionalExpression: the set never holds undefined
    if (p.acr !== undefined && acrValues.has(p.acr)) return true;
    const amr = p.amr;
    next: for (const combination of combinations) {
      for (const v of combination) if (!amr.includes(v)) continue next;
      return true;
    }
    return false;
  }

  function byRole(p: Principal): boolean {
    for (const r of p.roles) if (roles.has(r)) return true;
    return false;
  }

  // The gateway emits the `denied` event (with the principal) for every denial: no event here.
  function refuse(
    code: ProblemCode,
    detail: string,
    extra: Record<string, unknown> = {},
    headers?: Record<string, string>,
  ): Denial {
    return deny(problem(code, { detail, ...extra }), headers);
  }

  return {
    // Compiled per operation: the operation's requirement is parsed once, and an operation
    // on which no rule can ever apply gets no mfa step at all.
    forRoute(route: RouteInfo) {
      const op = mfaRequirement(route.rampart);
      const byPolicy = all || apis.has(route.api);
      // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: with the next line, a fast path only — check() passes such operations anyway
      const opRule = op.mfa || op.acr !== undefined || op.maxAge !== undefined;
      // Stryker disable next-line ConditionalExpression,LogicalOperator,BooleanLiteral: as above
      if (!opRule && !byPolicy && roles.size === 0) return undefined;
      return { onRequest: (ctx: RequestContext) => check(ctx, op, byPolicy) };
    },
  };

  /** One request against the operation's compiled requirement. */
  function check(ctx: RequestContext, op: MfaRequirement, byPolicy: boolean): Denial | undefined {
    const p = ctx.principal;
    if (p === undefined) {
      // Anonymous callers on public operations are not this policy's business, whatever
      // requireFor says ("every authenticated operation"). But an operation whose own
      // contract asks for MFA and that let an anonymous caller through authenticate is a
      // contract mistake (e.g. `security: []` with `mfa: required`): fail closed.
      if (!op.mfa && op.acr === undefined && op.maxAge === undefined) return undefined;
      return refuse('unauthenticated', DESCRIBE.anonymous, {}, { 'www-authenticate': 'Bearer' });
    }
    const needMfa = op.mfa || byPolicy || byRole(p);
    if (!needMfa && op.acr === undefined && op.maxAge === undefined) return undefined;

    if (p.kind === 'api-key') {
      if (allowApiKeys) return undefined;
      return refuse('forbidden', DESCRIBE.apiKey);
    }

    const missingMfa = needMfa && !hasMfa(p);
    // Stryker disable next-line ConditionalExpression: op.acr never includes undefined
    const acrOk = op.acr === undefined || (p.acr !== undefined && op.acr.includes(p.acr));
    // OIDC max_age semantics: seconds elapsed since the last active authentication.
    const fresh = op.maxAge === undefined || recentEnough(p, op.maxAge, ctx.clock.now() / 1000);
    if (!missingMfa && acrOk && fresh) return undefined;

    if (missingMfa && p.claims.mfa_enrollment_required === true) {
      // No second factor to step up with: the client must send the user to enrollment first.
      return refuse('mfa-enrollment-required', DESCRIBE.enroll);
    }

    const description = missingMfa ? DESCRIBE.mfa : !acrOk ? DESCRIBE.acr : DESCRIBE.recent;
    const acrValuesParam = op.acr !== undefined ? op.acr.join(' ') : needMfa ? challengeAcr : '';
    // RFC 9470 §3: acr_values and/or max_age tell the client what the new token must satisfy;
    // both are sent whenever configured, so one re-authentication satisfies everything.
    let challenge = `Bearer error="insufficient_user_authentication", error_description="${description}"`;
    const extra: Record<string, unknown> = {};
    if (acrValuesParam !== '') {
      challenge += `, acr_values="${acrValuesParam}"`;
      extra.acr_values = acrValuesParam;
    }
    if (op.maxAge !== undefined) {
      challenge += `, max_age="${op.maxAge}"`;
      extra.max_age = op.maxAge;
    }
    return refuse('insufficient-user-authentication', description, extra, {
      'www-authenticate': challenge,
    });
  }
}
