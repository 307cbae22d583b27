/**
 * The `authenticate` policy (priority 400): who is calling.
 *
 * Credentials: `Authorization: Bearer <JWT>` from the built-in identity service or a
 * configured external OIDC issuer, or an API key header. Tokens are validated per
 * RFC 8725 (JWT BCP) and RFC 9068 (JWT access tokens): per-issuer asymmetric algorithm
 * allow-list (never `none`), `iss`, `aud`, `exp` (required), `iat`, `sub`, explicit
 * `typ`, a known `kid` from the issuer's own key set (never `jku`/`x5u`/`jwk`/`x5c`),
 * revocation for own tokens. Failures answer 401 with an RFC 6750 challenge.
 *
 * The hot path: a verified token is remembered (bounded LRU, until its `exp`), so a
 * repeat request costs a Map lookup plus the synchronous, cached `isRevoked` — and runs
 * without a promise. See docs/policies/authenticate.md.
 */
import type { KeyObject } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { ApiKeyVerifier, LocalTokenIssuer, Principal } from '../../../core/auth.ts';
import { problem, type ProblemCode } from '../../../core/errors.ts';
import type { Logger } from '../../../core/logger.ts';
import { Type } from '@sinclair/typebox';
import {
  definePolicy,
  deny,
  type Denial,
  type PolicyHooks,
  type PolicyResult,
  type PolicyServices,
  type RequestContext,
  type RouteInfo,
} from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { acrFrom, amrFrom, claimAt, headerSafe, rolesFrom } from './claims.ts';
import { ExternalIssuer, KeysUnavailable } from './external-issuer.ts';
import { HmacIssuer } from './hmac-issuer.ts';
import { ASYMMETRIC_ALGORITHMS, authenticateSchema, type AuthenticateOptions } from './schema.ts';
import { TokenCache, type VerifiedToken } from './token-cache.ts';

export { authenticateSchema, type AuthenticateOptions } from './schema.ts';

export const AUTHENTICATE_PRIORITY = PRIORITIES.authenticate;

/** `x-rampart.auth`: the operation's own say on credentials, over the policy's `default`. */
export const authKey = Type.Union(
  [Type.Literal('required'), Type.Literal('optional'), Type.Literal('public')],
  {
    description:
      'Credentials on this operation: required (401 without), optional (checked when sent), public (not asked for; ignored when sent with onPublic: ignore).',
    examples: ['public'],
  },
);

/** Upstream headers carrying the verified identity (the gateway drops client-sent copies, ASVS 4.1.3). */
export const UPSTREAM_USER = 'x-authenticated-user';
export const UPSTREAM_ROLES = 'x-authenticated-roles';
export const UPSTREAM_ISSUER = 'x-authenticated-issuer';

/** Own access tokens are RFC 9068 JWT access tokens. */
const LOCAL_TYP = 'at+jwt';

/**
 * Why a credential was not accepted. Descriptions are fixed strings (never token
 * content, never a library message) and go to the client as `detail` and RFC 6750
 * `error_description`.
 */
class Rejection {
  constructor(
    readonly code: ProblemCode,
    readonly description: string,
    /** RFC 6750 §3.1 error code for the challenge; none when credentials are simply missing. */
    readonly bearerError?: 'invalid_token' | 'invalid_request',
  ) {}
}

const invalid = (description: string) => new Rejection('invalid-token', description, 'invalid_token');

