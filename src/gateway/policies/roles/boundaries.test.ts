import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import type { OpenApiDocument } from '../../../core/openapi.ts';
import type { Denial } from '../../policy.ts';
import { buildPolicy, testContext, testRoute, testServices } from '../test-context.ts';
import { hasAnyRole, roles } from './index.ts';
import { tokenScopes } from './hierarchy.ts';

const user = (r: string[], claims: Record<string, unknown> = {}): Principal =>
  Object.freeze({
    id: 'u1',
    kind: 'user',
    roles: r,
    issuer: 'https://id.test',
    amr: [],
    claims: Object.freeze(claims),
  });

const build = (opts: Record<string, unknown> = {}) => buildPolicy(roles, opts, testServices());

async function run(
  opts: Record<string, unknown>,
  route: ReturnType<typeof testRoute>,
  principal?: Principal,
) {
  return ((await build(opts).onRequest(testContext({ route, ...(principal ? { principal } : {}) }))) ??
    undefined) as Denial | undefined;
}

const FORBIDDEN = 'https://rampart.dev/problems/forbidden';
const admin = testRoute({ rampart: { roles: ['admin'] } });

describe('roles: what counts as public under undeclared: deny', () => {
  it('x-rampart.auth: public opens the operation to anonymous callers', async () => {
    expect(await run({ undeclared: 'deny' }, testRoute({ rampart: { auth: 'public' } }))).toBeUndefined();
  });

  it('an operation-level security requirement that is not empty is not public', async () => {
    const own = testRoute({ operation: { raw: { security: [{ bearerAuth: [] }], responses: {} } } });
    const d = await run({ undeclared: 'deny' }, own, user(['admin']));
    expect(d?.problem).toMatchObject({ status: 403, type: FORBIDDEN });
    expect(d?.problem.detail).toMatch(/declares no roles/);
  });
});

describe('roles: maxRoles is the largest list accepted, not one less', () => {
  it('exactly maxRoles roles pass; one more is refused', async () => {
    expect(await run({ maxRoles: 2 }, admin, user(['admin', 'x']))).toBeUndefined();
    expect((await run({ maxRoles: 2 }, admin, user(['admin', 'x', 'y'])))?.problem.detail).toMatch(
      /too many/,
    );
  });

  it('exactly maxRoles scopes pass; one more is refused', async () => {
    const document = { ...admin.document, securitySchemes: { oauth: { type: 'oauth2' } } } as OpenApiDocument;
    const route = testRoute({ security: [{ oauth: ['records:write'] }], document });
    expect(await run({ maxRoles: 2 }, route, user([], { scope: 'records:write other' }))).toBeUndefined();
    const d = await run({ maxRoles: 2 }, route, user([], { scope: 'records:write other third' }));
    expect(d?.problem).toMatchObject({ status: 403, type: FORBIDDEN });
    expect(d?.problem.detail).toMatch(/too many/);
  });
});

describe('roles: build errors and effective roles', () => {
  it('an undeclared role names the operation as METHOD base+template', () => {
    const p = build({ hierarchy: { admin: [] } });
    expect(() =>
      p.forRoute(testRoute({ method: 'post', template: '/r', rampart: { roles: ['admn'] } })),
    ).toThrow("roles: POST /v1/r names role 'admn', which policies.roles.hierarchy does not declare");
  });

  it('without a hierarchy, the effective roles are the principal’s own', async () => {
    const ctx = testContext({ route: admin, principal: user(['admin', 'auditor']) });
    await build({}).onRequest(ctx);
    expect([...ctx.state.roles!.effective].sort()).toEqual(['admin', 'auditor']);
  });
});

describe('hasAnyRole (used by owner and property-access)', () => {
  it('is false without a principal', () => {
    expect(hasAnyRole(testContext({}), ['admin'])).toBe(false);
  });

  it('uses the effective roles roles left (hierarchy applied), and only them', async () => {
    const ctx = testContext({
      route: testRoute({ rampart: { roles: ['doctor'] } }),
      principal: user(['admin']),
    });
    await build({ hierarchy: { admin: ['doctor'], doctor: [], nurse: [] } }).onRequest(ctx);
    expect(hasAnyRole(ctx, ['nurse', 'doctor'])).toBe(true);
    expect(hasAnyRole(ctx, ['nurse'])).toBe(false);
  });

  it('falls back to the principal’s own roles when roles did not run', () => {
    const ctx = testContext({ principal: user(['doctor']) });
    expect(hasAnyRole(ctx, ['nurse', 'doctor'])).toBe(true);
    expect(hasAnyRole(ctx, ['admin'])).toBe(false);
  });
});

describe('tokenScopes: scp as an array', () => {
  it('keeps non-empty strings only', () => {
    expect([...tokenScopes({ scp: ['', 42, 'a', null, 'b'] })]).toEqual(['a', 'b']);
  });

  it('stops at max', () => {
    expect([...tokenScopes({ scp: ['a', 'b', 'c', 'd'] }, 2)]).toEqual(['a', 'b']);
  });
});
