import { describe, expect, it } from 'vitest';
import {
  compileAlternatives,
  holdsAny,
  RoleHierarchy,
  securityAlternatives,
  securityMet,
  tokenScopes,
} from './hierarchy.ts';

const clinic = { admin: ['doctor'], doctor: ['staff'], staff: [], patient: [] };

describe('RoleHierarchy', () => {
  it('inherits transitively: an operation for staff accepts doctors and admins, not patients', () => {
    const h = new RoleHierarchy(clinic);
    expect([...h.grantors(['staff'])].sort()).toEqual(['admin', 'doctor', 'staff']);
    expect([...h.grantors(['admin'])]).toEqual(['admin']);
    expect([...h.impliedBy('admin')].sort()).toEqual(['admin', 'doctor', 'staff']);
    expect(holdsAny(['patient'], h.grantors(['staff']))).toBe(false);
    expect(holdsAny(['patient', 'admin'], h.grantors(['staff']))).toBe(true);
  });

  it('refuses cycles and unknown parents', () => {
    expect(() => new RoleHierarchy({ a: ['b'], b: ['a'] })).toThrow(/cycle: a → b → a/);
    expect(() => new RoleHierarchy({ a: ['ghost'] })).toThrow(/'ghost'/);
  });

  it('reports unknown role names only when roles are declared', () => {
    expect(new RoleHierarchy(clinic).unknown(['admin', 'admn'])).toEqual(['admn']);
    expect(new RoleHierarchy().unknown(['anything'])).toEqual([]);
    expect([...new RoleHierarchy().grantors(['x'])]).toEqual(['x']);
  });
});

describe('OAuth scopes from the OpenAPI security requirement', () => {
  const schemes = {
    oauth: { type: 'oauth2' },
    oidc: { type: 'openIdConnect' },
    bearer: { type: 'http', scheme: 'bearer' },
  };

  it('reads scope (space-separated) and scp (array or string), bounded', () => {
    expect([...tokenScopes({ scope: 'records:read  records:write' })]).toEqual([
      'records:read',
      'records:write',
    ]);
    expect([...tokenScopes({ scp: ['a', 'b', 7] })]).toEqual(['a', 'b']);
    expect([...tokenScopes({ scp: 'a b' })]).toEqual(['a', 'b']);
    expect(tokenScopes({}).size).toBe(0);
    const many = { scope: Array.from({ length: 10_000 }, (_, i) => `s${i}`).join(' ') };
    expect(tokenScopes(many, 256).size).toBe(256);
    // Cached per claims object.
    expect(tokenScopes(many)).toBe(tokenScopes(many));
  });

  it('no requirement beyond authentication: undefined', () => {
    expect(securityAlternatives([], schemes)).toBeUndefined();
    expect(securityAlternatives([{ bearer: [] }], schemes)).toBeUndefined();
    // One alternative asks for nothing: the others cannot make it stricter.
    expect(securityAlternatives([{ oauth: ['a'] }, {}], schemes)).toBeUndefined();
  });

  it('alternatives are OR, scopes within one are AND; role names for non-OAuth schemes (OAS 3.1)', () => {
    const alts = securityAlternatives(
      [{ oauth: ['records:read', 'records:write'] }, { oidc: ['admin:all'] }, { bearer: ['doctor'] }],
      schemes,
    )!;
    expect(alts).toEqual([
      { scopes: ['records:read', 'records:write'], roles: [] },
      { scopes: ['admin:all'], roles: [] },
      { scopes: [], roles: ['doctor'] },
    ]);
    const compiled = compileAlternatives(alts, new RoleHierarchy(clinic));
    const met = (scope: string, roles: string[] = []) => securityMet(compiled, tokenScopes({ scope }), roles);
    expect(met('records:read records:write')).toBe(true);
    expect(met('records:read')).toBe(false);
    expect(met('admin:all')).toBe(true);
    expect(met('', ['admin'])).toBe(true); // admin inherits doctor
    expect(met('', ['patient'])).toBe(false);
  });
});
