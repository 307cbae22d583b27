/**
 * Each decision of the `rate-limit` policy pinned by what a caller and the counter store see:
 * the policy built inside each test on the real memory counter store (an injected
 * ManualClock: windows advance without sleeping), driven through its hooks. A recording
 * wrapper keeps every call the policy makes to the store (keys, specs, modes, refunds,
 * lease releases) and forwards it unchanged; the fail-mode tests put the real failover
 * store in front of a Redis that does not answer. Written to kill the mutants issue #19's
 * first run left alive (docs/testing.md).
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import {
  CounterStoreUnavailable,
  type CounterStore,
  type FailureSpec,
  type LeaseSpec,
  type RateOptions,
  type RateSpec,
  type WindowSpec,
} from '../../../core/counters.ts';
import type { HttpMethod } from '../../../core/openapi.ts';
import { parseOpenApi } from '../../../core/openapi-loader.ts';
import { FailoverCounterStore } from '../../../store/counters/failover.ts';
import { MemoryCounterStore } from '../../../store/counters/memory.ts';
import { RedisCounterStore } from '../../../store/counters/redis.ts';
import type { Denial, RequestContext, ResponseContext, RouteMatch } from '../../policy.ts';
import { buildPolicy, documentRoute, testContext, testRoute, testServices } from '../test-context.ts';
import { rateLimit } from './index.ts';

type Call = { op: string; args: unknown[] };

/** Forwards every call to the real store and records it (specs copied as they were passed). */
class Recording implements CounterStore {
  readonly calls: Call[] = [];
  constructor(
    readonly inner: CounterStore,
    /** Calls answered with a rejected promise instead (a shared store failing after the fact). */
    private readonly rejects: (c: Call) => boolean = () => false,
  ) {}
  get kind() {
    return this.inner.kind;
  }
  private rec<T>(op: string, args: unknown[], run: () => T): T | Promise<never> {
    const c = { op, args };
    this.calls.push(c);
    if (this.rejects(c)) return Promise.reject(new CounterStoreUnavailable('Redis: connection lost'));
    return run();
  }
  /** The calls of one kind since the last `take()`. */
  take(): Call[] {
    return this.calls.splice(0);
  }
  rate(limits: readonly RateSpec[], opts?: RateOptions) {
    return this.rec('rate', [limits.map((l) => ({ ...l })), opts && { ...opts }], () =>
      this.inner.rate(limits, opts),
    );
  }
  window(spec: WindowSpec, op: 'reserve' | 'add' | 'peek', id: string) {
    return this.rec('window', [{ ...spec }, op, id], () => this.inner.window(spec, op, id));
  }
  unwindow(key: string, id: string) {
    return this.rec('unwindow', [key, id], () => this.inner.unwindow(key, id));
  }
  failureState(spec: FailureSpec) {
    return this.rec('failureState', [spec], () => this.inner.failureState(spec));
  }
  fail(spec: FailureSpec, id: string) {
    return this.rec('fail', [spec, id], () => this.inner.fail(spec, id));
  }
  resetFailures(key: string) {
    return this.rec('resetFailures', [key], () => this.inner.resetFailures(key));
  }
  acquire(spec: LeaseSpec, id: string) {
    return this.rec('acquire', [{ ...spec }, id], () => this.inner.acquire(spec, id));
  }
  release(key: string, id: string) {
    return this.rec('release', [key, id], () => this.inner.release(key, id));
  }
  close() {
    return this.inner.close();
  }
}

const user = (id: string, claims: Record<string, unknown> = {}): Principal => ({
  id,
  kind: 'user',
  roles: [],
  issuer: 'https://id.test',
  amr: ['pwd'],
  claims: { sub: id, ...claims },
});
const alice = user('alice');
const bob = user('bob');

const TOO_MANY = 'https://rampart.dev/problems/too-many-requests';
const UNAVAILABLE = 'https://rampart.dev/problems/limits-unavailable';
const CLOSED_DETAIL =
  'The shared limit counters are unreachable and this limit fails closed; try again shortly';

type Obj = Record<string, unknown>;
interface DocInit {
  doc?: Obj;
  /** Path-level `x-rampart` of `/orders/{orderId}`. */
  path?: Obj;
  /** Operation-level `x-rampart` per method of `/orders/{orderId}`. */
  ops?: Partial<Record<HttpMethod, Obj>>;
  /** `x-rampart` of `GET /carts` (a path without its own `x-rampart`); undefined: no such path. */
  carts?: Obj;
}

/** A loaded document (the real OpenAPI loader): `/orders/{orderId}` and optionally `/carts`. */
function document(init: DocInit) {
  const op = (x: Obj | undefined) => ({
    ...(x ? { 'x-rampart': x } : {}),
    responses: { '200': { description: 'ok' } },
  });
  const methods = init.ops ?? { get: {} };
  const paths: Obj = {
    '/orders/{orderId}': {
      ...(init.path ? { 'x-rampart': init.path } : {}),
      parameters: [{ name: 'orderId', in: 'path', required: true, schema: { type: 'string' } }],
      ...Object.fromEntries(Object.entries(methods).map(([m, x]) => [m, op(x)])),
    },
  };
  if (init.carts) paths['/carts'] = { get: op(init.carts) };
  return parseOpenApi(
    JSON.stringify({
      openapi: '3.1.0',
      info: { title: 'shop', version: '1.0.0' },
      ...(init.doc ? { 'x-rampart': init.doc } : {}),
      paths,
    }),
    'shop.json',
  );
}

