import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader } from 'jose';
import type { Clock } from '../core/clock.ts';
import { LabError } from './http.ts';
import type { LabMode } from './types.ts';

/**
 * The vulnerable twin's HS256 key: a word from every JWT-cracking wordlist (CWE-326).
 * Public by design — it is the lab's planted flaw, not a secret.
 */
export const WEAK_JWT_SECRET = 'changeme';
/** `iss` and `aud` of the lab's tokens (both twins): what a gateway trusting them is configured with. */
export const LAB_ISSUER = 'https://lab.rampart.invalid';
export const LAB_AUDIENCE = 'rampart-lab';
/** Access-token lifetime in seconds (what both twins announce in `expiresIn`). */
export const TOKEN_TTL = 900;

export interface TokenClaims {
  sub: string;
  username?: string;
}

/**
 * Issues and verifies the lab's bearer tokens. Both twins put `iss`, `aud`, `sub`,
 * `username` and `role` in them (a gateway in front reads the role from the token).
 * - vulnerable: weak shared secret, no `exp` (unless `expiring`, for the demo behind a
 *   gateway that requires it), and `alg: none` tokens accepted unsigned; `iss`/`aud` never checked.
 * - secure: 256-bit random key per instance, HS256 only, `iss`/`aud`/`exp` required
 *   (RFC 8725; jose `requiredClaims`), time from the injected clock.
 */
export class LabTokens {
  private readonly key: Uint8Array;

  constructor(
    private readonly mode: LabMode,
    private readonly clock: Clock,
    /** Vulnerable twin: issue tokens with `exp` anyway (it still accepts tokens without one). */
    private readonly expiring = false,
  ) {
    this.key =
      mode === 'vulnerable' ? new TextEncoder().encode(WEAK_JWT_SECRET) : new Uint8Array(randomBytes(32));
  }

  async issue(user: { id: number; username: string; role: string }): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    const jwt = new SignJWT({ username: user.username, role: user.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(user.id))
      .setIssuer(LAB_ISSUER)
      .setAudience(LAB_AUDIENCE)
      .setIssuedAt(now);
    // Planted (API2, CWE-613): the vulnerable twin's tokens never expire.
    if (this.mode === 'secure' || this.expiring) jwt.setExpirationTime(now + TOKEN_TTL);
    return jwt.sign(this.key);
  }

  async verify(token: string): Promise<TokenClaims> {
    try {
      if (this.mode === 'vulnerable') {
        const header = decodeProtectedHeader(token);
        if (typeof header.alg === 'string' && header.alg.toLowerCase() === 'none') {
          // Planted: an unsigned token is taken at its word (CWE-347).
          const payload = JSON.parse(
            Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'),
          ) as Record<string, unknown>;
          return claimsOf(payload);
        }
        const { payload } = await jwtVerify(token, this.key, {
          algorithms: ['HS256'],
          currentDate: new Date(this.clock.now()),
        });
        return claimsOf(payload);
      }
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: LAB_ISSUER,
        audience: LAB_AUDIENCE,
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: new Date(this.clock.now()),
      });
      return claimsOf(payload);
    } catch (err) {
      if (err instanceof LabError) throw err;
      throw new LabError('invalid-token', 'The access token is invalid or expired', {
        'www-authenticate': 'Bearer error="invalid_token"',
      });
    }
  }
}

function claimsOf(payload: Record<string, unknown>): TokenClaims {
  if (typeof payload.sub !== 'string') throw new LabError('invalid-token', 'The access token has no subject');
  return {
    sub: payload.sub,
    ...(typeof payload.username === 'string' ? { username: payload.username } : {}),
  };
}
