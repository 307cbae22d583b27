/**
 * Configuration of the identity service (the `identity:` section of rampart.yaml).
 * Every field is described and has its default; `resolveIdentityConfig` fills the
 * defaults and fails with the path and what was expected.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Seconds = (description: string, def: number, minimum = 1) =>
  Type.Integer({ description, default: def, minimum });

export const identityConfigSchema = Type.Object(
  {
    prefix: Type.String({
      description: 'Path prefix the gateway serves the identity API under.',
      default: '/auth',
      pattern: '^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$',
    }),
    issuer: Type.String({
      description:
        'Issuer URL (`iss`): the public URL of the prefix, e.g. https://api.example.com/auth. JWKS and discovery are published under it.',
      default: 'http://localhost:8080/auth',
      pattern: '^https?://[^\\s]+$',
    }),
    audience: Type.String({
      description: 'Audience (`aud`) of issued access tokens.',
      default: 'rampart',
      minLength: 1,
    }),
    accessTokenTtl: Seconds(
      'Access-token lifetime in seconds. Short, because the gateway verifies tokens offline.',
      300,
      30,
    ),
    refreshTokenTtl: Seconds(
      'Lifetime of one refresh token in seconds (each use rotates it).',
      14 * 86400,
      60,
    ),
    refreshReuseGrace: Type.Integer({
      description:
        'Seconds after its first use in which a refresh token still rotates (tabs refreshing at once); 0 = any reuse revokes.',
      default: 0,
      minimum: 0,
      maximum: 60,
    }),
    sessionMaxAge: Seconds(
      'Absolute session (refresh-token family) lifetime in seconds; re-login after it.',
      30 * 86400,
      60,
    ),
    mfaTokenTtl: Seconds(
      'Lifetime of the `mfa_token` between the password step and the second factor, in seconds.',
      300,
      30,
    ),
    recentAuthMaxAge: Seconds(
      'How recent `auth_time` must be (seconds) for sensitive changes: MFA removal, recovery codes, password change.',
      300,
      30,
    ),
    selfSignup: Type.Boolean({ description: 'Enable POST {prefix}/signup for anyone.', default: false }),
    revocationRefreshInterval: Seconds(
      'Seconds between refreshes of the in-memory revocation view from the store (staleness bound for other nodes).',
      5,
    ),
    keyFile: Type.String({
      description:
        'Key-encryption key file, used when RAMPART_KEY_ENCRYPTION_KEY is not set; generated (with a warning) when missing.',
      default: './data/identity-kek.key',
      // rampart.yaml loader: resolved against the config file's directory
      'x-rampart-path': true,
    }),
    signingKeys: Type.Object(
      {
        rotateAfter: Seconds(
          'Age in seconds after which a new ES256 signing key replaces the current one.',
          30 * 86400,
          60,
        ),
        gracePeriod: Seconds(
          'Seconds a retired key stays in the JWKS (must exceed accessTokenTtl so issued tokens stay verifiable).',
          86400,
          60,
        ),
      },
      { description: 'Signing-key rotation.', default: {}, additionalProperties: false },
    ),
    passwords: Type.Object(
      {
        minLengthSingleFactor: Type.Integer({
          description: 'Minimum length when the password is the only factor (NIST SP 800-63B-4: 15).',
          default: 15,
          minimum: 8,
        }),
        minLengthWithMfa: Type.Integer({
          description: 'Minimum length when the account has or must have a second factor (NIST: 8).',
          default: 8,
          minimum: 8,
        }),
        maxLength: Type.Integer({
          description: 'Maximum length in characters (NIST: at least 64).',
          default: 256,
          minimum: 64,
          maximum: 4096,
        }),
        scrypt: Type.Object(
          {
            ln: Type.Integer({
              description: 'log2(N), scrypt CPU/memory cost. OWASP: 17.',
              default: 17,
              minimum: 1,
              maximum: 22,
            }),
            r: Type.Integer({
              description: 'scrypt block size. OWASP: 8.',
              default: 8,
              minimum: 1,
              maximum: 32,
            }),
            p: Type.Integer({
              description: 'scrypt parallelisation. OWASP: 1.',
              default: 1,
              minimum: 1,
              maximum: 16,
            }),
          },
          {
            description: 'scrypt parameters; hashes with other parameters are re-hashed at the next login.',
            default: {},
            additionalProperties: false,
          },
        ),
      },
      { description: 'Password rules and hashing.', default: {}, additionalProperties: false },
    ),
    mfa: Type.Object(
      {
        requiredForRoles: Type.Array(Type.String(), {
          description:
            'Users holding any of these roles must use a second factor (they are asked to enrol at first login).',
          default: ['admin'],
        }),
        requiredForAll: Type.Boolean({
          description: 'Require a second factor from every user.',
          default: false,
        }),
        totp: Type.Object(
          {
            window: Type.Union([Type.Literal('lenient'), Type.Literal('strict'), Type.Literal('strictest')], {
              description:
                'Accepted time steps: lenient = T−1,T,T+1 (RFC 6238 §5.2); strict = T−1,T (no future code); strictest = T only (ASVS 6.5.5).',
              default: 'strict',
            }),
            issuer: Type.String({
              description: 'Issuer name shown in authenticator apps.',
              default: 'Rampart',
              minLength: 1,
            }),
          },
          { description: 'TOTP settings.', default: {}, additionalProperties: false },
        ),
      },
      { description: 'Multi-factor authentication.', default: {}, additionalProperties: false },
    ),
    passkeys: Type.Object(
      {
        rpId: Type.String({
          description: 'WebAuthn relying-party id (registrable domain).',
          default: 'localhost',
        }),
        rpName: Type.String({
          description: 'Relying-party name shown by authenticators.',
          default: 'Rampart',
        }),
        origins: Type.Array(Type.String(), {
          description: 'Exact origins allowed in WebAuthn responses.',
          default: ['http://localhost:8080'],
        }),
      },
      { description: 'Passkeys (WebAuthn).', default: {}, additionalProperties: false },
    ),
    lockout: Type.Object(
      {
        maxFailuresPerAccount: Type.Integer({
          description:
            'Failed passwords per account (known or not) answered without delay; each further one doubles a back-off (429 + Retry-After) starting at `backoffBase`. Also the per-account limit of failed one-time codes within `window`.',
          default: 5,
          minimum: 1,
        }),
        maxFailuresPerIp: Type.Integer({
          description:
            'Failed attempts per client IP answered without delay; then the same exponential back-off.',
          default: 50,
          minimum: 1,
        }),
        window: Seconds(
          'The longest back-off delay in seconds, and the window of the one-time-code throttle.',
          900,
        ),
        backoffBase: Seconds('The first back-off delay in seconds; doubled by every further failure.', 1),
        forgetAfter: Seconds(
          'Seconds without a failure after which an account or IP starts again with its free attempts.',
          86_400,
        ),
        maxConsecutiveFailures: Type.Integer({
          description:
            'Consecutive failed passwords after which the account locks until an administrator unlocks it (NIST: ≤ 100). Wrong passwords to a locked account answer like any failed login; only the right password learns of the lock.',
          default: 100,
          minimum: 1,
          maximum: 100,
        }),
      },
      { description: 'Brute-force protection.', default: {}, additionalProperties: false },
    ),
    apiKeys: Type.Object(
      {
        prefix: Type.String({
          description: 'Prefix of issued keys (helps secret scanners).',
          default: 'rpk_live',
          pattern: '^[a-z][a-z0-9]*(_[a-z0-9]+)*$',
        }),
        cacheTtl: Seconds(
          'Seconds a verified key stays cached (staleness bound for revocation on other nodes).',
          30,
        ),
        lastUsedFlushInterval: Seconds('Seconds between batched writes of last-used times.', 60),
        maxPerUser: Type.Integer({ description: 'Active keys one user may hold.', default: 50, minimum: 1 }),
      },
      { description: 'API keys.', default: {}, additionalProperties: false },
    ),
  },
  { description: 'Built-in identity service.', additionalProperties: false, default: {} },
);

export type IdentityConfig = Static<typeof identityConfigSchema>;

/** Input form: every field optional (nested too). */
export type IdentityConfigInput = DeepPartial<IdentityConfig>;
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** Fills defaults and validates; throws an Error naming the bad path. */
export function resolveIdentityConfig(input: IdentityConfigInput | undefined): IdentityConfig {
  const value = Value.Default(identityConfigSchema, structuredClone(input ?? {}));
  const errors = [...Value.Errors(identityConfigSchema, value)];
  if (errors.length > 0) {
    const e = errors[0]!;
    throw new Error(`Invalid identity config at ${e.path || '/'}: ${e.message}`);
  }
  const cfg = value as IdentityConfig;
  if (cfg.passwords.minLengthWithMfa > cfg.passwords.minLengthSingleFactor) {
    throw new Error(
      'Invalid identity config at /passwords/minLengthWithMfa: must not exceed minLengthSingleFactor',
    );
  }
  if (cfg.signingKeys.gracePeriod <= cfg.accessTokenTtl) {
    throw new Error('Invalid identity config at /signingKeys/gracePeriod: must exceed accessTokenTtl');
  }
  if (cfg.issuer.endsWith('/')) throw new Error('Invalid identity config at /issuer: must not end with "/"');
  return cfg;
}