const orders = (d: ReturnType<typeof document>, method: HttpMethod = 'get', where = {}) =>
  documentRoute(d, method, '/orders/{orderId}', { orderId: '7' }, { api: 'shop', base: '/v1', ...where });

function setup(
  options: Obj = {},
  inner?: (clock: ManualClock) => CounterStore,
  rejects?: (c: Call) => boolean,
) {
  const clock = new ManualClock();
  const store = new Recording(inner ? inner(clock) : new MemoryCounterStore({ clock }), rejects);
  const policy = buildPolicy(rateLimit, options, testServices({ clock, counters: store }));
  const ctx = (route: RouteMatch, principal: Principal | null = alice, ip = '203.0.113.7', headers = {}) =>
    testContext({ clock, route, ip, headers, ...(principal ? { principal } : {}) });
  /** One request: the denial (or undefined) and the response headers the policy set. */
  const request = async (c: RequestContext) => {
    const d = ((await policy.onRequest(c)) ?? undefined) as Denial | undefined;
    return { denial: d, headers: { ...c.responseHeaders } };
  };
  return { clock, store, policy, ctx, request };
}

const response = (init: Partial<ResponseContext> = {}): ResponseContext => ({
  status: 200,
  headers: {},
  body: undefined,
  local: false,
  ...init,
});