/** Every way a request can be rejected here, exported for tests and docs. */
export const REJECTIONS = {
  missing: new Rejection('unauthenticated', 'Credentials are required'),
  both: new Rejection('bad-request', 'Send either a bearer token or an API key, not both', 'invalid_request'),
  tooLarge: invalid('The access token is too large'),
  malformed: invalid('The access token is malformed'),
  algorithm: invalid('The token signing algorithm is not accepted'),
  keyReference: invalid('Key references in the token header (jku, x5u, jwk, x5c) are not accepted'),
  noKeyId: invalid('The access token has no key id (kid)'),
  unknownKey: invalid('The token signing key is unknown'),
  issuer: invalid('The token issuer is not trusted'),
  audience: invalid('The access token is not meant for this API'),
  typ: invalid('The token type (typ) is not accepted'),
  expired: invalid('The access token expired'),
  notYetValid: invalid('The access token is not valid yet'),
  issuedInFuture: invalid('The access token was issued in the future'),
  missingExp: invalid('The access token has no expiry (exp)'),
  missingIat: invalid('The access token has no issue time (iat)'),
  missingSub: invalid('The access token has no subject (sub)'),
  claims: invalid('The access token claims are not valid'),
  signature: invalid('The access token signature is invalid'),
  revoked: invalid('The access token was revoked'),
  invalid: invalid('The access token is not valid'),
  keysUnavailable: new Rejection(
    'upstream-unavailable',
    'The token issuer keys are unavailable, try again later',
  ),
  apiKey: new Rejection('unauthenticated', 'The API key is not valid'),
  apiKeyUnavailable: new Rejection(
    'upstream-unavailable',
    'API keys cannot be verified right now, try again later',
  ),
  scope: new Rejection('forbidden', 'The API key is not allowed to call this operation'),
} as const;

const R = REJECTIONS;

/** A principal with its upstream header values, computed once per verified token. */
interface Authenticated extends VerifiedToken {
  readonly userHeader: string;
  readonly rolesHeader: string;
  readonly issuerHeader: string;
}

type Need = 'required' | 'optional' | 'public';

const KEY_REFERENCE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const LOCAL_REQUIRED_CLAIMS = ['exp', 'iat', 'sub'];
const EXTERNAL_REQUIRED_CLAIMS = ['exp', 'iat'];
/** HMAC issuers: `exp` is required too (RFC 8725 §3.x; a token that never expires cannot be revoked at the gateway). */
const HMAC_REQUIRED_CLAIMS = ['exp', 'iat'];
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The `authenticate` policy definition.
 * @example
 * // rampart.yaml
 * // policies:
 * //   authenticate:
 * //     issuers:
 * //       - { issuer: https://dev-123.okta.com/oauth2/default, audience: api://default,
 * //           claimMapping: { roles: groups }, acrMapping: { 'urn:okta:loa:2fa:any': [mfa] } }
 */
export const authenticate = definePolicy({
  name: 'authenticate',
  priority: AUTHENTICATE_PRIORITY,
  schema: authenticateSchema,
  xRampart: { auth: authKey },
  create: createAuthenticate,
});

export default authenticate;

