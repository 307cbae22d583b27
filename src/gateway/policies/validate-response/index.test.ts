import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../../core/openapi-loader.ts';
import type { OpenApiDocument } from '../../../core/openapi.ts';
import { LAB_SPECS } from '../../../lab/index.ts';
import type { ResponseContext } from '../../policy.ts';
import { buildPolicy, documentRoute, testContext, testServices } from '../test-context.ts';
import { validateResponse } from './index.ts';

let doc: OpenApiDocument;
beforeAll(async () => {
  doc = await loadOpenApi(LAB_SPECS.v2);
});

const answer = (status: number, type: string, body: unknown): ResponseContext => ({
  status,
  headers: { 'content-type': type, 'x-powered-by': 'x' },
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  local: false,
});
const P = 'https://rampart.dev/problems/';
const invoice = {
  id: 1,
  patientId: 3,
  description: 'Consultation',
  amountCents: 5000,
  discountCents: 0,
  coverageCents: 0,
  amountDueCents: 5000,
  insurancePlan: null,
  status: 'open',
};

describe('validate-response', () => {
  it('passes a valid answer untouched (undeclared properties are minimise-response’s)', async () => {
    const policy = buildPolicy(validateResponse, {}, testServices());
    const ctx = testContext({
      route: documentRoute(doc, 'get', '/invoices/{invoiceId}', { invoiceId: '1' }),
    });
    const res = answer(200, 'application/json', { ...invoice, internal: 'x' });
    const before = res.body;
    await policy.onResponse(ctx, res);
    expect(res.status).toBe(200);
    expect(res.body).toBe(before);
    expect(ctx.events).toEqual([]);
  });
  it('blocks a 2xx that breaks its schema: 502 response-invalid, event, no upstream detail', async () => {
    const policy = buildPolicy(validateResponse, {}, testServices());
    const ctx = testContext({
      route: documentRoute(doc, 'get', '/invoices/{invoiceId}', { invoiceId: '1' }),
    });
    const res = answer(200, 'application/json', { ...invoice, amountDueCents: -250 });
    await policy.onResponse(ctx, res);
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['x-powered-by']).toBeUndefined();
    const p = JSON.parse(res.body!.toString()) as Record<string, unknown>;
    expect(p).toMatchObject({ type: P + 'response-invalid', request_id: ctx.id });
    expect(res.body!.toString()).not.toContain('-250');
    expect(ctx.events).toMatchObject([
      {
        type: 'contract-violation',
        action: 'blocked',
        violations: [{ pointer: '/body/amountDueCents', keyword: 'minimum' }],
      },
    ]);
  });
  it('an undeclared status never reaches the client (502)', async () => {
    const policy = buildPolicy(validateResponse, {}, testServices());
    const ctx = testContext({ route: documentRoute(doc, 'get', '/health') });
    const res = answer(500, 'text/html', '<pre>Error: ENOENT at /srv/app.js:12</pre>');
    await policy.onResponse(ctx, res);
    expect(res.status).toBe(502);
    expect(res.body!.toString()).not.toContain('ENOENT');
  });
  it('an error page for a declared error status becomes a generic problem with the same status', async () => {
    const policy = buildPolicy(validateResponse, {}, testServices());
    const ctx = testContext({ route: documentRoute(doc, 'get', '/users/me') });
    const res = answer(401, 'application/json', { error: 'Wrong password for alice (hash 5f4d…)' });
    res.headers['www-authenticate'] = 'Bearer';
    await policy.onResponse(ctx, res);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(res.body!.toString())).toMatchObject({ type: P + 'unauthenticated', status: 401 });
  });
  it('report mode passes the answer and reports; local answers are never checked', async () => {
    const policy = buildPolicy(validateResponse, { mode: 'report' }, testServices());
    const ctx = testContext({ route: documentRoute(doc, 'get', '/health') });
    const res = answer(200, 'application/json', { status: 'broken' });
    await policy.onResponse(ctx, res);
    expect(res.status).toBe(200);
    expect(ctx.events).toMatchObject([{ action: 'reported' }]);
    const block = buildPolicy(validateResponse, {}, testServices());
    const local = { ...answer(404, 'application/problem+json', {}), local: true };
    await block.onResponse(ctx, local);
    expect(local.status).toBe(404);
  });
});