describe('rate-limit: limits from every level', () => {
  const defaults = [
    { name: 'global', per: 'ip', limit: 1000, window: '1h' },
    { name: 'shared', per: 'user', limit: 50, window: 60 },
  ];
  const d = document({
    doc: {
      rateLimit: [
        { name: 'api-minute', per: 'user', limit: 100, window: 60 },
        { name: 'shared', per: 'user', limit: 9, window: 60 },
      ],
    },
    path: { rateLimit: { name: 'order-hour', per: 'user', limit: 20, window: '1h' } },
    ops: { get: { rateLimit: [{ name: 'burst', per: 'user', limit: 2, window: 1 }] }, patch: {} },
  });
  const OP = 'rl:shop/v1 GET /orders/(orderId)';
  const keys = (user: string, ip = '203.0.113.7') => [
    `rl:*:global:{ip=${ip}}`,
    `rl:shop/v1:api-minute:{user=${user}}`,
    `rl:shop/v1:shared:{user=${user}}`,
    `rl:shop/v1/orders/(orderId):order-hour:{user=${user}}`,
    `${OP}:burst:{user=${user}}`,
  ];

  it('apply together, an inner name replacing an outer one; each counts under its scope', async () => {
    const s = setup({ defaults });
    const first = await s.request(s.ctx(orders(d)));
    expect(first.denial).toBeUndefined();
    expect(first.headers).toEqual({
      'ratelimit-policy':
        '"global";q=1000;w=3600, "api-minute";q=100;w=60, "shared";q=9;w=60, "order-hour";q=20;w=3600, "burst";q=2;w=1',
      ratelimit:
        '"global";r=999;t=3600, "api-minute";r=99;t=60, "shared";r=8;t=60, "order-hour";r=19;t=3600, "burst";r=1;t=1',
    });
    // Sliding windows only: one reservation per limit under one id, no GCRA call.
    const calls = s.store.take();
    const id = calls[0]!.args[2];
    expect(typeof id).toBe('string');
    expect(calls).toEqual(
      [
        [1000, 3_600_000],
        [100, 60_000],
        [9, 60_000],
        [20, 3_600_000],
        [2, 1000],
      ].map(([limit, windowMs], i) => ({
        op: 'window',
        args: [{ key: keys('alice')[i], limit, windowMs, burst: undefined, failMode: 'open' }, 'reserve', id],
      })),
    );

    expect((await s.request(s.ctx(orders(d)))).denial).toBeUndefined();
    s.store.take();
    // The third within a second: the burst refuses; the four reserved slots are given back.
    const third = await s.request(s.ctx(orders(d)));
    expect(third.denial).toEqual({
      problem: {
        type: TOO_MANY,
        title: 'Too Many Requests',
        status: 429,
        detail: "Rate limit 'burst' exceeded: 2 requests per 1 s",
        limit: 'burst',
        retry_after: 1,
      },
      headers: { 'Retry-After': '1' },
    });
    expect(third.headers.ratelimit).toBe(
      '"global";r=998;t=3600, "api-minute";r=98;t=60, "shared";r=7;t=60, "order-hour";r=18;t=3600, "burst";r=0;t=1',
    );
    const refused = s.store.take();
    const rid = refused[0]!.args[2];
    expect(refused.map((c) => [c.op, c.op === 'window' ? (c.args[0] as WindowSpec).key : c.args[0]])).toEqual(
      [
        ...keys('alice').map((k) => ['window', k]),
        ...keys('alice')
          .slice(0, 4)
          .map((k) => ['unwindow', k]),
      ],
    );
    expect(refused.filter((c) => c.op === 'unwindow').map((c) => c.args[1])).toEqual([rid, rid, rid, rid]);

    // A second later the burst is free again; the refused request was charged nowhere.
    s.clock.advance(1000);
    expect((await s.request(s.ctx(orders(d)))).headers.ratelimit).toBe(
      '"global";r=997;t=3600, "api-minute";r=97;t=60, "shared";r=6;t=60, "order-hour";r=17;t=3600, "burst";r=1;t=1',
    );
  });

  it('defaults count across APIs, the document per version, the path across its methods, the operation alone', async () => {
    const s = setup({ defaults });
    await s.request(s.ctx(orders(d)));
    // Bob from the same address: his own counters but the address's default limit.
    expect((await s.request(s.ctx(orders(d), bob))).headers.ratelimit).toBe(
      '"global";r=998;t=3600, "api-minute";r=99;t=60, "shared";r=8;t=60, "order-hour";r=19;t=3600, "burst";r=1;t=1',
    );
    // PATCH of the same path: the path's hour is shared, the GET's burst is not its limit.
    const patch = await s.request(s.ctx(orders(d, 'patch')));
    expect(patch.headers).toEqual({
      'ratelimit-policy':
        '"global";q=1000;w=3600, "api-minute";q=100;w=60, "shared";q=9;w=60, "order-hour";q=20;w=3600',
      ratelimit: '"global";r=997;t=3600, "api-minute";r=98;t=60, "shared";r=7;t=60, "order-hour";r=18;t=3600',
    });
    // Another API (and another version of this one): fresh document counters, the same defaults.
    s.store.take();
    const billing = await s.request(s.ctx(orders(d, 'get', { api: 'billing' })));
    expect(billing.headers.ratelimit).toBe(
      '"global";r=996;t=3600, "api-minute";r=99;t=60, "shared";r=8;t=60, "order-hour";r=19;t=3600, "burst";r=1;t=1',
    );
    const v2 = await s.request(s.ctx(orders(d, 'get', { base: '/v2' })));
    expect(v2.headers.ratelimit).toBe(
      '"global";r=995;t=3600, "api-minute";r=99;t=60, "shared";r=8;t=60, "order-hour";r=19;t=3600, "burst";r=1;t=1',
    );
    expect(s.store.take().map((c) => (c.args[0] as WindowSpec).key)).toEqual([
      'rl:*:global:{ip=203.0.113.7}',
      'rl:billing/v1:api-minute:{user=alice}',
      'rl:billing/v1:shared:{user=alice}',
      'rl:billing/v1/orders/(orderId):order-hour:{user=alice}',
      'rl:billing/v1 GET /orders/(orderId):burst:{user=alice}',
      'rl:*:global:{ip=203.0.113.7}',
      'rl:shop/v2:api-minute:{user=alice}',
      'rl:shop/v2:shared:{user=alice}',
      'rl:shop/v2/orders/(orderId):order-hour:{user=alice}',
      'rl:shop/v2 GET /orders/(orderId):burst:{user=alice}',
    ]);
  });

  it('a route of a document without paths or raw operations gets the defaults, named <per>-<window>s', async () => {
    const s = setup({ defaults: [{ per: ['user', 'ip'], limit: 2, window: '1m' }] });
    const r = await s.request(s.ctx(testRoute()));
    expect(r).toEqual({
      denial: undefined,
      headers: { 'ratelimit-policy': '"user+ip-60s";q=2;w=60', ratelimit: '"user+ip-60s";r=1;t=60' },
    });
    expect((s.store.take()[0]!.args[0] as WindowSpec).key).toBe(
      'rl:*:user+ip-60s:{user=alice|ip=203.0.113.7}',
    );
  });

  it('no limit and no cap: the policy stays out of the route', () => {
    const s = setup();
    expect(s.policy.forRoute(orders(document({ doc: {}, path: {} })))).toBeUndefined();
    expect(s.policy.forRoute(testRoute())).toBeUndefined();
  });

  it('refuses contradicting defaults when built, naming each item', () => {
    const build = (defaults: unknown[]) => () => setup({ defaults });
    expect(build([{ per: 'user', limit: 10, window: 60 }])).not.toThrow();
    let message = '';
    try {
      build([
        { per: 'user', limit: 10, window: 60 },
        { per: 'user', limit: 20, window: 60 },
      ])();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(
      "defaults/1: limit 'user-60s' is declared twice at this level (also item 0); defaults/1/limit: contradicts item 0: the same 'per' and window with limit 10 vs 20",
    );
  });
});

describe('rate-limit: GCRA limits', () => {
  const d = document({
    ops: {
      get: {
        rateLimit: [
          { name: 'second', per: 'user', limit: 10, window: 1, burst: 2 },
          { name: 'day', per: 'user', limit: 1000, window: '1d' },
        ],
      },
    },
  });

  it('decide in one synchronous call: the burst, then Retry-After until the next unit', () => {
    const s = setup();
    const spec = (name: string, limit: number, windowMs: number, burst?: number) => ({
      key: `rl:shop/v1 GET /orders/(orderId):${name}:{user=alice}`,
      limit,
      windowMs,
      burst,
      failMode: 'open',
    });
    const run = () => {
      const c = s.ctx(orders(d));
      const out = s.policy.onRequest(c);
      expect(out).not.toBeInstanceOf(Promise); // the memory store answers on the hot path without a promise
      return { denial: out as Denial | undefined, headers: c.responseHeaders };
    };
    const first = run();
    expect(first.denial).toBeUndefined();
    expect(first.headers).toEqual({
      'ratelimit-policy': '"second";q=10;w=1, "day";q=1000;w=86400',
      ratelimit: '"second";r=1;t=1, "day";r=999;t=87',
    });
    expect(s.store.take()).toEqual([
      { op: 'rate', args: [[spec('second', 10, 1000, 2), spec('day', 1000, 86_400_000)], undefined] },
    ]);
    expect(run().headers.ratelimit).toBe('"second";r=0;t=1, "day";r=998;t=173');
    const third = run();
    expect(third.denial).toEqual({
      problem: {
        type: TOO_MANY,
        title: 'Too Many Requests',
        status: 429,
        detail: "Rate limit 'second' exceeded: 10 requests per 1 s",
        limit: 'second',
        retry_after: 1,
      },
      headers: { 'Retry-After': '1' },
    });
    expect(third.headers.ratelimit).toBe('"second";r=0;t=1, "day";r=998;t=173'); // nothing charged
    s.clock.advance(100); // one unit refilled
    expect(run().denial).toBeUndefined();
  });

  it('with sliding windows: windows reserve first, GCRA decides after; a refusal anywhere charges nothing', async () => {
    const mixed = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'minute', per: 'user', limit: 3, window: 60 },
            { name: 'day', per: 'user', limit: 2, window: '1d' },
            { name: 'hour', per: 'ip', limit: 10, window: '1h' },
          ],
        },
      },
    });
    const s = setup();
    const first = await s.request(s.ctx(orders(mixed)));
    expect(first.headers).toEqual({
      'ratelimit-policy': '"day";q=2;w=86400, "minute";q=3;w=60, "hour";q=10;w=3600',
      ratelimit: '"day";r=1;t=43200, "minute";r=2;t=60, "hour";r=9;t=3600',
    });
    const calls = s.store.take();
    expect(calls.map((c) => [c.op, c.args[1]])).toEqual([
      ['window', 'reserve'],
      ['window', 'reserve'],
      ['rate', {}],
    ]);
    expect((calls[2]!.args[0] as RateSpec[]).map((l) => l.key)).toEqual([
      'rl:shop/v1 GET /orders/(orderId):day:{user=alice}',
    ]);
    await s.request(s.ctx(orders(mixed)));
    s.store.take();
    // The day refuses: both windows' slots are given back.
    const third = await s.request(s.ctx(orders(mixed)));
    expect(third.denial?.problem).toMatchObject({ status: 429, limit: 'day', retry_after: 43_200 });
    expect(third.denial?.headers).toEqual({ 'Retry-After': '43200' });
    expect(third.headers.ratelimit).toBe('"day";r=0;t=86400, "minute";r=1;t=60, "hour";r=8;t=3600');
    expect(s.store.take().map((c) => c.op)).toEqual(['window', 'window', 'rate', 'unwindow', 'unwindow']);
    // A day later the minute has 3 again: the refused request took none of them.
    s.clock.advance(86_400_000);
    expect((await s.request(s.ctx(orders(mixed)))).headers.ratelimit).toBe(
      '"day";r=1;t=43200, "minute";r=2;t=60, "hour";r=9;t=3600',
    );
  });

  it('a window that refuses makes the later windows and GCRA only look, never charge', async () => {
    const mixed = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'a', per: 'user', limit: 1, window: 60 },
            { name: 'b', per: 'user', limit: 5, window: 60 },
            { name: 'day', per: 'user', limit: 100, window: '1d' },
          ],
        },
      },
    });
    const s = setup();
    await s.request(s.ctx(orders(mixed)));
    s.store.take();
    const no = await s.request(s.ctx(orders(mixed)));
    expect(no.denial?.problem).toMatchObject({
      limit: 'a',
      detail: "Rate limit 'a' exceeded: 1 requests per 60 s",
    });
    expect(no.denial?.headers).toEqual({ 'Retry-After': '60' });
    expect(no.headers.ratelimit).toBe('"day";r=99;t=864, "a";r=0;t=60, "b";r=4;t=60');
    expect(s.store.take().map((c) => [c.op, c.args[1]])).toEqual([
      ['window', 'reserve'],
      ['window', 'peek'],
      ['rate', { mode: 'peek' }],
    ]);
    s.clock.advance(60_000);
    expect((await s.request(s.ctx(orders(mixed)))).headers.ratelimit).toBe(
      '"day";r=98;t=1668, "a";r=0;t=60, "b";r=4;t=60',
    );
  });
});

