import { Type, type Static } from '@sinclair/typebox';

/**
 * Asymmetric JWS algorithms only (RFC 8725 §3.1–3.2): HMAC algorithms would let
 * anyone holding the verification key mint tokens, and `none` is never accepted.
 */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

const Algorithm = Type.Union(
  ASYMMETRIC_ALGORITHMS.map((a) => Type.Literal(a)),
  { description: 'An asymmetric JWS algorithm.' },
);

/** What every trusted issuer (JWKS or HMAC) declares about its tokens' claims. */
const issuerClaimFields = {
  typ: Type.Array(Type.String({ minLength: 1 }), {
    description:
      'Accepted `typ` header values, compared case-insensitively with any `application/` prefix ignored (RFC 8725 §3.11, RFC 9068 `at+jwt`). Empty list: not checked.',
    default: ['at+jwt', 'JWT'],
  }),
  typRequired: Type.Boolean({
    description:
      'Reject tokens without a `typ` header. Set false for issuers whose access tokens carry none.',
    default: true,
  }),
  claimMapping: Type.Object(
    {
      subject: Type.String({
        minLength: 1,
        description: 'Claim path of the principal id.',
        default: 'sub',
      }),
      roles: Type.Union(
        [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
        {
          description:
            'Claim path(s) of the roles, dot-separated: `roles`, `groups` (Okta), `realm_access.roles` or `resource_access.<client>.roles` (Keycloak), `https://example.com/roles` (Auth0 namespaced claim; matched whole first).',
          default: 'roles',
        },
      ),
    },
    {
      additionalProperties: false,
      default: {},
      description: "Where the principal id and roles are in this issuer's tokens.",
    },
  ),
  acrMapping: Type.Record(Type.String(), Type.Array(Type.String({ minLength: 1 })), {
    description:
      'acr value → RFC 8176 amr values it implies, added to the principal\'s amr. E.g. Okta {"urn:okta:loa:2fa:any": ["mfa"]}, Keycloak {"2": ["mfa"]} (the level your realm maps to a second factor).',
    default: {},
  }),
  amrMapping: Type.Record(Type.String(), Type.String({ minLength: 1 }), {
    description:
      'Issuer-specific amr value → RFC 8176 value, e.g. {"ngcmfa": "mfa"}. Unlisted values are kept as they are.',
    default: {},
  }),
};

export const externalIssuerSchema = Type.Object(
  {
    issuer: Type.String({
      minLength: 1,
      description:
        "Issuer identifier exactly as the tokens' `iss` claim carries it (required), e.g. https://dev-123.okta.com/oauth2/default, https://tenant.eu.auth0.com/ (trailing slash!), https://kc.example.com/realms/shop.",
    }),
    jwksUri: Type.String({
      description:
        'JWKS URL. Empty: discovered from `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery; its `issuer` must equal this issuer). https only (http allowed for loopback hosts).',
      default: '',
    }),
    audience: Type.Union(
      [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
      {
        description:
          "Accepted `aud` value(s) (required): this API's identifier at the issuer (Okta: api://default; Auth0: the API identifier; Keycloak: the client id or an audience mapper value).",
      },
    ),
    algorithms: Type.Array(Algorithm, {
      minItems: 1,
      uniqueItems: true,
      description:
        'JWS algorithms accepted from this issuer (RFC 8725 allow-list; `none` and HMAC are never accepted).',
      default: ['RS256', 'ES256'],
    }),
    ...issuerClaimFields,
    allowPrivate: Type.Boolean({
      description:
        'Let the discovery and JWKS hosts resolve to private, loopback or link-local addresses (an issuer on the internal network, a test issuer on 127.0.0.1). Off: public addresses only (SSRF guard, checked at connect time).',
      default: false,
    }),
    timeoutMs: Type.Integer({
      minimum: 100,
      description: 'Timeout of a JWKS or discovery fetch.',
      default: 5000,
    }),
    cooldownMs: Type.Integer({
      minimum: 0,
      description:
        'An unknown `kid` triggers a JWKS refetch at most this often; a failed discovery is retried after it.',
      default: 30000,
    }),
    cacheMaxAgeMs: Type.Integer({
      minimum: 1000,
      description: 'Refetch the JWKS when the cached copy is older than this.',
      default: 600000,
    }),
  },
  {
    additionalProperties: false,
    description: 'An external OpenID Connect / OAuth 2.0 issuer whose access tokens are trusted.',
  },
);

/** HMAC JWS algorithms, allowed only for issuers configured with a shared secret (`hmacIssuers`). */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

export const hmacIssuerSchema = Type.Object(
  {
    issuer: Type.String({
      minLength: 1,
      description: "Exactly the tokens' `iss` claim (required): selects this issuer's secret and rules.",
    }),
    audience: Type.Union(
      [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
      { description: 'Accepted `aud` value(s) (required).' },
    ),
    secret: Type.String({
      minLength: 1,
      description:
        'The shared signing secret, from the environment or a file: `${LAB_JWT_SECRET}` or `${file:./secrets/jwt.key}` (one trailing newline of a file is ignored). At least 32 bytes (48 for HS384, 64 for HS512, RFC 7518 §3.2) and not in the JWT-cracking wordlist, or rampart check refuses it. Never logged.',
    }),
    previousSecrets: Type.Array(Type.String({ minLength: 1 }), {
      maxItems: 3,
      description: 'Secrets still accepted during a rotation (tried after `secret`), same rules as `secret`.',
      default: [],
    }),
    algorithms: Type.Array(Type.Union(HMAC_ALGORITHMS.map((a) => Type.Literal(a))), {
      minItems: 1,
      uniqueItems: true,
      description: 'HMAC algorithms accepted from this issuer (never `none`, never an asymmetric one).',
      default: ['HS256'],
    }),
    ...issuerClaimFields,
    allowWeakSecret: Type.Boolean({
      description:
        'INSECURE. Accept a secret that is too short or in the JWT-cracking wordlist — only for the deliberately vulnerable lab demo. Logged as an error at every start. A gateway cannot make a guessable secret safe: anyone who cracks it forges tokens the gateway accepts.',
      default: false,
    }),
  },
  {
    additionalProperties: false,
    description:
      'An issuer whose tokens are signed with a shared secret (HS256/HS384/HS512): the protected API issues its own tokens. exp, iat and a subject are required.',
  },
);

export const authenticateSchema = Type.Object(
  {
    default: Type.Union([Type.Literal('per-contract'), Type.Literal('required')], {
      description:
        'per-contract: an operation needs credentials when its effective OpenAPI `security` is non-empty (`security: []` is public; a `{}` entry makes credentials optional). required: every operation needs credentials unless the operation itself says `security: []` or `x-rampart: { auth: public }`.',
      default: 'per-contract',
    }),
    realm: Type.String({
      minLength: 1,
      pattern: '^[^"\\\\]*$',
      description: 'Realm in WWW-Authenticate challenges (RFC 6750 §3).',
      default: 'rampart',
    }),
    localTokens: Type.Boolean({
      description: 'Accept access tokens of the built-in identity service (when it is on).',
      default: true,
    }),
    apiKeys: Type.Boolean({
      description: 'Accept API keys (when the identity service is on).',
      default: true,
    }),
    apiKeyHeader: Type.String({
      minLength: 1,
      pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
      description: 'Request header carrying an API key (case-insensitive).',
      default: 'x-api-key',
    }),
    issuers: Type.Array(externalIssuerSchema, {
      description: 'External OIDC issuers (Okta, Auth0, Keycloak, …) whose tokens are trusted.',
      default: [],
    }),
    hmacIssuers: Type.Array(hmacIssuerSchema, {
      description:
        "Issuers whose tokens are signed with a shared HMAC secret (HS256/384/512) — typically the protected API's own login. An issuer is either here or in `issuers`, never both: one issuer, one kind of key, no algorithm confusion.",
      default: [],
    }),
    clockTolerance: Type.Integer({
      minimum: 0,
      maximum: 300,
      description: 'Seconds of clock skew tolerated on exp, nbf and iat.',
      default: 30,
    }),
    maxTokenLength: Type.Integer({
      minimum: 256,
      maximum: 65536,
      description: 'Longer bearer tokens are rejected before any parsing.',
      default: 8192,
    }),
    cacheSize: Type.Integer({
      minimum: 0,
      description:
        'Verified tokens remembered (LRU; until their exp; revocation re-checked on every use). 0 disables the cache.',
      default: 10000,
    }),
    onPublic: Type.Union([Type.Literal('verify'), Type.Literal('ignore')], {
      description:
        'Credentials sent to a public operation: verify (an invalid one is rejected with 401 — a bad token is a client bug or an attack; a valid one sets the principal) or ignore them.',
      default: 'verify',
    }),
    upstreamIdentity: Type.Boolean({
      description:
        'Send the verified principal upstream as x-authenticated-user, x-authenticated-roles and x-authenticated-issuer (client-sent copies are always dropped by the gateway, ASVS 4.1.3).',
      default: true,
    }),
  },
  {
    additionalProperties: false,
    description: 'Authenticates requests: bearer JWTs (own and external OIDC issuers) and API keys.',
  },
);

export type AuthenticateOptions = Static<typeof authenticateSchema>;
export type ExternalIssuerOptions = Static<typeof externalIssuerSchema>;
export type HmacIssuerOptions = Static<typeof hmacIssuerSchema>;
