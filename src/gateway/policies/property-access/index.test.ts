import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import type { Denial, ResponseContext } from '../../policy.ts';
import { buildPolicy, testContext, testRoute, testServices } from '../test-context.ts';
import { roles } from '../roles/index.ts';
import { propertyAccess } from './index.ts';

const who = (r: string[]): Principal => ({
  id: 'u',
  kind: 'user',
  roles: r,
  issuer: 'i',
  amr: [],
  claims: {},
});

const user = {
  type: 'object',
  properties: {
    fullName: { type: 'string' },
    role: { type: 'string', readOnly: true, 'x-rampart': { writableBy: ['admin'] } },
    id: { type: 'integer', readOnly: true },
    nationalId: { type: ['string', 'null'], 'x-rampart': { visibleTo: ['admin', 'doctor'] } },
  },
};
const route = testRoute({
  method: 'patch',
  template: '/users/{userId}',
  operation: {
    requestBody: { required: true, content: { 'application/json': { schema: user } } },
    responses: { '200': { content: { 'application/json': { schema: user } } } },
  },
});

const policy = (opts: Record<string, unknown> = {}) => buildPolicy(propertyAccess, opts, testServices());

async function write(body: unknown, principal: Principal, opts: Record<string, unknown> = {}) {
  const ctx = testContext({ route, principal, body: Buffer.from(JSON.stringify(body)) });
  return ((await policy(opts).onRequest(ctx)) ?? undefined) as Denial | undefined;
}

describe('property-access: request bodies', () => {
  it('refuses readOnly properties with 422 and API3', async () => {
    const d = await write({ id: 9 }, who(['admin']));
    expect(d?.problem).toMatchObject({
      status: 422,
      type: 'https://rampart.dev/problems/validation-failed',
      detail: "Property '/id' is read-only",
    });
    expect(d?.owasp).toBe('API3:2023');
    expect(await write({ fullName: 'A' }, who([]))).toBeUndefined();
    expect(await write({ id: 9 }, who([]), { readOnly: 'allow' })).toBeUndefined();
  });

  it('writableBy: only those roles may send the property (403 for others)', async () => {
    const d = await write({ role: 'admin' }, who(['patient']));
    expect(d?.problem).toMatchObject({ status: 403, type: 'https://rampart.dev/problems/forbidden' });
    expect(await write({ role: 'doctor' }, who(['admin']))).toBeUndefined();
  });

  it('uses the effective roles of the roles policy (hierarchy)', async () => {
    const ctx = testContext({ route, principal: who(['superadmin']), body: Buffer.from('{"role":"x"}') });
    await buildPolicy(roles, { hierarchy: { superadmin: ['admin'], admin: [] } }, testServices()).onRequest(
      ctx,
    );
    expect(await policy().onRequest(ctx)).toBeUndefined();
  });

  it('malformed JSON is the gateway’s 400 invalid-json', () => {
    const ctx = testContext({ route, principal: who([]), body: Buffer.from('{"role":') });
    expect(() => policy().onRequest(ctx)).toThrow(
      expect.objectContaining({ problem: expect.objectContaining({ status: 400 }) }),
    );
  });
});

describe('property-access: responses', () => {
  const answer = (): ResponseContext => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ fullName: 'A', nationalId: 'X-1' })),
    local: false,
  });

  it('removes visibleTo properties for everyone else; the response body is buffered for this route only', async () => {
    const p = policy();
    expect(p.forRoute(route)?.needsResponseBody).toBe(true);
    expect(p.forRoute(testRoute())).toBeUndefined();
    const patient = answer();
    await p.onResponse(testContext({ route, principal: who(['patient']) }), patient);
    expect(JSON.parse(patient.body!.toString())).toEqual({ fullName: 'A' });
    const doctor = answer();
    await p.onResponse(testContext({ route, principal: who(['doctor']) }), doctor);
    expect(JSON.parse(doctor.body!.toString())).toEqual({ fullName: 'A', nationalId: 'X-1' });
    const anonymous = answer();
    await p.onResponse(testContext({ route }), anonymous);
    expect(JSON.parse(anonymous.body!.toString())).toEqual({ fullName: 'A' });
  });
});
