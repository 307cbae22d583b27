import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import { TokenCache, type VerifiedToken } from './token-cache.ts';

const principal: Principal = { id: 'u', kind: 'user', roles: [], issuer: 'i', amr: [], claims: {} };
const entry = (expiresAt: number, notBefore = Number.NEGATIVE_INFINITY): VerifiedToken => ({
  principal,
  expiresAt,
  notBefore,
  revocation: undefined,
});

describe('TokenCache', () => {
  it('is bounded and evicts the least recently used entry', () => {
    const c = new TokenCache(2);
    c.set('a', entry(1000));
    c.set('b', entry(1000));
    expect(c.get('a', 0)).toBeDefined(); // a is now the most recent
    c.set('c', entry(1000));
    expect(c.size).toBe(2);
    expect(c.get('b', 0)).toBeUndefined();
    expect(c.get('a', 0)).toBeDefined();
    expect(c.get('c', 0)).toBeDefined();
  });

  it('drops entries at expiry and refuses them before nbf', () => {
    const c = new TokenCache(10);
    c.set('a', entry(1000, 500));
    expect(c.get('a', 499)).toBeUndefined();
    c.set('a', entry(1000, 500));
    expect(c.get('a', 999)).toBeDefined();
    expect(c.get('a', 1000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('stores nothing when its size is 0', () => {
    const c = new TokenCache(0);
    c.set('a', entry(1000));
    expect(c.size).toBe(0);
  });
});
