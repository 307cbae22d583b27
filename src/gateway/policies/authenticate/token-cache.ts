import type { Principal } from '../../../core/auth.ts';

/** One verified token: the principal it yields and how long that answer may be reused. */
export interface VerifiedToken {
  readonly principal: Principal;
  /** Epoch ms after which the token is expired (its `exp` plus the clock tolerance). */
  readonly expiresAt: number;
  /** Epoch ms before which the token is not valid yet (`nbf` minus tolerance), or -Infinity. */
  readonly notBefore: number;
  /**
   * For the built-in issuer's tokens, the argument for `isRevoked`, built once so the
   * hot path allocates nothing; re-checked on every hit (revocation is not cached here).
   */
  readonly revocation: { sub: string; jti?: string; sid?: string; iat: number } | undefined;
}

/**
 * A bounded least-recently-used cache of already verified tokens, keyed by the token
 * string itself (no hashing: the string is the exact identity, and only tokens whose
 * signature and claims verified ever enter, so an attacker cannot fill it with junk).
 * Signature verification (ECDSA/RSA) costs tens of microseconds; a hit costs a Map lookup.
 *
 * Memory bound: `max` entries × (token length + principal), e.g. 10 000 × ~1 KB.
 */
export class TokenCache {
  private readonly map = new Map<string, VerifiedToken>();
  constructor(readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The entry if present and usable at `now`; drops expired entries. Does not check revocation. */
  get(token: string, now: number): VerifiedToken | undefined {
    const e = this.map.get(token);
    if (e === undefined) return undefined;
    if (now >= e.expiresAt || now < e.notBefore) {
      this.map.delete(token);
      return undefined;
    }
    // Move to the most-recently-used end (Map keeps insertion order).
    this.map.delete(token);
    this.map.set(token, e);
    return e;
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.max <= 0) return;
    if (this.map.size >= this.max && !this.map.has(token)) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(token, entry);
  }

  delete(token: string): void {
    this.map.delete(token);
  }

  clear(): void {
    this.map.clear();
  }
}
