/**
 * Each security decision of the `owner` policy pinned by the outcome a caller sees: which
 * lookup answers deny (404, not cached) and which fail closed (503), which answers the
 * response and list checks leave alone, the body-owner check on writes without a lookup,
 * cache invalidation only after a successful write through the gateway, and the problem
 * and events of a replaced answer. Written to kill the mutants issue #19's run left alive.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import type { OpenApiDocument, OpenApiOperation } from '../../../core/openapi.ts';
import type { Denial, LookupOptions, LookupResponse, ResponseContext } from '../../policy.ts';
import { buildPolicy, testContext, testRoute, testServices } from '../test-context.ts';
import { owner } from './index.ts';
import { dotted, isOwner, ownersOf, paramChecker, scalar } from './rules.ts';

const alice: Principal = Object.freeze({
  id: '3',
  kind: 'user',
  roles: ['patient'],
  issuer: 'https://lab.test',
  amr: [],
  claims: Object.freeze({ sub: '3' }),
});
const admin: Principal = { ...alice, id: '1', roles: ['admin'] };

const params = [
  { name: 'recordId', in: 'path', required: true, schema: { type: 'integer' } },
] as OpenApiOperation['parameters'];
const op = (method: 'get' | 'patch', path = '/records/{recordId}'): OpenApiOperation => ({
  method,
  path,
  tags: [],
  parameters: params,
  responses: {},
  security: [{ bearer: [] }],
  deprecated: false,
  rampart: {},
});
const document = {
  source: 'lab.yaml',
  openapi: '3.1.0',
  title: 'lab',
  version: '2',
  raw: {},
  operations: [op('get'), op('patch'), op('get', '/notes/{recordId}')],
  securitySchemes: {},
} as OpenApiDocument;

const lookupRule = { lookup: 'GET /records/{recordId}', field: 'patientId', bypassRoles: ['admin'] };

const route = (
  method: 'get' | 'patch',
  rule: Record<string, unknown> = lookupRule,
  p: Record<string, string> = { recordId: '7' },
  template = '/records/{recordId}',
) =>
  testRoute({
    method,
    template,
    params: p,
    rampart: { owner: rule },
    operation: { parameters: params },
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

const res = (body: unknown, status = 200, local = false): ResponseContext => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  local,
});

function setup(opts: Record<string, unknown> = {}) {
  const clock = new ManualClock(0);
  const policy = buildPolicy(owner, opts, testServices({ clock }));
  const calls: Array<[string, Record<string, string>, LookupOptions | undefined]> = [];
  let answer: () => Promise<LookupResponse> = async () => json(200, { patientId: 3 });
  const ctx = (r: ReturnType<typeof route>, principal: Principal | null = alice, body?: unknown) =>
    testContext({
      clock,
      route: r,
      ...(principal ? { principal } : {}),
      ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
      lookup: (o, p, lo) => {
        calls.push([o, p, lo]);
        return answer();
      },
    });
  return { clock, policy, ctx, calls, answer: (f: () => Promise<LookupResponse>) => (answer = f) };
}
type Setup = ReturnType<typeof setup>;
const run = async (s: Setup, c: ReturnType<Setup['ctx']>) =>
  ((await s.policy.onRequest(c)) ?? undefined) as Denial | undefined;
const status = (d: Denial | undefined) => d?.problem.status;
const NOT_FOUND = 'https://rampart.dev/problems/not-found';
const UNAVAILABLE = 'https://rampart.dev/problems/upstream-unavailable';

describe('owner decisions: the lookup answer', () => {
  it.each([401, 403, 404, 410])(
    'a lookup answering %i is 404 for the caller and is not cached',
    async (code) => {
      const s = setup();
      s.answer(async () => json(code, { error: 'no' }));
      const d = await run(s, s.ctx(route('patch')));
      expect(d?.problem).toMatchObject({ status: 404, type: NOT_FOUND });
      expect(d?.owasp).toBe('API1:2023');
      await run(s, s.ctx(route('patch')));
      expect(s.calls).toHaveLength(2);
    },
  );

  it.each([200, 204, 299])('a lookup answering %i with the owner is decided on the owner', async (code) => {
    const s = setup();
    s.answer(async () => json(code, { patientId: 3 }));
    expect(await run(s, s.ctx(route('patch')))).toBeUndefined();
  });

  it.each([199, 300, 302, 400, 500, 502])(
    'a lookup answering %i fails closed: 503, reason names the status',
    async (code) => {
      const s = setup();
      s.answer(async () => json(code, { patientId: 3 }));
      const c = s.ctx(route('patch'));
      const d = await run(s, c);
      expect(d?.problem).toMatchObject({ status: 503, type: UNAVAILABLE });
      expect(c.events).toEqual([
        expect.objectContaining({
          type: 'upstream-error',
          reason: `owner: lookup answered ${code}`,
          api: 'shop',
        }),
      ]);
    },
  );

  it('the 503 reasons name the cause (not JSON, no owner field, lookup error code, anything else)', async () => {
    const reasons: string[] = [];
    for (const answer of [
      async () => json(200, '<html>'),
      async () => json(200, { title: 'x' }),
      () => Promise.reject(new (class extends Error {})('x')),
      () => Promise.reject(new Error('boom')),
    ]) {
      const s = setup();
      s.answer(answer as () => Promise<LookupResponse>);
      const c = s.ctx(route('patch'));
      expect(status(await run(s, c))).toBe(503);
      reasons.push((c.events[0] as { reason: string }).reason);
    }
    expect(reasons).toEqual([
      'owner: lookup answer is not JSON',
      'owner: lookup answer lacks the owner field',
      'owner: lookup failed',
      'owner: lookup failed',
    ]);
  });

  it('passes the configured timeout and size limit to the lookup, and only the named parameters', async () => {
    const s = setup({ lookupTimeoutMs: 777, lookupMaxBytes: 4096 });
    await run(s, s.ctx(route('patch', lookupRule, { recordId: '7', extra: 'x' })));
    expect(s.calls).toEqual([
      ['GET /records/{recordId}', { recordId: '7' }, { timeoutMs: 777, maxBytes: 4096 }],
    ]);
  });

  it('cache keys are per lookup operation: another lookup for the same id is not answered from the cache', async () => {
    const s = setup();
    expect(await run(s, s.ctx(route('patch')))).toBeUndefined();
    const notes = { ...lookupRule, lookup: 'GET /notes/{recordId}' };
    s.answer(async () => json(200, { patientId: 5 }));
    expect(status(await run(s, s.ctx(route('patch', notes))))).toBe(404);
    expect(s.calls).toHaveLength(2);
  });

  it('a bypassed admin makes no lookup; an ordinary caller does', async () => {
    const s = setup();
    expect(await run(s, s.ctx(route('patch'), admin))).toBeUndefined();
    expect(s.calls).toHaveLength(0);
    const noBypass = { ...lookupRule, bypassRoles: undefined };
    s.answer(async () => json(200, { patientId: 5 }));
    expect(status(await run(s, s.ctx(route('patch', noBypass), admin)))).toBe(404);
    expect(s.calls).toHaveLength(1);
  });

  it('anonymous on a lookup write: 401 with WWW-Authenticate, no lookup', async () => {
    const s = setup();
    const d = await run(s, s.ctx(route('patch'), null));
    expect(d?.problem).toMatchObject({ status: 401, type: 'https://rampart.dev/problems/unauthenticated' });
    expect(d?.headers).toEqual({ 'www-authenticate': 'Bearer realm="rampart"' });
    expect(s.calls).toHaveLength(0);
  });

  it('an invalid path value is 400 naming the parameter, before any lookup', async () => {
    const s = setup();
    const d = await run(s, s.ctx(route('patch', lookupRule, { recordId: 'abc' })));
    expect(d?.problem).toMatchObject({ status: 400, detail: "Path parameter 'recordId' is not valid" });
    expect(s.calls).toHaveLength(0);
  });
});

describe('owner decisions: invalidation after writes', () => {
  const write = async (s: Setup, r: ResponseContext, principal: Principal = alice) => {
    const c = s.ctx(route('patch'), principal);
    await run(s, c);
    await s.policy.onResponse(c, r);
  };

  it('a failed (≥ 400) or gateway-local answer keeps the cached owner; a 399 or bypassed write drops it', async () => {
    const s = setup();
    await run(s, s.ctx(route('patch')));
    expect(s.calls).toHaveLength(1);
    await write(s, res(undefined, 400));
    await write(s, res(undefined, 200, true));
    expect(s.calls).toHaveLength(1); // both checks above came from the cache
    await write(s, res(undefined, 399));
    await run(s, s.ctx(route('patch')));
    expect(s.calls).toHaveLength(2);
    await write(s, res(undefined, 204), admin); // admin bypasses the check, the write still invalidates
    await run(s, s.ctx(route('patch')));
    expect(s.calls).toHaveLength(3);
  });

  it('a read with a lookup (mode: lookup) does not invalidate', async () => {
    const s = setup();
    const r = route('get', { ...lookupRule, mode: 'lookup' });
    expect(s.policy.forRoute(r)?.needsResponseBody).toBeFalsy();
    const c = s.ctx(r);
    expect(await run(s, c)).toBeUndefined();
    expect(c.state.owner).toBeUndefined();
    expect(await run(s, s.ctx(r))).toBeUndefined();
    expect(s.calls).toHaveLength(1);
  });
});

describe('owner decisions: writes without a lookup check the body', () => {
  const r = () => route('patch', { field: 'patientId' });

  it('the body owner must be the caller; another owner, no owner field or no body is 404', async () => {
    const s = setup();
    expect(await run(s, s.ctx(r(), alice, { patientId: 3 }))).toBeUndefined();
    expect(await run(s, s.ctx(r(), alice, { patientId: '3' }))).toBeUndefined();
    for (const body of [{ patientId: 5 }, { title: 'x' }, { patientId: null }, undefined]) {
      const d = await run(s, s.ctx(r(), alice, body));
      expect(d?.problem).toMatchObject({ status: 404, type: NOT_FOUND });
    }
    expect(s.calls).toHaveLength(0);
  });

  it('anonymous is 401, a caller without the claim 403, an admin bypasses only when listed', async () => {
    const s = setup();
    expect(status(await run(s, s.ctx(r(), null, { patientId: 3 })))).toBe(401);
    const tenant = route('patch', { field: 'patientId', claim: 'tenant' });
    expect(status(await run(s, s.ctx(tenant, alice, { patientId: 3 })))).toBe(403);
    expect(status(await run(s, s.ctx(r(), admin, { patientId: 3 })))).toBe(404);
    const bypass = route('patch', { field: 'patientId', bypassRoles: ['admin'] });
    expect(await run(s, s.ctx(bypass, admin, { patientId: 5 }))).toBeUndefined();
  });
});

describe('owner decisions: reads checked on the answer', () => {
  const read = route('get', { field: 'patientId' });

  it('a read with neither lookup nor mode is checked on the answer; a write with a lookup is not', () => {
    const s = setup();
    expect(s.policy.forRoute(read)?.needsResponseBody).toBe(true);
    expect(s.policy.forRoute(route('patch'))?.needsResponseBody).toBeFalsy();
    expect(s.policy.forRoute(route('patch', { ...lookupRule, mode: 'response' }))?.needsResponseBody).toBe(
      true,
    );
    // A lookup naming a different operation: checked by lookup before forwarding, not on the answer.
    const other = route('get', { ...lookupRule, lookup: 'GET /notes/{recordId}' });
    expect(s.policy.forRoute(other)?.needsResponseBody).toBeFalsy();
    // The operation's own lookup with a different method is not "self".
    const patchSelf = route('get', { ...lookupRule, lookup: 'PATCH /records/{recordId}' });
    expect(s.policy.forRoute(patchSelf)?.needsResponseBody).toBeFalsy();
  });

  it('anonymous is 401 before anything is forwarded', async () => {
    const s = setup();
    expect(status(await run(s, s.ctx(read, null)))).toBe(401);
  });

  it('non-2xx and gateway-local answers pass untouched, 2xx edges are checked', async () => {
    const s = setup();
    const c = s.ctx(read);
    await run(s, c);
    for (const [code, local] of [
      [199, false],
      [300, false],
      [200, true],
    ] as const) {
      const r = res({ patientId: 5, secret: 's' }, code, local);
      await s.policy.onResponse(c, r);
      expect(r.status).toBe(code);
      expect(r.body!.toString()).toContain('secret');
    }
    for (const code of [200, 299]) {
      const r = res({ patientId: 5, secret: 's' }, code);
      await s.policy.onResponse(c, r);
      expect(r.status).toBe(404);
    }
  });

  it('a bypassed caller’s answer is not checked', async () => {
    const s = setup();
    const r = route('get', { field: 'patientId', bypassRoles: ['admin'] });
    const c = s.ctx(r, admin);
    expect(await run(s, c)).toBeUndefined();
    const a = res({ patientId: 5 });
    await s.policy.onResponse(c, a);
    expect(a.status).toBe(200);
  });

  it('a replaced answer is a problem document with the request id, and the events say why', async () => {
    const s = setup();
    const c = s.ctx(read);
    await run(s, c);
    const denied = res({ patientId: 5 });
    await s.policy.onResponse(c, denied);
    expect(denied.headers).toEqual({ 'content-type': 'application/problem+json' });
    expect(JSON.parse(denied.body!.toString())).toMatchObject({
      type: NOT_FOUND,
      status: 404,
      request_id: c.id,
    });
    expect(c.events).toEqual([
      expect.objectContaining({
        type: 'denied',
        policy: 'owner',
        problem: 'not-found',
        route: '/records/{recordId}',
        principal: '3',
        owasp: 'API1:2023',
        requestId: c.id,
      }),
    ]);
    const c2 = s.ctx(read);
    await run(s, c2);
    for (const body of [{ id: 7 }, '<html>', undefined]) {
      const odd = res(body);
      await s.policy.onResponse(c2, odd);
      expect(odd.status).toBe(503);
      expect(odd.headers).toEqual({ 'content-type': 'application/problem+json', 'retry-after': '5' });
    }
    expect(c2.events.slice(0, 2)).toEqual([
      expect.objectContaining({ type: 'denied', problem: 'upstream-unavailable' }),
      expect.objectContaining({
        type: 'upstream-error',
        api: 'shop',
        reason: 'owner: owner field missing in the response',
      }),
    ]);
  });
});

describe('owner decisions: lists', () => {
  const list = (l: Record<string, unknown>) =>
    testRoute({ template: '/records', rampart: { owner: { field: 'patientId', list: l } } });
  const page = (items: unknown, extra: Record<string, unknown> = {}) => ({ items, ...extra });

  it('the default items path is `items`; an answer where nothing is removed is left byte for byte', async () => {
    const s = setup();
    const c = s.ctx(list({}));
    expect(s.policy.forRoute(list({}))?.needsResponseBody).toBe(true);
    await run(s, c);
    const raw = '{ "items": [ {"patientId": 3} ] }';
    const r = res(raw);
    await s.policy.onResponse(c, r);
    expect(r.body!.toString()).toBe(raw);
    const mixed = res(page([{ patientId: 3 }, { patientId: 5 }, { title: 'no owner' }]));
    await s.policy.onResponse(c, mixed);
    expect(JSON.parse(mixed.body!.toString())).toEqual({ items: [{ patientId: 3 }] });
  });

  it('a top-level array (items: "") and a nested path are filtered', async () => {
    const s = setup();
    const top = s.ctx(list({ items: '' }));
    await run(s, top);
    const r = res([{ patientId: 5 }, { patientId: 3 }]);
    await s.policy.onResponse(top, r);
    expect(JSON.parse(r.body!.toString())).toEqual([{ patientId: 3 }]);
    const nested = s.ctx(list({ items: 'data.rows' }));
    await run(s, nested);
    const n = res({ data: { rows: [{ patientId: 5 }, { patientId: 3 }], total: 2 }, next: null });
    await s.policy.onResponse(nested, n);
    expect(JSON.parse(n.body!.toString())).toEqual({
      data: { rows: [{ patientId: 3 }], total: 2 },
      next: null,
    });
  });

  it('no list at the path, or no JSON, fails closed with 503; non-2xx and local answers pass', async () => {
    const s = setup();
    const c = s.ctx(list({}));
    await run(s, c);
    for (const body of [{ rows: [] }, '<html>', undefined, { items: { patientId: 5 } }]) {
      const r = res(body);
      await s.policy.onResponse(c, r);
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('5');
    }
    expect(c.events[1]).toMatchObject({ type: 'upstream-error', reason: 'owner: owner list: no items' });
    for (const [code, local] of [
      [199, false],
      [300, false],
      [200, true],
    ] as const) {
      const r = res(page([{ patientId: 5 }]), code, local);
      await s.policy.onResponse(c, r);
      expect(r.status).toBe(code);
      expect(JSON.parse(r.body!.toString())).toEqual(page([{ patientId: 5 }]));
    }
    const edge = res(page([{ patientId: 5 }]), 299);
    await s.policy.onResponse(c, edge);
    expect(JSON.parse(edge.body!.toString())).toEqual(page([]));
  });

  it('anonymous is 401 and a caller without the claim 403 on a list; a bypassed caller sees everything', async () => {
    const s = setup();
    expect(status(await run(s, s.ctx(list({}), null)))).toBe(401);
    const tenant = testRoute({
      template: '/records',
      rampart: { owner: { field: 'patientId', claim: 'tenant', list: {} } },
    });
    expect(status(await run(s, s.ctx(tenant)))).toBe(403);
    const by = testRoute({
      template: '/records',
      rampart: { owner: { field: 'patientId', bypassRoles: ['admin'], list: {} } },
    });
    const c = s.ctx(by, admin);
    expect(await run(s, c)).toBeUndefined();
    const r = res(page([{ patientId: 5 }]));
    await s.policy.onResponse(c, r);
    expect(JSON.parse(r.body!.toString())).toEqual(page([{ patientId: 5 }]));
  });
});

describe('owner decisions: param mode and configuration', () => {
  it('param from the query string when the template lacks it', async () => {
    const s = setup();
    const r = testRoute({ template: '/records', rampart: { owner: { param: 'patientId' } } });
    const ok = testContext({ route: r, principal: alice, query: 'patientId=3' });
    expect(await s.policy.onRequest(ok)).toBeUndefined();
    const other = testContext({ route: r, principal: alice, query: 'patientId=5' });
    expect((await s.policy.onRequest(other))?.problem.status).toBe(404);
    expect((await s.policy.onRequest(testContext({ route: r, query: 'patientId=3' })))?.problem.status).toBe(
      401,
    );
  });

  it('an operation without x-rampart.owner has no hooks; broken rules refuse to compile', () => {
    const s = setup();
    expect(s.policy.forRoute(testRoute({}))).toBeUndefined();
    expect(() => s.policy.forRoute(route('patch', { claim: 'sub' }))).toThrow(
      /PATCH \/v1\/records\/\{recordId\} needs owner.field/,
    );
    expect(() => s.policy.forRoute(route('patch', { field: 'p', lookup: 'GET /nope/{recordId}' }))).toThrow(
      /lookup 'GET \/nope\/\{recordId\}' is not an operation/,
    );
    expect(() =>
      s.policy.forRoute(route('patch', { field: 'p', lookup: 'GET /records/{recordId}' }, {}, '/other/{id}')),
    ).toThrow(/needs the path parameter 'recordId'/);
  });
});

describe('owner rules: edges', () => {
  it('scalar: only finite numbers; dotted: never through arrays or null', () => {
    expect(scalar(Number.NaN)).toBeUndefined();
    expect(scalar(Infinity)).toBeUndefined();
    expect(scalar(true)).toBeUndefined();
    expect(scalar(0)).toBe('0');
    expect(dotted([{ a: 1 }], '0')).toBeUndefined();
    expect(dotted(null, 'a')).toBeUndefined();
    expect(dotted('abc', 'length')).toBeUndefined();
    expect(dotted({ a: [1] }, 'a.0')).toBeUndefined();
    expect(ownersOf({ team: [null, {}, 'x'] }, ['team'])).toEqual(['x']);
    expect(ownersOf({ p: null }, ['p'])).toEqual([]);
    expect(isOwner(['1'], 'undefined')).toBe(false);
  });

  it('paramChecker: number, maxLength, enum, pattern, string unions', () => {
    expect(paramChecker(true as never)).toBeUndefined();
    expect(paramChecker({ type: 'string' })).toBeUndefined();
    const num = paramChecker({ type: 'number' })!;
    expect(num('1.5e3')).toBeUndefined();
    expect(num('x')).toBe('must be a number');
    expect(paramChecker({ type: ['number', 'string'] })).toBeUndefined();
    expect(paramChecker({ type: ['integer', 'string'] })).toBeUndefined();
    const len = paramChecker({ type: 'string', maxLength: 3 })!;
    expect(len('abc')).toBeUndefined();
    expect(len('abcd')).toBe('must have at most 3 characters');
    const en = paramChecker({ enum: ['a', 1] })!;
    expect(en('1')).toBeUndefined();
    expect(en('b')).toBe('is not one of the allowed values');
    const pat = paramChecker({ pattern: '^\\p{L}+$' })!;
    expect(pat('é')).toBeUndefined();
    expect(pat('1')).toBe('does not match the pattern');
  });
});

describe('owner decisions: lookup keys, parameter schemas, lifecycle', () => {
  const projectOp: OpenApiOperation = {
    ...op('get', '/projects/{projectId}/records/{recordId}'),
    parameters: [],
  };
  const doc2 = { ...document, operations: [projectOp] } as OpenApiDocument;
  const twoParams = (p: Record<string, string>) =>
    testRoute({
      method: 'patch',
      template: '/projects/{projectId}/records/{recordId}',
      params: p,
      rampart: { owner: { lookup: 'GET /projects/{projectId}/records/{recordId}', field: 'patientId' } },
      document: doc2,
    });

  it('the cache key separates path values: (1, 23) and (12, 3) are different objects', async () => {
    const s = setup();
    expect(await run(s, s.ctx(twoParams({ projectId: '1', recordId: '23' })))).toBeUndefined();
    s.answer(async () => json(200, { patientId: 5 }));
    expect(status(await run(s, s.ctx(twoParams({ projectId: '12', recordId: '3' }))))).toBe(404);
    expect(s.calls.map((c) => c[1])).toEqual([
      { projectId: '1', recordId: '23' },
      { projectId: '12', recordId: '3' },
    ]);
  });

  it('a path parameter without a schema is not checked; the schema is the path parameter’s of that name', async () => {
    const s = setup();
    // No declared parameters at all: any value is looked up.
    expect(await run(s, s.ctx(twoParams({ projectId: 'a', recordId: 'b' })))).toBeUndefined();
    const mixed = testRoute({
      method: 'patch',
      template: '/records/{recordId}',
      params: { recordId: 'abc' },
      rampart: { owner: lookupRule },
      operation: {
        parameters: [
          { name: 'recordId', in: 'query', required: false, schema: { type: 'integer' } },
          { name: 'other', in: 'path', required: true, schema: { type: 'integer' } },
          { name: 'recordId', in: 'path', required: true, schema: { type: 'string' } },
        ] as OpenApiOperation['parameters'],
      },
      document,
    });
    expect(await run(s, s.ctx(mixed))).toBeUndefined();
    expect(s.calls).toHaveLength(2);
  });

  it('a lookup must name an operation by method and path', () => {
    const s = setup();
    expect(() =>
      s.policy.forRoute(route('patch', { field: 'p', lookup: 'PATCH /notes/{recordId}' })),
    ).toThrow(/is not an operation/);
  });

  it('a denied request (invalid path value) leaves nothing to invalidate and onResponse copes', async () => {
    const s = setup();
    const c = s.ctx(route('patch', lookupRule, { recordId: 'abc' }));
    expect(status(await run(s, c))).toBe(400);
    await expect(Promise.resolve(s.policy.onResponse(c, res(undefined, 400)))).resolves.not.toThrow();
  });

  it('a lookup error names its code in the event', async () => {
    const { LookupError } = await import('../../policy.ts');
    const s = setup();
    s.answer(() => Promise.reject(new LookupError('timeout', 'slow')));
    const c = s.ctx(route('patch'));
    expect(status(await run(s, c))).toBe(503);
    expect(c.events[0]).toMatchObject({ reason: 'owner: lookup timeout' });
  });

  it('close() forgets every cached owner', async () => {
    const s = setup();
    await run(s, s.ctx(route('patch')));
    await s.policy.hooks.close?.();
    await run(s, s.ctx(route('patch')));
    expect(s.calls).toHaveLength(2);
  });

  it('paramChecker ignores a maxLength that is not a number', () => {
    expect(paramChecker({ type: 'string', maxLength: '3' } as never)).toBeUndefined();
  });
});