describe('rate-limit: response-bytes quotas', () => {
  const d = document({
    ops: {
      get: {
        rateLimit: [
          { name: 'minute', per: 'user', limit: 3, window: 60 },
          { name: 'bytes', per: 'user', limit: 1000, window: 60, unit: 'content-bytes' },
        ],
      },
    },
  });
  const BYTES = 'rl:shop/v1 GET /orders/(orderId):bytes:{user=alice}';
  const bytesSpec = { key: BYTES, limit: 1000, windowMs: 60_000, burst: undefined, failMode: 'open' };

  it('are peeked before forwarding and charged after the response, by Content-Length or the body', async () => {
    const s = setup();
    const route = orders(d);
    expect(s.policy.forRoute(route)?.needsResponseBody).toBe(true);
    const c1 = s.ctx(route);
    const first = await s.request(c1);
    expect(first).toEqual({
      denial: undefined,
      headers: {
        'ratelimit-policy': '"minute";q=3;w=60, "bytes";q=1000;w=60;qu="content-bytes"',
        ratelimit: '"minute";r=2;t=60, "bytes";r=1000;t=0',
      },
    });
    expect(s.store.take().slice(1)).toEqual([{ op: 'rate', args: [[bytesSpec], { mode: 'peek', cost: 1 }] }]);
    await s.policy.onResponse(c1, response({ headers: { 'content-length': '600' }, body: Buffer.alloc(10) }));
    expect(s.store.take()).toEqual([{ op: 'rate', args: [[bytesSpec], { mode: 'force', cost: 600 }] }]);

    const c2 = s.ctx(route);
    expect((await s.request(c2)).headers.ratelimit).toBe('"minute";r=1;t=60, "bytes";r=400;t=36');
    s.store.take();
    // No Content-Length: the buffered body's size. A local answer (a later policy's denial), or
    // a response with no size at all, is not charged.
    await s.policy.onResponse(c2, response({ body: Buffer.alloc(700) }));
    await s.policy.onResponse(c2, response({ headers: { 'content-length': '500' }, local: true }));
    await s.policy.onResponse(c2, response());
    expect(s.store.take()).toEqual([{ op: 'rate', args: [[bytesSpec], { mode: 'force', cost: 700 }] }]);

    const over = await s.request(s.ctx(route));
    expect(over.denial).toEqual({
      problem: {
        type: TOO_MANY,
        title: 'Too Many Requests',
        status: 429,
        detail: "Rate limit 'bytes' exceeded: 1000 response bytes per 60 s",
        limit: 'bytes',
        retry_after: 19,
      },
      headers: { 'Retry-After': '19' },
    });
    expect(over.headers['ratelimit-policy']).toBe(
      '"minute";q=3;w=60, "bytes";q=1000;w=60;qu="content-bytes"',
    );
    expect(over.headers.ratelimit).toMatch(/^"minute";r=\d;t=60, "bytes";r=0;t=78$/);
  });

  it('a streamed response is charged by its Content-Length', async () => {
    const s = setup();
    const c = s.ctx(orders(d));
    await s.request(c);
    s.store.take();
    await s.policy.onResponse(c, response({ headers: { 'content-length': '250' } }));
    expect(s.store.take()).toEqual([{ op: 'rate', args: [[bytesSpec], { mode: 'force', cost: 250 }] }]);
  });

  it('a request limit refusing first: 429 naming it, RateLimit with the request limits only', async () => {
    const s = setup();
    for (let i = 0; i < 3; i++) await s.request(s.ctx(orders(d)));
    s.store.take();
    const no = await s.request(s.ctx(orders(d)));
    expect(no.denial?.problem).toMatchObject({
      limit: 'minute',
      detail: "Rate limit 'minute' exceeded: 3 requests per 60 s",
    });
    expect(no.headers).toEqual({
      'ratelimit-policy': '"minute";q=3;w=60, "bytes";q=1000;w=60;qu="content-bytes"',
      ratelimit: '"minute";r=0;t=60',
    });
    expect(s.store.take().map((c) => c.op)).toEqual(['window']); // the bytes quota not even peeked
  });

  it('a bytes-only quota', async () => {
    const only = document({
      ops: {
        get: { rateLimit: { name: 'bytes', per: 'user', limit: 1000, window: 60, unit: 'content-bytes' } },
      },
    });
    const s = setup();
    expect(await s.request(s.ctx(orders(only)))).toEqual({
      denial: undefined,
      headers: {
        'ratelimit-policy': '"bytes";q=1000;w=60;qu="content-bytes"',
        ratelimit: '"bytes";r=1000;t=0',
      },
    });
    expect(s.store.take()).toEqual([{ op: 'rate', args: [[bytesSpec], { mode: 'peek', cost: 1 }] }]);
  });

  it('a failed charge after the response is no unhandled rejection', async () => {
    const s = setup({}, undefined, (c) => c.op === 'rate' && (c.args[1] as RateOptions).mode === 'force');
    const c = s.ctx(orders(d));
    await s.request(c);
    s.store.take();
    const unhandled = await collectUnhandled(() =>
      s.policy.onResponse(c, response({ headers: { 'content-length': '10' } })),
    );
    expect(s.store.take().map((x) => x.op)).toEqual(['rate']);
    expect(unhandled).toEqual([]);
  });
});