function createAuthenticate(options: AuthenticateOptions, services: PolicyServices): PolicyHooks {
  const log = services.log;
  const realm = options.realm;
  const tolerance = options.clockTolerance;
  const maxTokenLength = options.maxTokenLength;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a TokenCache of size 0 keeps nothing, the same as no cache
  const cache = options.cacheSize > 0 ? new TokenCache(options.cacheSize) : undefined;
  const ignorePublic = options.onPublic === 'ignore';
  const upstreamIdentity = options.upstreamIdentity;
  const contractMode = options.default === 'per-contract';

  const local: LocalTokenIssuer | undefined = options.localTokens ? services.localIssuer : undefined;
  const localAlgorithms = local
    ? local.algorithms.filter((a) => (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a))
    : // Stryker disable next-line ArrayDeclaration: without the built-in issuer its algorithm set is never read
      [];
  if (local && localAlgorithms.length === 0) {
    throw new Error(
      'authenticate: the built-in issuer offers no asymmetric signing algorithm (RFC 8725: no none, no HMAC at the gateway)',
    );
  }
  const localAlgorithmSet = new Set(localAlgorithms);

  const externals = new Map<string, ExternalIssuer>();
  for (const cfg of options.issuers) {
    if (externals.has(cfg.issuer)) throw new Error(`authenticate: issuer ${cfg.issuer} is configured twice`);
    if (local && cfg.issuer === local.issuer)
      throw new Error(`authenticate: issuer ${cfg.issuer} is the built-in issuer`);
    externals.set(cfg.issuer, new ExternalIssuer(cfg, services.resolve));
  }

  // HMAC issuers: the protected API's own tokens. An issuer has one kind of key, so an
  // issuer listed in both `issuers` and `hmacIssuers` (or equal to the built-in one) is refused.
  const hmacIssuers = new Map<string, HmacIssuer>();
  for (const cfg of options.hmacIssuers) {
    if (hmacIssuers.has(cfg.issuer) || externals.has(cfg.issuer))
      throw new Error(`authenticate: issuer ${cfg.issuer} is configured twice`);
    if (local && cfg.issuer === local.issuer)
      throw new Error(`authenticate: issuer ${cfg.issuer} is the built-in issuer`);
    const issuer = new HmacIssuer(cfg);
    if (issuer.weak)
      log.error(
        { policy: 'authenticate', issuer: cfg.issuer },
        'INSECURE: allowWeakSecret is on — this HMAC secret is guessable, and anyone who cracks it from one token forges tokens this gateway accepts. Only for the deliberately vulnerable lab demo.',
      );
    hmacIssuers.set(cfg.issuer, issuer);
  }

  const apiKeys: ApiKeyVerifier | undefined = options.apiKeys ? services.apiKeys : undefined;
  const apiKeyHeader = options.apiKeyHeader.toLowerCase();
  const acceptsTokens = local !== undefined || externals.size > 0 || hmacIssuers.size > 0;

  function needOf(route: RouteInfo): Need {
    const auth = route.rampart.auth;
    if (auth === 'public' || auth === 'required' || auth === 'optional') return auth;
    const security = route.operation.security;
    if (!contractMode) {
      // Secure by default: only an operation that itself says `security: []` is public
      // (a document-wide `[]`, or no security at all, is not enough).
      const own = route.operation.raw?.security;
      return Array.isArray(own) && own.length === 0 ? 'public' : 'required';
    }
    if (security.length === 0) return 'public';
    // OpenAPI: an empty requirement object `{}` among the alternatives makes security optional.
    // Stryker disable next-line StringLiteral: only 'public' and 'required' are compared; any other need behaves as optional
    for (const requirement of security) if (isEmpty(requirement)) return 'optional';
    return 'required';
  }

  // RFC 6750 §3: a challenge on every 401 (and on invalid_request); no error code when
  // credentials are missing. The realm is fixed per policy: each challenge is built once.
  const challenges = new Map<Rejection, string>();
  for (const r of Object.values(R)) {
    challenges.set(
      r,
      r.bearerError
        ? `Bearer realm="${realm}", error="${r.bearerError}", error_description="${r.description}"`
        : `Bearer realm="${realm}"`,
    );
  }

  // The gateway emits the `denied` event for every denial (policy, problem code, route,
  // principal), so policies do not emit their own: one denial, one event.
  function reject(r: Rejection): Denial {
    const p = problem(r.code, { detail: r.description });
    if (r.code === 'upstream-unavailable') return deny(p, { 'retry-after': '5' });
    if (r.code === 'forbidden') return deny(p);
    return deny(p, { 'www-authenticate': challenges.get(r)! });
  }

  function accept(ctx: RequestContext, route: RouteInfo, a: Authenticated | Rejection): Denial | undefined {
    if (a instanceof Rejection) return reject(a);
    const principal = a.principal;
    ctx.principal = principal;
    // Authenticated but not allowed here: the principal stays set so the denial event names the key.
    // Stryker disable next-line ConditionalExpression: token principals have no scopes, and inScope(undefined) is true
    if (principal.kind === 'api-key' && !inScope(principal.scopes, route)) return reject(R.scope);
    if (upstreamIdentity) {
      const h = ctx.upstreamHeaders;
      h[UPSTREAM_USER] = a.userHeader;
      h[UPSTREAM_ROLES] = a.rolesHeader;
      h[UPSTREAM_ISSUER] = a.issuerHeader;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Bearer tokens

  /** Synchronous on a cache hit (no promise on the hot path), a promise on a miss. */
  function verifyToken(
    token: string,
    now: number,
  ): Authenticated | Rejection | Promise<Authenticated | Rejection> {
    if (token.length > maxTokenLength) return R.tooLarge;
    if (cache) {
      const hit = cache.get(token, now) as Authenticated | undefined;
      if (hit) {
        // Stryker disable next-line OptionalChaining: only the built-in issuer's tokens carry a revocation, so local is set
        if (hit.revocation && local?.isRevoked(hit.revocation)) {
          cache.delete(token);
          return R.revoked;
        }
        return hit;
      }
    }
    if (!acceptsTokens || !JWT_SHAPE.test(token)) return acceptsTokens ? R.malformed : R.issuer;
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    const header = decodeSegment(token, 0, dot1);
    const payload = header ? decodeSegment(token, dot1 + 1, dot2) : undefined;
    if (!header || !payload) return R.malformed;
    const alg = header.alg;
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none') return R.algorithm;
    // RFC 8725 §3.10 / §2.x: keys come from the issuer's configuration only.
    for (const name of KEY_REFERENCE_HEADERS) if (header[name] !== undefined) return R.keyReference;
    // The unverified `iss` only selects which issuer's keys and rules to verify against.
    const iss = payload.iss;
    // An HMAC issuer has its secret(s) by configuration: no kid needed.
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: no HMAC issuer is keyed by a non-string
    const hmac = typeof iss === 'string' ? hmacIssuers.get(iss) : undefined;
    if (hmac) return verifyExternal(hmac, token, alg, header.typ, now, HMAC_REQUIRED_CLAIMS);
    const kid = header.kid;
    if (typeof kid !== 'string' || kid === '') return R.noKeyId;
    // Stryker disable next-line ConditionalExpression: a non-string iss matches neither the built-in nor an external issuer and ends in R.issuer below
    if (typeof iss !== 'string') return R.issuer;
    if (local && iss === local.issuer) return verifyLocal(local, token, alg, kid, now);
    const external = externals.get(iss);
    if (external) return verifyExternal(external, token, alg, header.typ, now, EXTERNAL_REQUIRED_CLAIMS);
    return R.issuer;
  }

  async function verifyLocal(
    issuer: LocalTokenIssuer,
    token: string,
    alg: string,
    kid: string,
    now: number,
  ): Promise<Authenticated | Rejection> {
    if (!localAlgorithmSet.has(alg)) return R.algorithm;
    const key: KeyObject | undefined = issuer.publicKey(kid);
    if (!key) return R.unknownKey;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: localAlgorithms,
        issuer: issuer.issuer,
        audience: issuer.audience,
        typ: LOCAL_TYP,
        clockTolerance: tolerance,
        currentDate: new Date(now),
        requiredClaims: LOCAL_REQUIRED_CLAIMS,
      }));
    } catch (err) {
      return fromJoseError(err, log);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '') return R.missingSub;
    const iat = payload.iat!;
    if (iat > now / 1000 + tolerance) return R.issuedInFuture;
    const revocation = {
      sub,
      iat,
      // Stryker disable next-line ConditionalExpression: revocations are recorded by string ids; a non-string jti matches none
      ...(typeof payload.jti === 'string' ? { jti: payload.jti } : {}),
      // Stryker disable next-line ConditionalExpression: the same for sid
      ...(typeof payload.sid === 'string' ? { sid: payload.sid } : {}),
    };
    if (issuer.isRevoked(revocation)) return R.revoked;
    const claims = payload as Record<string, unknown>;
    const acr = acrFrom(claims);
    const principal = makePrincipal(
      sub,
      issuer.issuer,
      rolesFrom(claims, ['roles']),
      amrFrom(claims, acr, undefined, undefined),
      acr,
      claims,
    );
    return remember(token, principal, payload, revocation);
  }

  /** Tokens of a configured issuer: external (JWKS, asymmetric) or HMAC (shared secret). */
  async function verifyExternal(
    issuer: ExternalIssuer | HmacIssuer,
    token: string,
    alg: string,
    typ: unknown,
    now: number,
    requiredClaims: string[],
  ): Promise<Authenticated | Rejection> {
    // Stryker disable next-line ConditionalExpression: jose gets the same allow-list (algorithms below) and its refusal maps to the same rejection
    if (!issuer.algorithmSet.has(alg)) return R.algorithm;
    if (!issuer.typAccepted(typ)) return R.typ;
    let payload: JWTPayload;
    try {
      payload = await issuer.verifyJwt(token, {
        algorithms: issuer.algorithms as string[],
        issuer: issuer.issuer,
        audience: issuer.audience,
        clockTolerance: tolerance,
        currentDate: new Date(now),
        requiredClaims,
      });
    } catch (err) {
      return fromJoseError(err, log);
    }
    const claims = payload as Record<string, unknown>;
    const subject = claimAt(claims, issuer.subjectPath);
    if (typeof subject !== 'string' || subject === '') return R.missingSub;
    if (payload.iat! > now / 1000 + tolerance) return R.issuedInFuture;
    const acr = acrFrom(claims);
    const principal = makePrincipal(
      subject,
      issuer.issuer,
      rolesFrom(claims, issuer.rolesPaths),
      amrFrom(claims, acr, issuer.amrMapping, issuer.acrMapping),
      acr,
      claims,
    );
    return remember(token, principal, payload, undefined);
  }

  function remember(
    token: string,
    principal: Principal,
    payload: JWTPayload,
    revocation: VerifiedToken['revocation'],
  ): Authenticated {
    const entry = authenticated(
      principal,
      // Stryker disable next-line ArithmeticOperator: the cache's bounds only; outside them jose verifies the token again with the same tolerance
      (payload.exp! + tolerance) * 1000,
      // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: as above; a token is only cached after jose accepted its nbf
      payload.nbf !== undefined ? (payload.nbf - tolerance) * 1000 : Number.NEGATIVE_INFINITY,
      revocation,
    );
    cache?.set(token, entry);
    return entry;
  }

  // ---------------------------------------------------------------------------------------------
  // API keys

  async function verifyApiKey(
    verifier: ApiKeyVerifier,
    presented: string,
  ): Promise<Authenticated | Rejection> {
    let principal: Principal | undefined;
    try {
      principal = await verifier.verify(presented);
    } catch (err) {
      // Never log the key; the error's name is enough to find the cause in the store logs.
      log.error(
        { policy: 'authenticate', error: err instanceof Error ? err.name : 'unknown' },
        'API key verification failed',
      );
      return R.apiKeyUnavailable;
    }
    if (!principal) return R.apiKey;
    // Stryker disable next-line UnaryOperator: API-key principals are never cached, so their time bounds are never read
    return authenticated(principal, Infinity, -Infinity, undefined);
  }

  // ---------------------------------------------------------------------------------------------

  return {
    // Compiled per operation: what it needs is known when the runtime is built.
    forRoute(route: RouteInfo) {
      const need = needOf(route);
      if (need === 'public' && ignorePublic) return undefined;
      return {
        onRequest: function authenticateRequest(ctx: RequestContext): PolicyResult | Promise<PolicyResult> {
          const authorization = ctx.headers.authorization;
          const bearer = authorization !== undefined ? bearerToken(authorization) : undefined;
          const key = apiKeys ? ctx.headers[apiKeyHeader] : undefined;

          if (bearer === undefined && key === undefined)
            return need === 'required' ? reject(R.missing) : undefined;
          if (bearer !== undefined && key !== undefined) return reject(R.both);
          if (bearer !== undefined) {
            if (bearer === null) return reject(R.malformed);
            const r = verifyToken(bearer, ctx.clock.now());
            if (r instanceof Promise) return r.then((a) => accept(ctx, route, a));
            return accept(ctx, route, r);
          }
          // Several copies of the header arrive joined by ", " or as an array: never a valid key.
          if (typeof key !== 'string' || key === '' || key.length > 1024 || key.includes(','))
            return reject(R.apiKey);
          return verifyApiKey(apiKeys!, key).then((a) => accept(ctx, route, a));
        },
      };
    },
    async close() {
      cache?.clear();
      await Promise.all([...externals.values()].map((e) => e.close()));
    },
  };
}

