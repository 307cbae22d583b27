import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../core/clock.ts';
import { loadOpenApi } from '../../../core/openapi-loader.ts';
import type { OpenApiDocument } from '../../../core/openapi.ts';
import { LAB_SPECS } from '../../../lab/index.ts';
import type { Denial } from '../../policy.ts';
import { requestLimits } from '../request-limits/index.ts';
import { buildPolicy, documentRoute, testContext, testRoute, testServices } from '../test-context.ts';
import { validateRequest } from './index.ts';

// Each test fails when one of validate-request's decisions is removed (the mutation run's oracle).
const P = 'https://rampart.dev/problems/';

let doc: OpenApiDocument;
beforeAll(async () => {
  doc = await loadOpenApi(LAB_SPECS.v2);
});

describe('validate-request decisions', () => {
  it('a refused request is denied with the problem and its errors, and the blocked event names each violation', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 2, 5));
    const policy = buildPolicy(validateRequest, {}, testServices());
    const ctx = testContext({
      id: 'req-refused',
      ip: '198.51.100.4',
      clock,
      route: documentRoute(doc, 'get', '/records'),
      query: 'limit=1000000&offset=-1',
    });
    const d = (await policy.onRequest(ctx)) as Denial | undefined;
    // A denial is what keeps the request from the upstream: undefined would forward it.
    expect(d).toBeDefined();
    expect(d!.problem).toMatchObject({
      type: P + 'bad-request',
      status: 400,
      errors: [
        { pointer: '/query/limit', keyword: 'maximum' },
        { pointer: '/query/offset', keyword: 'minimum' },
      ],
    });
    expect(ctx.events).toEqual([
      {
        type: 'contract-violation',
        at: clock.now(),
        requestId: 'req-refused',
        ip: '198.51.100.4',
        policy: 'validate-request',
        direction: 'request',
        action: 'blocked',
        api: 'clinic',
        route: 'GET /records',
        problem: 'bad-request',
        // Only pointer and keyword: the event carries no message or request value.
        violations: [
          { pointer: '/query/limit', keyword: 'maximum' },
          { pointer: '/query/offset', keyword: 'minimum' },
        ],
      },
    ]);
  });

  it('report mode (global) forwards the request and emits a reported event with its violations', async () => {
    const policy = buildPolicy(validateRequest, { mode: 'report' }, testServices());
    const ctx = testContext({
      route: documentRoute(doc, 'patch', '/users/me'),
      body: Buffer.from('{"fullName":"A","isAdmin":true}'),
    });
    expect(await policy.onRequest(ctx)).toBeUndefined();
    expect(ctx.events).toMatchObject([
      {
        type: 'contract-violation',
        direction: 'request',
        action: 'reported',
        problem: 'validation-failed',
        route: 'PATCH /users/me',
      },
    ]);
    expect(ctx.events[0]).toHaveProperty('violations', [
      { pointer: '/body/isAdmin', keyword: expect.any(String) },
    ]);
  });

  describe('x-rampart.bodyLimit', () => {
    const operation = {
      requestBody: {
        required: false,
        content: {
          'application/json': { schema: { type: 'object', properties: { note: { type: 'string' } } } },
        },
      },
    };
    const route = testRoute({ method: 'post', template: '/notes', operation, rampart: { bodyLimit: 20 } });
    const body = (n: number) => Buffer.from(`{"note":"${'x'.repeat(n - 11)}"}`);

    it('a body of exactly the limit passes; one byte more is 413 payload-too-large naming the limit', async () => {
      const policy = buildPolicy(validateRequest, {}, testServices());
      expect(body(20).length).toBe(20);
      expect(await policy.onRequest(testContext({ route, body: body(20) }))).toBeUndefined();
      const ctx = testContext({ route, body: body(21) });
      expect(((await policy.onRequest(ctx)) as Denial).problem).toMatchObject({
        type: P + 'payload-too-large',
        status: 413,
        detail: 'Request bodies are limited to 20 bytes here',
      });
    });

    it('a request without a body passes a route with a limit; a route without one takes any size', async () => {
      const policy = buildPolicy(validateRequest, {}, testServices());
      expect(await policy.onRequest(testContext({ route }))).toBeUndefined();
      const unlimited = testRoute({ method: 'post', template: '/notes', operation });
      expect(await policy.onRequest(testContext({ route: unlimited, body: body(5000) }))).toBeUndefined();
    });
  });

  it('a scan of other bytes (the body replaced after request-limits) does not stand in: duplicate keys are still refused', async () => {
    const route = documentRoute(doc, 'post', '/auth/login');
    const limits = buildPolicy(requestLimits, {}, testServices());
    const policy = buildPolicy(validateRequest, {}, testServices());
    // request-limits scans a clean body: two members, nothing hazardous.
    const scannedCtx = testContext({ route, body: Buffer.from('{"username":"alice","password":"x"}') });
    expect(await limits.onRequest(scannedCtx)).toBeUndefined();
    const stale = scannedCtx.state.jsonShape;
    expect(stale).toBeDefined();
    // The body that arrives at validate-request parses to two members too, but repeats a key.
    const ctx = testContext({
      route,
      body: Buffer.from('{"username":"alice","password":"x","username":"admin"}'),
    });
    ctx.state.jsonShape = stale;
    expect(((await policy.onRequest(ctx)) as Denial | undefined)?.problem).toMatchObject({
      type: P + 'unsafe-json',
      errors: [{ keyword: 'duplicate-key' }],
    });
  });
});