describe('rate-limit: in-flight caps', () => {
  const d = document({ ops: { get: { concurrency: { per: 'user', limit: 1 } } } });

  it('per consumer and per upstream: each refusal names its cap, gives back what it took', async () => {
    const s = setup({ concurrency: { perUpstream: 2 } });
    const up = { key: 'cc:up:{shop}', limit: 2, ttlMs: 60_000 };
    // Declared on the operation: counts that operation's requests in flight (its scope, as a rate limit's).
    const mine = (who: string, base = '/v1') => ({
      key: `cc:shop${base} GET /orders/(orderId):{user=${who}}`,
      limit: 1,
      ttlMs: 60_000,
    });
    const c1 = s.ctx(orders(d));
    expect(await s.request(c1)).toEqual({ denial: undefined, headers: {} }); // no RateLimit fields without a rate limit
    const calls = s.store.take();
    expect(calls).toEqual([
      { op: 'acquire', args: [up, expect.any(String)] },
      { op: 'acquire', args: [mine('alice'), expect.any(String)] },
    ]);
    const [id1, id2] = calls.map((c) => c.args[1]);
    expect(id1).not.toBe(id2);

    const second = await s.request(s.ctx(orders(d)));
    expect(second.denial).toEqual({
      problem: {
        type: TOO_MANY,
        title: 'Too Many Requests',
        status: 429,
        detail: 'At most 1 requests in flight per consumer',
        limit: 'concurrency',
      },
      headers: { 'Retry-After': '1' },
    });
    const refused = s.store.take();
    expect(refused.map((c) => [c.op, c.op === 'release' ? c.args : (c.args[0] as LeaseSpec).key])).toEqual([
      ['acquire', 'cc:up:{shop}'],
      ['acquire', 'cc:shop/v1 GET /orders/(orderId):{user=alice}'],
      ['release', ['cc:up:{shop}', refused[0]!.args[1]]],
    ]);

    // Bob takes the second upstream slot; another version of the API is another consumer scope.
    expect((await s.request(s.ctx(orders(d), bob))).denial).toBeUndefined();
    s.store.take();
    const carol = await s.request(s.ctx(orders(d, 'get', { base: '/v2' }), user('carol')));
    expect(carol.denial).toEqual({
      problem: {
        type: TOO_MANY,
        title: 'Too Many Requests',
        status: 429,
        detail: 'The upstream already has 2 requests in flight',
        limit: 'concurrency-upstream',
      },
      headers: { 'Retry-After': '1' },
    });
    expect(s.store.take().map((c) => c.op)).toEqual(['acquire']); // nothing held, nothing released

    // Alice's response frees both her slots.
    await s.policy.onResponse(c1, response());
    expect(s.store.take()).toEqual([
      { op: 'release', args: ['cc:up:{shop}', id1] },
      { op: 'release', args: ['cc:shop/v1 GET /orders/(orderId):{user=alice}', id2] },
    ]);
    const v2 = s.ctx(orders(d, 'get', { base: '/v2' }));
    expect((await s.request(v2)).denial).toBeUndefined();
    expect(s.store.take().map((c) => (c.args[0] as LeaseSpec).key)).toEqual([
      'cc:up:{shop}',
      mine('alice', '/v2').key,
    ]);
    // A response whose request took nothing releases nothing.
    await s.policy.onResponse(s.ctx(orders(d)), response());
    expect(s.store.take()).toEqual([]);
  });

  it('the operation, path, document and policy caps, innermost first', async () => {
    const d2 = document({
      doc: { concurrency: { per: 'user', limit: 3 } },
      path: { concurrency: { per: 'user', limit: 2 } },
      ops: { get: { concurrency: { per: 'user', limit: 1 } }, patch: {} },
      carts: {},
    });
    const limitOf = async (s: ReturnType<typeof setup>, route: RouteMatch) => {
      await s.request(s.ctx(route));
      return s.store.take().map((c) => [(c.args[0] as LeaseSpec).limit, (c.args[0] as LeaseSpec).key]);
    };
    const s = setup({ concurrency: { perConsumer: { per: 'ip', limit: 4 }, leaseTimeout: 5 } });
    // Each cap counts where it is declared: the operation, the path (all its methods), the version.
    expect(await limitOf(s, orders(d2))).toEqual([[1, 'cc:shop/v1 GET /orders/(orderId):{user=alice}']]);
    expect(await limitOf(s, orders(d2, 'patch'))).toEqual([[2, 'cc:shop/v1/orders/(orderId):{user=alice}']]);
    expect(await limitOf(s, documentRoute(d2, 'get', '/carts', {}, { api: 'shop', base: '/v1' }))).toEqual([
      [3, 'cc:shop/v1:{user=alice}'],
    ]);
    await s.request(s.ctx(orders(document({}))));
    expect(s.store.take()).toEqual([
      {
        op: 'acquire',
        args: [{ key: 'cc:shop/v1:{ip=203.0.113.7}', limit: 4, ttlMs: 5000 }, expect.any(String)],
      },
    ]);
  });

  it('an upstream cap alone applies to every route', async () => {
    const s = setup({ concurrency: { perUpstream: 1 } });
    const c = s.ctx(testRoute());
    expect((await s.request(c)).denial).toBeUndefined();
    expect((await s.request(s.ctx(testRoute(), bob))).denial?.problem.limit).toBe('concurrency-upstream');
    expect(s.store.take().map((x) => x.op)).toEqual(['acquire', 'acquire']);
    await s.policy.onResponse(c, response({ headers: { 'content-length': '100' } }));
    expect(s.store.take().map((x) => x.op)).toEqual(['release']); // no bytes quota: no charge
  });

  it('a consumer cap alone', async () => {
    const s = setup({ concurrency: { perConsumer: { per: 'user', limit: 1 } } });
    expect((await s.request(s.ctx(testRoute()))).denial).toBeUndefined();
    expect((await s.request(s.ctx(testRoute()))).denial?.problem.limit).toBe('concurrency');
  });

  it('a store that fails closed for a lease: 503 limits-unavailable', async () => {
    const shared = await unreachableRedis();
    try {
      // What the failover store answers for a lease that fails closed.
      class ClosedLeases extends FailoverCounterStore {
        override acquire(spec: LeaseSpec, id: string) {
          return super.acquire({ ...spec, failMode: 'closed' }, id);
        }
      }
      const s = setup({}, (clock) => new ClosedLeases(shared, new MemoryCounterStore({ clock })));
      const r = await s.request(s.ctx(orders(d)));
      expect(r.denial).toEqual({
        problem: {
          type: UNAVAILABLE,
          title: 'Limit counters unavailable',
          status: 503,
          detail: 'At most 1 requests in flight per consumer',
          limit: 'concurrency',
        },
        headers: { 'Retry-After': '1' },
      });
    } finally {
      await shared.close();
    }
  });

  it('a failed release is no unhandled rejection', async () => {
    const s = setup({ concurrency: { perUpstream: 5 } }, undefined, (c) => c.op === 'release');
    const c = s.ctx(orders(d));
    await s.request(c);
    s.store.take();
    const unhandled = await collectUnhandled(() => s.policy.onResponse(c, response()));
    expect(s.store.take().map((x) => x.op)).toEqual(['release', 'release']);
    expect(unhandled).toEqual([]);
  });
});