/**
 * The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1, scheme
 * case-insensitive); `undefined` for another scheme (not ours to judge), `null` for a
 * Bearer header without a usable token.
 */
export function bearerToken(header: string): string | undefined | null {
  const n = header.length;
  if (n < 6 || (n > 6 && header.charCodeAt(6) !== 32)) return undefined;
  // The common spelling needs no scheme copy; other casings are rare.
  if (!header.startsWith('Bearer') && header.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  let i = 7;
  while (header.charCodeAt(i) === 32) i++;
  if (i >= n) return null;
  return header.slice(i);
}

function isEmpty(o: object): boolean {
  // Stryker disable next-line ConditionalExpression: requirements come from parsed YAML/JSON, which has no inherited enumerable keys
  for (const k in o) if (Object.hasOwn(o, k)) return false;
  return true;
}

// Stryker disable BlockStatement: an empty catch returns undefined too (a comment inside the try does not reach the catch clause)
function decodeSegment(token: string, from: number, to: number): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(token.slice(from, to), 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
// Stryker restore BlockStatement

function fromJoseError(err: unknown, log: Logger): Rejection {
  if (err instanceof KeysUnavailable) {
    log.warn({ policy: 'authenticate', error: err.message }, 'token issuer keys unavailable');
    return R.keysUnavailable;
  }
  if (err instanceof errors.JWTExpired) return R.expired;
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return R.issuer;
      case 'aud':
        return R.audience;
      case 'typ':
        return R.typ;
      case 'nbf':
        return R.notYetValid;
      case 'exp':
        return err.reason === 'missing' ? R.missingExp : R.claims;
      case 'iat':
        return err.reason === 'missing' ? R.missingIat : R.claims;
      case 'sub':
        return R.missingSub;
      default:
        return R.claims;
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return R.signature;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: the per-issuer allow-list is checked before jose, which therefore never refuses the algorithm
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return R.algorithm;
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return R.unknownKey;
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return R.malformed;
  log.warn(
    { policy: 'authenticate', error: err instanceof Error ? err.name : 'unknown' },
    'unexpected token verification error',
  );
  return R.invalid;
}

function makePrincipal(
  id: string,
  issuer: string,
  roles: readonly string[],
  amr: readonly string[],
  acr: string | undefined,
  claims: Record<string, unknown>,
): Principal {
  const authTime = claims.auth_time;
  // Frozen: one principal object is shared by every request that presents the same token.
  return Object.freeze({
    id,
    kind: 'user' as const,
    roles,
    issuer,
    amr,
    ...(acr !== undefined ? { acr } : {}),
    // Stryker disable next-line LogicalOperator: a JSON number is always finite and Number.isFinite is false for anything else
    ...(typeof authTime === 'number' && Number.isFinite(authTime) ? { authTime } : {}),
    claims: Object.freeze(claims),
  });
}

/** A principal with its upstream header values, computed once (cached with the token). */
function authenticated(
  principal: Principal,
  expiresAt: number,
  notBefore: number,
  revocation: VerifiedToken['revocation'],
): Authenticated {
  return {
    userHeader: headerSafe(principal.id),
    // Stryker disable next-line ConditionalExpression: [].join(',') is '' too
    rolesHeader: principal.roles.length === 0 ? '' : principal.roles.map(headerSafe).join(','),
    issuerHeader: headerSafe(principal.issuer),
    principal,
    expiresAt,
    notBefore,
    revocation,
  };
}

/**
 * API-key scopes: `*`, an operationId, `METHOD /template` (with or without the version
 * base), or `api:<name>`. A key without a scope list is unrestricted; an empty list
 * allows nothing.
 */
export function inScope(scopes: readonly string[] | undefined, route: RouteInfo): boolean {
  if (scopes === undefined) return true;
  const op = route.operation;
  for (const s of scopes) {
    if (s === '*') return true;
    if (op.operationId !== undefined && s === op.operationId) return true;
    if (s.startsWith('api:')) {
      if (s.length === 4 + route.api.length && s.endsWith(route.api)) return true;
      continue;
    }
    const sp = s.indexOf(' ');
    // Stryker disable next-line ConditionalExpression,EqualityOperator: with sp <= 0 the method part is '' or the scope minus its last character, and the rest (no space) never equals a template, which starts with '/'
    if (sp > 0 && s.slice(0, sp).toLowerCase() === op.method) {
      const t = s.slice(sp + 1).trim();
      if (t === route.template || t === route.base + route.template) return true;
    }
  }
  return false;
}
