import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import type { OpenApiDocument, OpenApiOperation } from '../../../core/openapi.ts';
import { LookupError, type Denial, type LookupResponse, type ResponseContext } from '../../policy.ts';
import { buildPolicy, testContext, testRoute, testServices } from '../test-context.ts';
import { owner } from './index.ts';

const alice: Principal = Object.freeze({
  id: '3',
  kind: 'user',
  roles: ['patient'],
  issuer: 'https://lab.test',
  amr: [],
  claims: Object.freeze({ sub: '3' }),
});
const admin: Principal = { ...alice, id: '1', roles: ['admin'] };

const recordOp: OpenApiOperation = {
  method: 'get',
  path: '/records/{recordId}',
  tags: [],
  parameters: [{ name: 'recordId', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
  responses: {},
  security: [{ bearer: [] }],
  deprecated: false,
  rampart: {},
};
const document = {
  source: 'lab.yaml',
  openapi: '3.1.0',
  title: 'lab',
  version: '2',
  raw: {},
  operations: [recordOp],
  securitySchemes: {},
} as OpenApiDocument;

const rule = {
  lookup: 'GET /records/{recordId}',
  field: 'patientId',
  alsoField: 'doctorId',
  claim: 'sub',
  bypassRoles: ['admin'],
};

const route = (method: 'get' | 'patch', extra: Record<string, unknown> = {}, params = { recordId: '7' }) =>
  testRoute({
    method,
    template: '/records/{recordId}',
    params,
    rampart: { owner: { ...rule, ...extra } },
    operation: { parameters: recordOp.parameters },
    document,
  });

const json = (status: number, body: unknown): LookupResponse => ({
  status,
  headers: {},
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  json() {
    return JSON.parse(this.body.toString()) as unknown;
  },
});

function setup(opts: Record<string, unknown> = {}) {
  const clock = new ManualClock(0);
  const policy = buildPolicy(owner, opts, testServices({ clock }));
  let calls = 0;
  let answer: () => Promise<LookupResponse> = async () => json(200, { patientId: 5, doctorId: 3 });
  const ctx = (r: ReturnType<typeof route>, principal: Principal | null = alice) => {
    const c = testContext({
      clock,
      route: r,
      ...(principal ? { principal } : {}),
      lookup: (op, params) => {
        calls++;
        expect([op, params]).toEqual(['GET /records/{recordId}', { recordId: r.params.recordId }]);
        return answer();
      },
    });
    return c;
  };
  return {
    clock,
    policy,
    ctx,
    calls: () => calls,
    answer: (f: () => Promise<LookupResponse>) => (answer = f),
  };
}

const run = async (s: ReturnType<typeof setup>, c: ReturnType<ReturnType<typeof setup>['ctx']>) =>
  ((await s.policy.onRequest(c)) ?? undefined) as Denial | undefined;

function expect404(d: Denial | undefined): void {
  expect(d?.problem).toMatchObject({ status: 404, type: 'https://rampart.dev/problems/not-found' });
  expect(d?.owasp).toBe('API1:2023');
}

describe('owner: lookup before a write', () => {
  it('lets the owner (field or alsoField) through, answers 404 to anyone else, bypasses admins', async () => {
    const s = setup();
    expect(await run(s, s.ctx(route('patch')))).toBeUndefined(); // doctorId 3 = alice
    s.answer(async () => json(200, { patientId: 5, doctorId: null }));
    expect404(await run(s, s.ctx(route('patch', {}, { recordId: '8' }))));
    expect(await run(s, s.ctx(route('patch', {}, { recordId: '8' }), admin))).toBeUndefined();
  });

  it('caches owners (TTL), shares nothing across objects, and a write invalidates its object', async () => {
    const s = setup({ cacheTtlMs: 1000 });
    const c1 = s.ctx(route('patch'));
    expect(await run(s, c1)).toBeUndefined();
    expect(s.calls()).toBe(1);
    // Second check of the same object: from the cache, synchronously.
    expect(s.policy.onRequest(s.ctx(route('patch')))).toBeUndefined();
    expect(s.calls()).toBe(1);
    // The write went through: its object's entry goes.
    const res: ResponseContext = { status: 200, headers: {}, body: undefined, local: false };
    await s.policy.onResponse(c1, res);
    expect(await run(s, s.ctx(route('patch')))).toBeUndefined();
    expect(s.calls()).toBe(2);
    s.clock.advance(1000);
    await run(s, s.ctx(route('patch')));
    expect(s.calls()).toBe(3);
  });

  it('a missing object (404 from the lookup) is 404 and not cached', async () => {
    const s = setup();
    s.answer(async () => json(404, { error: 'no' }));
    expect404(await run(s, s.ctx(route('patch'))));
    expect404(await run(s, s.ctx(route('patch'))));
    expect(s.calls()).toBe(2);
  });

  it.each([
    ['not JSON', async () => json(200, '<html>')],
    ['no owner field', async () => json(200, { title: 'x' })],
    ['a 500', async () => json(500, { error: 'boom' })],
    ['a timeout', () => Promise.reject(new LookupError('timeout', 'slow'))],
    ['too many lookups', () => Promise.reject(new LookupError('busy', 'busy'))],
  ] as const)('fails closed with 503 and an event on %s', async (_name, answer) => {
    const s = setup();
    s.answer(answer);
    const c = s.ctx(route('patch'));
    const d = await run(s, c);
    expect(d?.problem).toMatchObject({
      status: 503,
      type: 'https://rampart.dev/problems/upstream-unavailable',
    });
    expect(d?.headers).toEqual({ 'retry-after': '5' });
    expect(c.events).toEqual([
      expect.objectContaining({ type: 'upstream-error', reason: expect.stringMatching(/^owner: /) }),
    ]);
  });

  it('refuses path values that do not match the parameter type before any lookup', async () => {
    const s = setup();
    const d = await run(s, s.ctx(route('patch', {}, { recordId: '1 OR 1=1' })));
    expect(d?.problem).toMatchObject({ status: 400, type: 'https://rampart.dev/problems/bad-request' });
    expect(s.calls()).toBe(0);
  });

  it('anonymous: 401; a principal without the claim: 403 — never forwarded, no lookup', async () => {
    const s = setup();
    expect((await run(s, s.ctx(route('patch', { claim: 'tenant' }))))?.problem.status).toBe(403);
    expect((await run(s, s.ctx(route('patch'), null)))?.problem.status).toBe(401);
    expect(s.calls()).toBe(0);
  });
});

describe('owner: reads checked on the answer (lookup names the operation itself)', () => {
  const res = (body: unknown, status = 200): ResponseContext => ({
    status,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
    local: false,
  });

  it('no lookup; the answer is replaced with 404 when it is not the caller’s', async () => {
    const s = setup();
    const r = route('get');
    expect(s.policy.forRoute(r)?.needsResponseBody).toBe(true);
    const mine = s.ctx(r);
    expect(await run(s, mine)).toBeUndefined();
    const ok = res({ id: 7, patientId: 3 });
    await s.policy.onResponse(mine, ok);
    expect(ok.status).toBe(200);
    const theirs = s.ctx(r);
    await run(s, theirs);
    const leak = res({ id: 7, patientId: 5, diagnosis: 'secret' });
    await s.policy.onResponse(theirs, leak);
    expect(leak.status).toBe(404);
    expect(leak.body!.toString()).not.toContain('secret');
    expect(JSON.parse(leak.body!.toString())).toMatchObject({
      type: 'https://rampart.dev/problems/not-found',
    });
    expect(theirs.events).toEqual([
      expect.objectContaining({ type: 'denied', policy: 'owner', owasp: 'API1:2023' }),
    ]);
    expect(s.calls()).toBe(0);
  });

  it('HEAD has no body to check: 404 unless bypassed', async () => {
    const s = setup();
    const head = testContext({ route: route('get'), principal: alice, method: 'HEAD' });
    expect((await s.policy.onRequest(head))?.problem.status).toBe(404);
    const adminHead = testContext({ route: route('get'), principal: admin, method: 'HEAD' });
    expect(await s.policy.onRequest(adminHead)).toBeUndefined();
  });

  it('errors pass through untouched; an answer without the owner field is 503', async () => {
    const s = setup();
    const c = s.ctx(route('get'));
    await run(s, c);
    const notFound = res({ error: 'no' }, 404);
    await s.policy.onResponse(c, notFound);
    expect(notFound.status).toBe(404);
    const odd = res({ id: 7 });
    await s.policy.onResponse(c, odd);
    expect(odd.status).toBe(503);
  });
});

describe('owner: param and list modes', () => {
  it('param: /users/{userId} must equal sub', async () => {
    const s = setup();
    const r = testRoute({
      template: '/users/{userId}',
      params: { userId: '3' },
      rampart: { owner: { param: 'userId', claim: 'sub' } },
    });
    expect(await run(s, s.ctx(r))).toBeUndefined();
    const other = testRoute({
      template: '/users/{userId}',
      params: { userId: '4' },
      rampart: { owner: { param: 'userId', claim: 'sub' } },
    });
    expect404(await run(s, s.ctx(other)));
  });

  it('list: filters items the caller does not own, or refuses', async () => {
    const s = setup();
    const list = (action: string) =>
      testRoute({
        template: '/records',
        rampart: { owner: { field: 'patientId', list: { items: 'items', action } } },
      });
    const c = s.ctx(list('filter'));
    await run(s, c);
    const res: ResponseContext = {
      status: 200,
      headers: {},
      body: Buffer.from(JSON.stringify({ items: [{ patientId: 3 }, { patientId: 5 }], limit: 20 })),
      local: false,
    };
    await s.policy.onResponse(c, res);
    expect(JSON.parse(res.body!.toString())).toEqual({ items: [{ patientId: 3 }], limit: 20 });
    const c2 = s.ctx(list('refuse'));
    await run(s, c2);
    const res2: ResponseContext = {
      ...res,
      body: Buffer.from(JSON.stringify({ items: [{ patientId: 5 }] })),
    };
    await s.policy.onResponse(c2, res2);
    expect(res2.status).toBe(404);
  });
});
