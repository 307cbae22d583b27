/**
 * A request that a later gate refuses — the response-bytes quota or an in-flight cap — is
 * charged nowhere: the request limits it passed get their unit back (GCRA: a forced negative
 * cost; sliding windows: the reserved slot). Real memory counter store, injected clock.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import { parseOpenApi } from '../../../core/openapi-loader.ts';
import type { CounterStore } from '../../../core/counters.ts';
import { MemoryCounterStore } from '../../../store/counters/memory.ts';
import type { Denial, RequestContext } from '../../policy.ts';
import { buildPolicy, documentRoute, testContext, testServices } from '../test-context.ts';
import { rateLimit } from './index.ts';

const alice: Principal = {
  id: 'alice',
  kind: 'user',
  roles: [],
  issuer: 'https://id.test',
  amr: ['pwd'],
  claims: { sub: 'alice' },
};
const TOO_MANY = 'https://rampart.dev/problems/too-many-requests';

/**
 * The memory store answering every call a turn later, as a shared store does (Redis); with
 * `failRefunds`, the give-backs (negative costs, unwindows) reject, as when Redis drops then.
 */
function asyncStore(inner: MemoryCounterStore, failRefunds = false): CounterStore {
  const later = <T>(v: T | Promise<T>): Promise<T> => Promise.resolve().then(() => v);
  const lost = () => Promise.reject(new Error('Redis: connection lost'));
  return {
    kind: 'redis',
    rate: (l, o) => (failRefunds && (o?.cost ?? 1) < 0 ? lost() : later(inner.rate(l, o))),
    window: (sp, op, id) => later(inner.window(sp, op, id)),
    unwindow: (k, id) => (failRefunds ? lost() : later(inner.unwindow(k, id))),
    failureState: (sp) => later(inner.failureState(sp)),
    fail: (sp) => later(inner.fail(sp)),
    resetFailures: (k) => later(inner.resetFailures(k)),
    acquire: (sp, id) => later(inner.acquire(sp, id)),
    release: (k, id) => later(inner.release(k, id)),
    close: () => inner.close(),
  };
}

function setup(x: Record<string, unknown>, store?: (m: MemoryCounterStore) => CounterStore) {
  const doc = parseOpenApi(
    JSON.stringify({
      openapi: '3.1.0',
      info: { title: 'shop', version: '1.0.0' },
      paths: { '/orders': { get: { 'x-rampart': x, responses: { '200': { description: 'ok' } } } } },
    }),
    'shop.json',
  );
  const route = documentRoute(doc, 'get', '/orders', {}, { api: 'shop', base: '/v1' });
  const clock = new ManualClock();
  const memory = new MemoryCounterStore({ clock });
  const counters = store ? store(memory) : memory;
  const policy = buildPolicy(rateLimit, {}, testServices({ clock, counters }));
  const ctx = (): RequestContext => testContext({ clock, route, principal: alice });
  const request = async (c: RequestContext) => {
    const denial = ((await policy.onRequest(c)) ?? undefined) as Denial | undefined;
    return { denial, ratelimit: c.responseHeaders.ratelimit };
  };
  return { policy, ctx, request, clock };
}

