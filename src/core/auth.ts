import type { KeyObject } from 'node:crypto';

/**
 * Who is calling, set by the gateway's `authenticate` policy and read by everything
 * after it. `claims` keeps the verified token claims as they came.
 */
export interface Principal {
  /** Stable subject id (`sub`, or the API key's owner). */
  id: string;
  kind: 'user' | 'api-key';
  roles: readonly string[];
  /** Issuer that vouched for the principal (own issuer URL, an external OIDC issuer, or `api-key`). */
  issuer: string;
  /** RFC 8176 authentication method references. */
  amr: readonly string[];
  acr?: string;
  /** Seconds since epoch of the last active authentication (`auth_time`). */
  authTime?: number;
  /** API key scopes, when kind is `api-key`. */
  scopes?: readonly string[];
  claims: Readonly<Record<string, unknown>>;
}

/**
 * What the gateway needs to trust the built-in identity service's tokens without
 * calling it: its issuer, audience, public keys and a revocation check that answers
 * from memory (refreshed in the background with bounded staleness).
 * The identity service implements it; the CLI hands it to the gateway.
 */
export interface LocalTokenIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** Public verification keys by `kid` (current and recently rotated). */
  publicKey(kid: string): KeyObject | undefined;
  /** Allowed JWS algorithms, e.g. ['ES256']. */
  readonly algorithms: readonly string[];
  /**
   * True when the token must no longer be accepted: its session/family was revoked,
   * the user was disabled, or the password changed after `iat`. Synchronous: answers
   * from a cache (see docs/identity.md for the staleness bound).
   */
  isRevoked(claims: { sub: string; jti?: string; sid?: string; iat: number }): boolean;
}

/** Verifies machine API keys (prefixed, hashed at rest). Cached; may hit the store on a miss. */
export interface ApiKeyVerifier {
  verify(presented: string): Promise<Principal | undefined>;
}
