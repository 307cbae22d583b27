import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import type { OpenApiDocument } from '../../../core/openapi.ts';
import type { Denial } from '../../policy.ts';
import { buildPolicy, testContext, testRoute, testServices } from '../test-context.ts';
import { roles } from './index.ts';

const user = (
  r: string[],
  claims: Record<string, unknown> = {},
  kind: Principal['kind'] = 'user',
): Principal =>
  Object.freeze({
    id: 'u1',
    kind,
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
): Promise<Denial | undefined> {
  return ((await build(opts).onRequest(testContext({ route, ...(principal ? { principal } : {}) }))) ??
    undefined) as Denial | undefined;
}

function expectForbidden(d: Denial | undefined, detail: RegExp): void {
  expect(d?.problem).toMatchObject({ status: 403, type: 'https://rampart.dev/problems/forbidden' });
  expect(d?.problem.detail).toMatch(detail);
  expect(d?.owasp).toBe('API5:2023');
}

const admin = testRoute({ template: '/admin/users', rampart: { roles: ['admin'] } });
const hierarchy = { admin: ['doctor'], doctor: [], patient: [] };

describe('roles: x-rampart.roles', () => {
  it('lets a holder of one listed role through and refuses others with 403 API5', async () => {
    expect(await run({}, admin, user(['admin']))).toBeUndefined();
    expectForbidden(await run({}, admin, user(['patient'])), /role/);
    expectForbidden(await run({}, admin, user([])), /role/);
  });

  it('applies the hierarchy: admin inherits doctor; effective roles are left for later policies', async () => {
    const doctorsOnly = testRoute({ rampart: { roles: ['doctor'] } });
    expect(await run({ hierarchy }, doctorsOnly, user(['admin']))).toBeUndefined();
    expectForbidden(await run({ hierarchy }, doctorsOnly, user(['patient'])), /role/);
    const ctx = testContext({ route: doctorsOnly, principal: user(['admin']) });
    await build({ hierarchy }).onRequest(ctx);
    expect([...ctx.state.roles!.effective].sort()).toEqual(['admin', 'doctor']);
  });

  it('anonymous callers on a role-restricted operation get 401 with a challenge', async () => {
    const d = await run({}, admin);
    expect(d?.problem).toMatchObject({ status: 401, type: 'https://rampart.dev/problems/unauthenticated' });
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer realm="rampart"' });
  });

  it('refuses principals with a huge role list (bounded, fails closed)', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `r${i}`).concat('admin');
    expectForbidden(await run({}, admin, user(many)), /too many/);
    expect(await run({ maxRoles: 1000 }, admin, user(many))).toBeUndefined();
  });

  it('a role the hierarchy does not declare is a build error', () => {
    const p = build({ hierarchy });
    expect(() => p.forRoute(testRoute({ rampart: { roles: ['admn'] } }))).toThrow(/'admn'/);
  });
});

describe('roles: secure by default', () => {
  it('undeclared: deny refuses operations that declare neither roles nor public', async () => {
    expectForbidden(await run({ undeclared: 'deny' }, testRoute(), user(['admin'])), /declares no roles/);
    expect(await run({ undeclared: 'deny' }, testRoute({ rampart: { public: true } }))).toBeUndefined();
    const ownPublic = testRoute({ security: [], operation: { raw: { security: [], responses: {} } } });
    expect(await run({ undeclared: 'deny' }, ownPublic)).toBeUndefined();
    expect(await run({ undeclared: 'deny' }, admin, user(['admin']))).toBeUndefined();
    // default allow
    expect(await run({}, testRoute(), user([]))).toBeUndefined();
  });
});

describe('roles: OAuth scopes from the OpenAPI security requirement', () => {
  const document = {
    source: 'x',
    openapi: '3.1.0',
    title: 't',
    version: '1',
    raw: {},
    operations: [],
    securitySchemes: { oauth: { type: 'oauth2' }, bearer: { type: 'http', scheme: 'bearer' } },
  } as OpenApiDocument;
  const route = testRoute({ security: [{ oauth: ['records:write'] }], document });

  it('needs the scope in scope or scp', async () => {
    expect(await run({}, route, user([], { scope: 'records:read records:write' }))).toBeUndefined();
    expect(await run({}, route, user([], { scp: ['records:write'] }))).toBeUndefined();
    expectForbidden(await run({}, route, user([], { scope: 'records:read' })), /scope/);
    expectForbidden(await run({}, route, user([])), /scope/);
    expect(await run({ scopes: 'off' }, route, user([]))).toBeUndefined();
  });

  it('role names of non-OAuth schemes are roles (OpenAPI 3.1), with the hierarchy', async () => {
    const r = testRoute({ security: [{ bearer: ['doctor'] }], document });
    expect(await run({ hierarchy }, r, user(['admin']))).toBeUndefined();
    expectForbidden(await run({ hierarchy }, r, user(['patient'])), /scope/);
  });

  it('API keys are scoped by authenticate, not by OAuth scopes', async () => {
    expect(await run({}, route, user([], {}, 'api-key'))).toBeUndefined();
  });

  it('a token with thousands of scopes is refused', async () => {
    const scope = Array.from({ length: 1000 }, (_, i) => `s${i}`).join(' ') + ' records:write';
    expectForbidden(await run({}, route, user([], { scope })), /too many/);
  });
});
