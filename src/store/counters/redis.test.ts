/**
 * The Redis counter store against a real redis-server (test/helpers/redis.ts): the same
 * decisions as the memory store, atomic under concurrency, keys with expiries and hash
 * tags, EVALSHA falling back to EVAL, and failover: Redis killed → each limit's fail
 * mode and a down event, no crash; Redis back → up event and shared counting again.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../../../test/helpers/redis.ts';
import { FailoverCounterStore, MAX_PENDING } from './failover.ts';
import { MemoryCounterStore } from './memory.ts';
import { hashTag, MAX_BATCH, RedisCounterStore } from './redis.ts';
import { GCRA } from './scripts.ts';

let redis: TestRedis;
let store: RedisCounterStore;
let admin: Redis;
let n = 0;
const uniq = (p: string) => `${p}:${process.pid}:${++n}`;

beforeAll(async () => {
  redis = await startRedis();
  store = new RedisCounterStore({ url: redis.url, prefix: 'test:' });
  await store.ready();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  await store?.close();
  admin?.disconnect();
  await redis?.close();
});

describe('RedisCounterStore', () => {
  it('GCRA: the burst, then denials with Retry-After, all limits in one atomic script', async () => {
    const key = uniq('u');
    const spec = { key: `rl:minute:{${key}}`, limit: 100, windowMs: 60_000 };
    // 20 per 20 s (one unit per second): a loaded machine answering 300 scripts in more than
    // 50 ms (the refill of 20/s) admitted a 21st; the assertion is about atomicity, not speed.
    const burst = { key: `rl:burst:{${key}}`, limit: 20, windowMs: 20_000 };
    const results = await Promise.all(Array.from({ length: 300 }, () => store.rate([spec, burst])));
    expect(results.filter((r) => r.allowed)).toHaveLength(20); // the burst binds; concurrency never over-admits
    const denied = results.find((r) => !r.allowed)!;
    expect(denied.limits[1]!.allowed).toBe(false);
    expect(denied.limits[1]!.retryMs).toBeGreaterThan(0);
    expect(denied.limits[1]!.retryMs).toBeLessThanOrEqual(1000);
    expect(denied.limits[0]!.remaining).toBeGreaterThanOrEqual(80); // the denied requests charged nothing
    // Keys expire, and carry the consumer as their hash tag.
    const ttl = await admin.pttl(`test:rl:minute:{${key}}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_001);
    expect(hashTag(`rl:minute:{${key}}`)).toBe(key);
  });

  it('exactly limit of a large concurrent crowd (100 of 1,000)', async () => {
    const spec = { key: uniq('crowd'), limit: 100, windowMs: 3_600_000 };
    const results = await Promise.all(Array.from({ length: 1000 }, () => store.rate([spec])));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
  });

  it('peek and force (after-the-fact costs)', async () => {
    const spec = { key: uniq('bytes'), limit: 1000, windowMs: 60_000 };
    expect((await store.rate([spec], { mode: 'peek' })).limits[0]!.remaining).toBe(1000);
    await store.rate([spec], { mode: 'force', cost: 1500 });
    const p = await store.rate([spec], { mode: 'peek' });
    expect(p.allowed).toBe(false);
    expect(p.limits[0]!.retryMs).toBeGreaterThan(29_000);
  });

  it('sliding-window reserve is exact under concurrency and refundable', async () => {
    const spec = { key: uniq('flow'), limit: 1, windowMs: 30 * 86_400_000 };
    const r = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.window(spec, 'reserve', `id${i}`)),
    );
    expect(r.filter((d) => d.allowed)).toHaveLength(1);
    const winner = r.findIndex((d) => d.allowed);
    const no = await store.window(spec, 'reserve', 'late');
    expect(no.allowed).toBe(false);
    expect(no.retryMs).toBeGreaterThan(30 * 86_400_000 - 5000);
    await store.unwindow(spec.key, `id${winner}`);
    expect((await store.window(spec, 'reserve', 'again')).allowed).toBe(true);
  });

  it('failures lock, back off exponentially and reset', async () => {
    const spec = { key: uniq('acct'), limit: 3, windowMs: 60_000 };
    await store.fail(spec, 'a');
    await store.fail(spec, 'b');
    expect((await store.failureState(spec)).lockedMs).toBe(0);
    const locked = await store.fail(spec, 'c');
    expect(locked.lockedMs).toBeGreaterThan(59_000);
    await store.resetFailures(spec.key);
    expect((await store.failureState(spec)).lockedMs).toBe(0);

    const bo = { key: uniq('bo'), limit: 2, windowMs: 60_000, backoff: { baseMs: 10_000, maxMs: 25_000 } };
    const levels: number[] = [];
    for (let i = 0; i < 3; i++) {
      await store.fail(bo, `x${i}`);
      const st = await store.fail(bo, `y${i}`);
      levels.push(Math.round(st.lockedMs / 1000));
      expect(st.lockouts).toBe(i + 1);
    }
    expect(levels).toEqual([10, 20, 25]);
  });

  it('leases cap in-flight requests across callers', async () => {
    const spec = { key: uniq('inflight'), limit: 3, ttlMs: 30_000 };
    const got = await Promise.all(Array.from({ length: 10 }, (_, i) => store.acquire(spec, `l${i}`)));
    expect(got.filter((g) => g.allowed)).toHaveLength(3);
    await store.release(spec.key, `l${got.findIndex((g) => g.allowed)}`);
    expect((await store.acquire(spec, 'next')).allowed).toBe(true);
  });

  it('re-sends the script (EVAL) when the server forgot it (NOSCRIPT)', async () => {
    await admin.script('FLUSH');
    const spec = { key: uniq('noscript'), limit: 5, windowMs: 1000 };
    expect((await store.rate([spec])).allowed).toBe(true);
    const sha = createHash('sha1').update(GCRA).digest('hex');
    const [loaded] = (await admin.script('EXISTS', sha)) as number[];
    expect(loaded).toBe(1);
  });
});

describe('batched GCRA decisions (one script call per event-loop turn)', () => {
  it('three connections, 1,200 decisions issued at once: exactly the limit, in a few batched calls', async () => {
    // Three stores = three connections, as three gateway nodes would hold.
    const nodes = [store, ...[1, 2].map(() => new RedisCounterStore({ url: redis.url, prefix: 'test:' }))];
    await Promise.all(nodes.map((s) => s.ready()));
    const key = uniq('batched');
    const spec = { key: `rl:hour:{${key}}`, limit: 100, windowMs: 3_600_000 };
    const before = nodes.map((s) => ({ ...s.batches }));
    const all = nodes.flatMap((s) => Array.from({ length: 400 }, () => s.rate([spec])));
    const results = await Promise.all(all);
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    // Batched on the wire: 400 decisions per node in a handful of calls (MAX_BATCH each at most).
    nodes.forEach((s, i) => {
      const calls = s.batches.calls - before[i]!.calls;
      expect(s.batches.decisions - before[i]!.decisions).toBe(400);
      expect(calls).toBeGreaterThanOrEqual(Math.ceil(400 / MAX_BATCH));
      expect(calls).toBeLessThanOrEqual(4);
    });
    // The refused ones say when to come back and charged nothing: the next one is refused too.
    expect(results.find((r) => !r.allowed)!.limits[0]!.retryMs).toBeGreaterThan(0);
    expect((await store.rate([spec])).allowed).toBe(false);
    await Promise.all(nodes.slice(1).map((s) => s.close()));
  });

  it('decisions of one batch see each other in order, and a refused one charges none of its limits', async () => {
    const key = uniq('order');
    const small = { key: `rl:small:{${key}}`, limit: 2, windowMs: 3_600_000 };
    const big = { key: `rl:big:{${key}}`, limit: 1000, windowMs: 3_600_000 };
    const before = store.batches.calls;
    const [a, b, c, peek, forced, after] = await Promise.all([
      store.rate([small, big]),
      store.rate([small, big]),
      store.rate([small, big]), // refused by small: big is not charged for it
      store.rate([big], { mode: 'peek' }),
      store.rate([big], { mode: 'force', cost: 10 }),
      store.rate([big], { mode: 'peek' }),
    ]);
    expect(store.batches.calls - before).toBe(1); // all six in one script call
    expect([a, b, c].map((d) => d!.allowed)).toEqual([true, true, false]);
    expect(c!.limits[0]!.allowed).toBe(false);
    expect(c!.limits[1]!.allowed).toBe(true);
    expect(c!.limits[1]!.remaining).toBe(998);
    expect(peek!.limits[0]!.remaining).toBe(998);
    expect(forced!.limits[0]!.remaining).toBe(988);
    expect(after!.limits[0]!.remaining).toBe(988);
  });

  it('a batch that fails on the wire falls back per limit: open limits decide locally, closed ones refuse', async () => {
    // Its own server: this test kills it with the batch in flight.
    const own = await startRedis();
    const statuses: string[] = [];
    const shared = new RedisCounterStore({
      url: own.url,
      prefix: 'fail:',
      onStatus: (st) => statuses.push(st),
    });
    await shared.ready();
    const admin2 = new Redis(own.url);
    const s = new FailoverCounterStore(shared, new MemoryCounterStore());
    const open = { key: uniq('open'), limit: 2, windowMs: 3_600_000 };
    const closed = { key: uniq('closed'), limit: 2, windowMs: 3_600_000, failMode: 'closed' as const };
    expect((await s.rate([open])).degraded).toBeUndefined(); // shared: 1 of 2 used in Redis
    // Hold every write (our scripts) at the server, so the batch is sent but not executed…
    await admin2.client('PAUSE', 60_000, 'WRITE');
    const before = shared.batches.calls;
    const pending = [s.rate([open]), s.rate([closed]), s.rate([open]), s.rate([open])];
    await waitForAsync(async () => /blocked_clients:[1-9]/.test(await admin2.info('clients')));
    expect(shared.batches.calls - before).toBe(1); // one batched call in flight
    // …then the server dies: the batch fails as a whole, each decision by its limit's fail mode.
    admin2.disconnect();
    await own.stop();
    const [o1, c1, o2, o3] = await Promise.all(pending);
    expect(c1).toMatchObject({ allowed: false, degraded: 'closed' });
    expect(c1!.limits[0]!.retryMs).toBeGreaterThan(0);
    // open: the node-local fallback counts from zero (the shared use is out of its reach): 2 of 2, then refused.
    expect([o1, o2, o3].map((d) => [d!.allowed, d!.degraded])).toEqual([
      [true, 'local'],
      [true, 'local'],
      [false, 'local'],
    ]);
    expect(statuses).toContain('down');
    await s.close();
    await own.close();
  });
});

describe('failover: Redis killed and restarted', () => {
  it('applies each fail mode, reports down and up, and shares counters again', async () => {
    const statuses: string[] = [];
    const shared = new RedisCounterStore({
      url: redis.url,
      prefix: 'fo:',
      commandTimeoutMs: 300,
      onStatus: (s) => statuses.push(s),
    });
    await shared.ready();
    const s = new FailoverCounterStore(shared, new MemoryCounterStore());
    const open = { key: uniq('open'), limit: 2, windowMs: 3_600_000 };
    const closed = { key: uniq('closed'), limit: 2, windowMs: 3_600_000, failMode: 'closed' as const };
    expect((await s.rate([open])).degraded).toBeUndefined();

    await redis.stop();
    await waitFor(() => statuses.includes('down'));
    // open: the node-local limiter decides (still limited); closed: refused.
    const local = [await s.rate([open]), await s.rate([open]), await s.rate([open])];
    expect(local.map((d) => [d.allowed, d.degraded])).toEqual([
      [true, 'local'],
      [true, 'local'],
      [false, 'local'],
    ]);
    const refused = await s.rate([closed]);
    expect(refused).toMatchObject({ allowed: false, degraded: 'closed' });
    expect(refused.limits[0]!.retryMs).toBeGreaterThan(0);
    const flow = await s.window({ key: uniq('flow'), limit: 1, windowMs: 60_000 }, 'reserve', 'x');
    expect(flow).toMatchObject({ allowed: false, degraded: 'closed' });
    const bf = await s.failureState({ key: uniq('bf'), limit: 5, windowMs: 60_000 });
    expect(bf.lockedMs).toBeGreaterThan(0);

    await redis.start();
    await waitFor(() => statuses.filter((x) => x === 'up').length === 2, 10_000);
    const back = await s.rate([{ key: uniq('back'), limit: 1, windowMs: 3_600_000 }]);
    expect(back.degraded).toBeUndefined();
    expect(back.allowed).toBe(true);
    expect(statuses).toEqual(['up', 'down', 'up']);
    await s.close();
  });
});

describe('failover: a flood of distinct keys while Redis is away', () => {
  it('keeps memory bounded: the local fallback within maxKeys, the keys to merge within MAX_PENDING', async () => {
    const own = await startRedis();
    const statuses: string[] = [];
    const shared = new RedisCounterStore({ url: own.url, onStatus: (st) => statuses.push(st) });
    await shared.ready();
    const local = new MemoryCounterStore({ maxKeys: 20_000 });
    const s = new FailoverCounterStore(shared, local);
    await own.stop();
    await waitFor(() => statuses.includes('down'));
    // A spoofing client or an IPv6 sweep: every request a new key, all decided locally.
    const keys = MAX_PENDING + 20_000;
    for (let i = 0; i < keys; i++) {
      const d = await s.rate([{ key: `rl:flood:{ip=${i}}`, limit: 10, windowMs: 60_000 }]);
      if (d.degraded !== 'local' || !d.allowed) throw new Error(`decision ${i}: ${JSON.stringify(d)}`);
    }
    expect(local.size).toBeLessThanOrEqual(20_000);
    // Remembered for merging up to MAX_PENDING keys; the rest is counted, not kept.
    expect(s.unmerged).toBe(keys - MAX_PENDING);
    await s.close();
    await own.close();
  }, 60_000);
});

describe('failover: what the local fallback counted is merged back', () => {
  it('rate debt, log entries and failures reach the restarted Redis before its first decision', async () => {
    const statuses: string[] = [];
    const shared = new RedisCounterStore({
      url: redis.url,
      prefix: 'merge:',
      commandTimeoutMs: 300,
      onStatus: (st) => statuses.push(st),
    });
    await shared.ready();
    const s = new FailoverCounterStore(shared, new MemoryCounterStore());
    const rate = { key: uniq('rate'), limit: 5, windowMs: 3_600_000 };
    const win = { key: uniq('win'), limit: 5, windowMs: 3_600_000, failMode: 'open' as const };
    const bf = { key: uniq('bf'), limit: 3, windowMs: 3_600_000 };
    const reset = { key: uniq('reset'), limit: 3, windowMs: 3_600_000 };
    // Before the outage: two shared failures for `reset`, which a local success will clear.
    await s.fail(reset, 'a');
    await s.fail(reset, 'b');
    expect((await s.failureState(reset)).failures).toBe(2);

    await redis.stop();
    await waitFor(() => statuses.includes('down'));
    // The local fallback admits 4 of each (a fresh node-local counter), records 2 failures.
    for (let i = 0; i < 4; i++) {
      expect(await s.rate([rate])).toMatchObject({ allowed: true, degraded: 'local' });
      expect(await s.window(win, 'reserve', `w${i}`)).toMatchObject({ allowed: true, degraded: 'local' });
    }
    await s.fail(bf, 'x');
    await s.fail(bf, 'y');
    await s.resetFailures(reset.key);

    await redis.start(); // empty: a restarted server without persistence
    await waitFor(() => statuses.filter((x) => x === 'up').length === 2, 10_000);
    // The first shared decisions already see the local counts: 1 more of 5, then refused.
    expect(await s.rate([rate])).toMatchObject({ allowed: true, limits: [{ remaining: 0 }] });
    expect((await s.rate([rate])).allowed).toBe(false);
    expect((await s.window(win, 'reserve', 'w4')).count).toBe(5);
    expect((await s.window(win, 'reserve', 'w5')).allowed).toBe(false);
    // Two failures came from the outage: the third locks the account.
    expect((await s.fail(bf, 'z')).failures).toBe(3);
    expect((await s.failureState(bf)).lockedMs).toBeGreaterThan(3_500_000);
    // The local success reset the shared failures too.
    expect((await s.failureState(reset)).failures).toBe(0);
    expect(s.merged).toBe(4);
    // Merged entries keep their age: the window's entries expire as they would have.
    const ttl = await admin.pttl(`merge:{${win.key}}`);
    expect(ttl).toBeGreaterThan(3_500_000);
    // Nothing is merged twice: the local counters were dropped.
    expect(s.local.size).toBe(0);
    await s.close();
  });
});

async function waitForAsync(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
