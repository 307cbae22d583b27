import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../core/clock.ts';
import type { Principal } from '../../../core/auth.ts';
import { OwnerCache } from './cache.ts';
import { claimValue, dotted, filterOwned, isOwner, ownersOf, paramChecker } from './rules.ts';

const principal = (id: string, claims: Record<string, unknown> = {}): Principal => ({
  id,
  kind: 'user',
  roles: [],
  issuer: 'https://id.test',
  amr: [],
  claims,
});

describe('owner rules', () => {
  it('claims: sub is the principal id; others by dotted path; only scalars', () => {
    expect(claimValue(principal('7', { sub: 'ignored' }), 'sub')).toBe('7');
    expect(claimValue(principal('7', { tenant: { id: 42 } }), 'tenant.id')).toBe('42');
    expect(claimValue(principal('7', { org: ['a'] }), 'org')).toBeUndefined();
    expect(claimValue(principal('7', { org: '' }), 'org')).toBeUndefined();
    expect(claimValue(principal('7', {}), 'missing')).toBeUndefined();
  });

  it('owners of an object: scalars and arrays, numbers equal strings, nulls skipped, missing fails closed', () => {
    const rec = { patientId: 3, doctorId: null, team: ['5', 6] };
    expect(ownersOf(rec, ['patientId', 'doctorId'])).toEqual(['3']);
    expect(ownersOf(rec, ['team'])).toEqual(['5', '6']);
    expect(ownersOf(rec, ['ownerId'])).toBeUndefined();
    expect(ownersOf('not an object', ['patientId'])).toBeUndefined();
    expect(ownersOf({ a: { b: 1 } }, ['a.b'])).toEqual(['1']);
    expect(isOwner(['3', '5'], '5')).toBe(true);
    expect(isOwner(['3'], '33')).toBe(false);
    // Own properties only: no prototype tricks.
    expect(dotted({}, 'constructor')).toBeUndefined();
    expect(dotted({ __proto__: { x: 1 } } as object, 'x')).toBeUndefined();
  });

  it('filters list items to the caller’s own', () => {
    const items = [{ patientId: 1 }, { patientId: 2, doctorId: 1 }, { patientId: 3 }, { title: 'no owner' }];
    expect(filterOwned(items, ['patientId', 'doctorId'], '1')).toEqual({
      kept: [{ patientId: 1 }, { patientId: 2, doctorId: 1 }],
      removed: 2,
    });
  });

  it('checks path values against the parameter schema (compiled once)', () => {
    const int = paramChecker({ type: 'integer', minimum: 1 })!;
    expect(int('42')).toBeUndefined();
    expect(int('abc')).toBe('must be an integer');
    expect(int('1e3')).toBe('must be an integer');
    expect(paramChecker({ type: 'number' })!('1.5')).toBeUndefined();
    expect(paramChecker({ type: 'string', pattern: '^[a-z]+$' })!('A1')).toBe('does not match the pattern');
    expect(paramChecker({ type: 'string', maxLength: 3 })!('abcd')).toBe('must have at most 3 characters');
    expect(paramChecker({ enum: ['a', 1] })!('1')).toBeUndefined();
    expect(paramChecker({ type: 'string' })).toBeUndefined();
    expect(paramChecker(undefined)).toBeUndefined();
  });
});

describe('OwnerCache', () => {
  it('expires after the TTL, evicts least recently used, invalidates', () => {
    const clock = new ManualClock(0);
    const c = new OwnerCache<string[]>(2, 1000, clock);
    c.set('a', ['1']);
    c.set('b', ['2']);
    expect(c.get('a')).toEqual(['1']); // a is now most recent
    c.set('c', ['3']); // evicts b
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toEqual(['1']);
    c.invalidate('a');
    expect(c.get('a')).toBeUndefined();
    clock.advance(1000);
    expect(c.get('c')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('shares one load between concurrent misses; failures and unkept values are not cached', async () => {
    const c = new OwnerCache<string[] | null>(10, 1000, new ManualClock(0));
    let loads = 0;
    const load = async () => {
      loads++;
      return ['1'];
    };
    const keep = (v: string[] | null) => v !== null;
    const [x, y] = await Promise.all([c.through('k', load, keep), c.through('k', load, keep)]);
    expect([x, y, loads]).toEqual([['1'], ['1'], 1]);
    expect(c.through('k', load, keep)).toEqual(['1']); // synchronous hit
    await expect(c.through('e', () => Promise.reject(new Error('down')), keep)).rejects.toThrow('down');
    expect(c.get('e')).toBeUndefined();
    await c.through('n', async () => null, keep);
    expect(c.get('n')).toBeUndefined();
    expect(c.hits).toBe(1);
  });
});

describe('checkOwner (rampart check)', () => {
  it('a rule with neither field nor param is refused (it would check nothing)', async () => {
    const { checkOwner } = await import('./x-rampart.ts');
    const doc = { operations: [] } as unknown as Parameters<typeof checkOwner>[1];
    expect(checkOwner({ claim: 'sub', bypassRoles: [] }, doc)).toEqual([
      { message: expect.stringMatching(/needs a field .* or a param/) as unknown },
    ]);
    expect(checkOwner({ param: 'userId', claim: 'sub', bypassRoles: [] }, doc)).toEqual([]);
  });
});