describe('rate-limit: headers', () => {
  const d = document({
    ops: {
      get: {
        rateLimit: [
          { name: 'wide', per: 'user', limit: 10, window: 60 },
          { name: 'narrow', per: 'user', limit: 3, window: '2m' },
          { name: 'slow', per: 'user', limit: 100, window: '1d' },
        ],
      },
    },
  });

  it('the IETF fields by default, not the legacy ones', async () => {
    const s = setup();
    expect((await s.request(s.ctx(orders(d)))).headers).toEqual({
      'ratelimit-policy': '"slow";q=100;w=86400, "wide";q=10;w=60, "narrow";q=3;w=120',
      ratelimit: '"slow";r=99;t=864, "wide";r=9;t=60, "narrow";r=2;t=120',
    });
  });

  it('legacy only: the most constrained limit', async () => {
    const s = setup({ headers: false, legacyHeaders: true });
    expect((await s.request(s.ctx(orders(d)))).headers).toEqual({
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': '2',
      'x-ratelimit-reset': '120',
    });
  });

  it('both, and none', async () => {
    const both = setup({ legacyHeaders: true });
    expect(Object.keys((await both.request(both.ctx(orders(d)))).headers)).toEqual([
      'ratelimit-policy',
      'ratelimit',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
    ]);
    const none = setup({ headers: false });
    expect((await none.request(none.ctx(orders(d)))).headers).toEqual({});
  });

  it('legacy reset is in seconds, rounded up', async () => {
    const one = document({
      ops: { get: { rateLimit: { name: 'g', per: 'user', limit: 8, window: 10, algorithm: 'gcra' } } },
    });
    const s = setup({ headers: false, legacyHeaders: true });
    expect((await s.request(s.ctx(orders(one)))).headers).toEqual({
      'x-ratelimit-limit': '8',
      'x-ratelimit-remaining': '7',
      'x-ratelimit-reset': '2', // 10 s / 8 = 1.25 s until the unit is back
    });
  });
});