describe('rate-limit: a request refused by a later gate is charged nowhere', () => {
  it('an in-flight cap refusal gives the GCRA unit back', async () => {
    const s = setup({
      // A limit this small would default to the sliding window: GCRA named.
      rateLimit: { name: 'minute', per: 'user', limit: 5, window: 60, algorithm: 'gcra' },
      concurrency: { per: 'user', limit: 1 },
    });
    const held = s.ctx();
    expect((await s.request(held)).ratelimit).toBe('"minute";r=4;t=12'); // one unit: 12 s
    // In flight: the next ones are refused by the cap, and each gets its unit back.
    for (let i = 0; i < 3; i++) {
      const refused = await s.request(s.ctx());
      expect(refused.denial?.problem).toMatchObject({ type: TOO_MANY, status: 429, limit: 'concurrency' });
    }
    await s.policy.onResponse(held, { status: 200, headers: {}, body: undefined, local: false });
    // 5 − 1 held − 1 now: the three refusals cost nothing.
    expect((await s.request(s.ctx())).ratelimit).toBe('"minute";r=3;t=24');
  });

  it('an in-flight cap refusal gives the sliding-window slot back', async () => {
    const s = setup({
      rateLimit: { name: 'minute', per: 'user', limit: 5, window: 60, algorithm: 'sliding-window' },
      concurrency: { per: 'user', limit: 1 },
    });
    const held = s.ctx();
    expect((await s.request(held)).denial).toBeUndefined();
    for (let i = 0; i < 4; i++) expect((await s.request(s.ctx())).denial?.problem.type).toBe(TOO_MANY);
    await s.policy.onResponse(held, { status: 200, headers: {}, body: undefined, local: false });
    // Four refused requests would have filled the window (1 + 4 = 5): the next four still fit.
    for (let i = 0; i < 4; i++) {
      const c = s.ctx();
      expect((await s.request(c)).denial, `request ${i}`).toBeUndefined();
      await s.policy.onResponse(c, { status: 200, headers: {}, body: undefined, local: false });
    }
    expect((await s.request(s.ctx())).denial?.problem).toMatchObject({ type: TOO_MANY, limit: 'minute' });
  });

  it('a bytes-quota refusal gives the request limit its unit back', async () => {
    const s = setup({
      rateLimit: [
        { name: 'day', per: 'user', limit: 10, window: '1d' },
        { name: 'bytes', per: 'user', limit: 1000, window: 60, unit: 'content-bytes' },
      ],
    });
    const first = s.ctx();
    expect((await s.request(first)).ratelimit).toBe('"day";r=9;t=8640, "bytes";r=1000;t=0');
    // The answer spends the whole quota; the next requests are refused by it, before the upstream.
    await s.policy.onResponse(first, {
      status: 200,
      headers: { 'content-length': '1000' },
      body: undefined,
      local: false,
    });
    for (let i = 0; i < 3; i++)
      expect((await s.request(s.ctx())).denial?.problem).toMatchObject({ type: TOO_MANY, limit: 'bytes' });
    // A minute later the bytes quota is back (the day limit has not refilled a unit): 10 − the
    // first − this one = 8; charging the three refusals would leave 5.
    s.clock.advance(60_000);
    const later = await s.request(s.ctx());
    expect(later.denial).toBeUndefined();
    expect(later.ratelimit).toBe('"day";r=8;t=17220, "bytes";r=1000;t=0'); // two units: 2 × 8,640 s − 60 s
  });

  it('the same with a store that answers asynchronously (Redis): GCRA and sliding window together', async () => {
    const s = setup(
      {
        rateLimit: [
          { name: 'minute', per: 'user', limit: 5, window: 60, algorithm: 'gcra' },
          { name: 'hour', per: 'user', limit: 3, window: 3600, algorithm: 'sliding-window' },
        ],
        concurrency: { per: 'user', limit: 1 },
      },
      (m) => asyncStore(m),
    );
    const held = s.ctx();
    expect((await s.request(held)).denial).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await s.request(s.ctx())).denial?.problem.limit).toBe('concurrency');
    await new Promise((r) => setImmediate(r)); // the give-backs land a turn later
    await s.policy.onResponse(held, { status: 200, headers: {}, body: undefined, local: false });
    // Both limits were given their unit back: 2 more fit in the hour window, and GCRA shows 3 left.
    const next = s.ctx();
    const r = await s.request(next);
    expect(r.denial).toBeUndefined();
    expect(r.ratelimit).toBe('"minute";r=3;t=24, "hour";r=1;t=3600');
  });

  it('a give-back the store loses is no unhandled rejection, and the refusal stands', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const s = setup(
        {
          rateLimit: [
            { name: 'minute', per: 'user', limit: 5, window: 60, algorithm: 'gcra' },
            { name: 'hour', per: 'user', limit: 3, window: 3600, algorithm: 'sliding-window' },
          ],
          concurrency: { per: 'user', limit: 1 },
        },
        (m) => asyncStore(m, true),
      );
      expect((await s.request(s.ctx())).denial).toBeUndefined();
      const refused = await s.request(s.ctx());
      expect(refused.denial?.problem).toMatchObject({ type: TOO_MANY, limit: 'concurrency' });
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