describe('rate-limit: who is counted', () => {
  it('limits with the same per share one key; IPv6 per /64 or the configured prefix; missing values count the address', async () => {
    const d = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'a', per: 'user', limit: 5, window: 60 },
            { name: 'b', per: ['user', 'header.x-tenant'], limit: 5, window: 60 },
            { name: 'c', per: 'ip', limit: 5, window: 60 },
            { name: 'd', per: 'user', limit: 6, window: 120 },
            { name: 'e', per: ['api-key', 'claim.org'], limit: 5, window: 60 },
          ],
        },
      },
    });
    const keysOf = async (options: Obj, c: (s: ReturnType<typeof setup>) => RequestContext) => {
      const s = setup(options);
      await s.request(c(s));
      return s.store.take().map((x) => (x.args[0] as WindowSpec).key.replace(/^.*:\{/, '{'));
    };
    expect(
      await keysOf({}, (s) => s.ctx(orders(d), user('alice', { org: 'o1' }), '2001:db8:1:2:aaaa::1')),
    ).toEqual([
      '{user=alice}',
      '{user=alice|ip=2001:db8:1:2::/64}',
      '{ip=2001:db8:1:2::/64}',
      '{user=alice}',
      '{ip=2001:db8:1:2::/64|claim.org=o1}',
    ]);
    const key: Principal = { ...user('owner-1'), kind: 'api-key', claims: { keyId: 'k1' } };
    expect(
      await keysOf({ ipv6Prefix: 48 }, (s) =>
        s.ctx(orders(d), key, '2001:db8:1:2::9', { 'x-tenant': 'acme' }),
      ),
    ).toEqual([
      '{user=owner-1}',
      '{user=owner-1|header.x-tenant=acme}',
      '{ip=2001:db8:1::/48}',
      '{user=owner-1}',
      '{api-key=k1|ip=2001:db8:1::/48}',
    ]);
    expect(await keysOf({}, (s) => s.ctx(orders(d), null, '::ffff:192.0.2.1'))).toEqual([
      '{ip=192.0.2.1}',
      '{ip=192.0.2.1}',
      '{ip=192.0.2.1}',
      '{ip=192.0.2.1}',
      '{ip=192.0.2.1}',
    ]);
  });

  it('per lists are told apart by their selectors; a per shared by several limits is read once per request', async () => {
    const d = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'a', per: ['header.a', 'ip'], limit: 5, window: 60 },
            { name: 'b', per: 'header.aip', limit: 5, window: 60 },
            { name: 'c', per: 'header.x-tenant', limit: 5, window: 60 },
            { name: 'd', per: 'header.x-tenant', limit: 9, window: 120 },
          ],
        },
      },
    });
    const s = setup();
    const c = s.ctx(orders(d), null, '203.0.113.7', { a: '1', aip: '2' });
    let reads = 0;
    Object.defineProperty(c.headers, 'x-tenant', {
      enumerable: true,
      get: () => {
        reads++;
        return 'acme';
      },
    });
    await s.request(c);
    expect(reads).toBe(1);
    expect(s.store.take().map((x) => (x.args[0] as WindowSpec).key.replace(/^.*:\{/, '{'))).toEqual([
      '{header.a=1|ip=203.0.113.7}',
      '{header.aip=2}',
      '{header.x-tenant=acme}',
      '{header.x-tenant=acme}',
    ]);
  });

  it('two addresses of one /64 share its counter', async () => {
    const d = document({ ops: { get: { rateLimit: { name: 'net', per: 'ip', limit: 1, window: 60 } } } });
    const s = setup();
    expect((await s.request(s.ctx(orders(d), null, '2001:db8:5:6::1'))).denial).toBeUndefined();
    expect((await s.request(s.ctx(orders(d), null, '2001:db8:5:6:ffff::2'))).denial?.problem.limit).toBe(
      'net',
    );
    expect((await s.request(s.ctx(orders(d), null, '2001:db8:5:7::1'))).denial).toBeUndefined();
  });
});

describe('rate-limit: when the shared store is unreachable', () => {
  let shared: RedisCounterStore;
  beforeAll(async () => {
    shared = await unreachableRedis();
  });
  afterAll(async () => {
    await shared?.close();
  });
  const failover = (clock: ManualClock) =>
    new FailoverCounterStore(shared, new MemoryCounterStore({ clock }));
  const closedDenial = (retry: string) => ({
    problem: { type: UNAVAILABLE, title: 'Limit counters unavailable', status: 503, detail: CLOSED_DETAIL },
    headers: { 'Retry-After': retry },
  });

  it('a GCRA limit failing closed refuses with 503 and the longest wait; open ones decide locally', async () => {
    const d = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'open-day', per: 'user', limit: 5, window: '1d' },
            { name: 'closed-day', per: 'user', limit: 5, window: '1d', failMode: 'closed' },
          ],
        },
      },
    });
    const s = setup({}, failover);
    const out = s.policy.onRequest(s.ctx(orders(d)));
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toEqual(closedDenial('5'));
  });

  it('the policy failMode is the default of limits without their own', async () => {
    const d = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'inherits', per: 'user', limit: 5, window: '1d' },
            { name: 'own', per: 'user', limit: 1, window: '1d', failMode: 'open' },
          ],
        },
      },
    });
    const closed = setup({ failMode: 'closed' }, failover);
    expect((await closed.request(closed.ctx(orders(d)))).denial).toEqual(closedDenial('5'));
    expect((closed.store.take()[0]!.args[0] as RateSpec[]).map((l) => l.failMode)).toEqual([
      'closed',
      'open',
    ]);
    // Open by default: decided by the node-local counters, refused there with 429.
    const open = setup({}, failover);
    expect((await open.request(open.ctx(orders(d)))).denial).toBeUndefined();
    expect((await open.request(open.ctx(orders(d)))).denial?.problem).toMatchObject({
      status: 429,
      limit: 'own',
    });
  });

  it('sliding windows: a closed window refuses with 503 even when a later one falls back locally', async () => {
    const d = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'closed', per: 'user', limit: 5, window: 60, failMode: 'closed' },
            { name: 'open', per: 'user', limit: 5, window: 60 },
          ],
        },
      },
    });
    const s = setup({}, failover);
    expect((await s.request(s.ctx(orders(d)))).denial).toEqual(closedDenial('5'));
  });

  it('a closed window after an open one that allowed', async () => {
    const d = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'open', per: 'user', limit: 5, window: 60 },
            { name: 'closed', per: 'user', limit: 5, window: 60, failMode: 'closed' },
          ],
        },
      },
    });
    const s = setup({}, failover);
    expect((await s.request(s.ctx(orders(d)))).denial).toEqual(closedDenial('5'));
  });

  it('open windows decide locally: refused there with 429, not 503', async () => {
    const d = document({ ops: { get: { rateLimit: { name: 'open', per: 'user', limit: 1, window: 60 } } } });
    const s = setup({}, failover);
    expect((await s.request(s.ctx(orders(d)))).denial).toBeUndefined();
    const no = await s.request(s.ctx(orders(d)));
    expect(no.denial?.problem).toMatchObject({ type: TOO_MANY, status: 429, limit: 'open' });
    expect(no.denial?.headers).toEqual({ 'Retry-After': '60' });
  });

  it('a window with a GCRA limit failing closed: 503; with an open one exceeded locally: 429', async () => {
    const closedGcra = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'minute', per: 'user', limit: 5, window: 60 },
            { name: 'day', per: 'user', limit: 5, window: '1d', failMode: 'closed' },
          ],
        },
      },
    });
    const s = setup({}, failover);
    expect((await s.request(s.ctx(orders(closedGcra)))).denial).toEqual(closedDenial('5'));

    const openGcra = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'minute', per: 'user', limit: 5, window: 60 },
            { name: 'day', per: 'user', limit: 1, window: '1d' },
          ],
        },
      },
    });
    const o = setup({}, failover);
    expect((await o.request(o.ctx(orders(openGcra)))).denial).toBeUndefined();
    expect((await o.request(o.ctx(orders(openGcra)))).denial?.problem).toMatchObject({
      status: 429,
      limit: 'day',
    });
  });

  it('a closed window before an open GCRA limit', async () => {
    const d = document({
      ops: {
        get: {
          rateLimit: [
            { name: 'minute', per: 'user', limit: 5, window: 60, failMode: 'closed' },
            { name: 'day', per: 'user', limit: 5, window: '1d' },
          ],
        },
      },
    });
    const s = setup({}, failover);
    expect((await s.request(s.ctx(orders(d)))).denial).toEqual(closedDenial('5'));
  });

  it('a bytes quota behind an unreachable store', async () => {
    const d = document({
      ops: {
        get: { rateLimit: { name: 'bytes', per: 'user', limit: 100, window: 60, unit: 'content-bytes' } },
      },
    });
    const s = setup({}, failover);
    const c = s.ctx(orders(d));
    expect((await s.request(c)).denial).toBeUndefined();
    await s.policy.onResponse(c, response({ headers: { 'content-length': '150' } }));
    expect((await s.request(s.ctx(orders(d)))).denial?.problem).toMatchObject({
      status: 429,
      limit: 'bytes',
    });
  });
});

/** A Redis client pointed at a port nobody listens on: never available, so the failover store falls back at once. */
async function unreachableRedis(): Promise<RedisCounterStore> {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const store = new RedisCounterStore({ url: `redis://127.0.0.1:${port}` });
  expect(store.available).toBe(false);
  return store;
}

/** Runs `f` and collects the unhandled rejections it leaves once the event loop has turned. */
async function collectUnhandled(f: () => unknown): Promise<unknown[]> {
  const seen: unknown[] = [];
  const on = (e: unknown) => seen.push(e);
  process.on('unhandledRejection', on);
  try {
    await f();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', on);
  }
  return seen;
}
