/**
 * The Redis counter store against a real 3-master Redis Cluster (test/helpers/redis.ts
 * starts one on loopback): every Lua script runs with hash-tagged keys — the keys of one
 * decision share the consumer's slot, so multi-key scripts (several limits, a failure log
 * and its back-off state) are atomic on one node — consumers spread over the masters, and a
 * concurrent crowd is admitted exactly as on a single server.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type TestRedisCluster } from '../../../test/helpers/redis.ts';
import { RedisCounterStore } from './redis.ts';

let cluster: TestRedisCluster;
let store: RedisCounterStore;
let admin: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  store = new RedisCounterStore({ cluster: cluster.nodes, prefix: 'ct:', commandTimeoutMs: 2000 });
  await store.ready(15_000);
  admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
}, 60_000);

afterAll(async () => {
  await store?.close();
  admin?.disconnect();
  await cluster?.close();
});

describe('RedisCounterStore on a Redis Cluster (3 masters)', () => {
  it('several GCRA limits of one consumer in one script: exactly the burst of a concurrent crowd', async () => {
    const minute = { key: 'rl:minute:{user=alice}', limit: 100, windowMs: 60_000 };
    // 20 per 20 s (one unit a second): at 20/s a loaded machine answering 300 scripts in more
    // than 50 ms admitted a 21st (a refill); the assertion is about atomicity, not speed.
    const burst = { key: 'rl:burst:{user=alice}', limit: 20, windowMs: 20_000 };
    const results = await Promise.all(Array.from({ length: 300 }, () => store.rate([minute, burst])));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    // Both keys are in the consumer's slot.
    const slots = await Promise.all(
      ['ct:rl:minute:{user=alice}', 'ct:rl:burst:{user=alice}'].map((k) => admin.cluster('KEYSLOT', k)),
    );
    expect(slots[0]).toBe(slots[1]);
  });

  it('limits in different slots: one script per slot, a refusal in one refunds the others', async () => {
    const a = { key: 'rl:x:{user=bob}', limit: 2, windowMs: 60_000 };
    const b = { key: 'rl:x:{user=carol}', limit: 5, windowMs: 60_000 };
    expect(await admin.cluster('KEYSLOT', 'ct:rl:x:{user=bob}')).not.toBe(
      await admin.cluster('KEYSLOT', 'ct:rl:x:{user=carol}'),
    );
    const d = [await store.rate([a, b]), await store.rate([a, b]), await store.rate([a, b])];
    expect(d.map((x) => x.allowed)).toEqual([true, true, false]);
    // No CROSSSLOT error; bob's refusal gave back what carol's slot had charged for it.
    expect(d[2]!.limits[1]!.remaining).toBe(3);
    expect((await store.rate([b], { mode: 'peek' })).limits[0]!.remaining).toBe(3);
  });

  it('consumers spread over the masters', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `rl:m:{user=u${i}}`);
    await Promise.all(keys.map((key) => store.rate([{ key, limit: 10, windowMs: 60_000 }])));
    const sizes = await Promise.all(admin.nodes('master').map((n) => n.dbsize()));
    expect(sizes).toHaveLength(3);
    for (const n of sizes) expect(n).toBeGreaterThan(0);
  });

  it('sliding window: exactly 100 of 1,000 concurrent; a refund frees a slot', async () => {
    const spec = { key: 'rl:exact:{user=dave}', limit: 100, windowMs: 60_000 };
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => store.window(spec, 'reserve', `r${i}`)),
    );
    const ok = results.filter((r) => r.allowed);
    expect(ok).toHaveLength(100);
    await store.unwindow(spec.key, `r${results.indexOf(ok[0]!)}`);
    expect((await store.window(spec, 'reserve', 'again')).allowed).toBe(true);
    expect((await store.window(spec, 'reserve', 'over')).allowed).toBe(false);
  });

  it('failures and back-off: the log and the state key share the slot; merges work too', async () => {
    const spec = {
      key: 'bf:acct:{username=erin}',
      limit: 3,
      windowMs: 60_000,
      backoff: { baseMs: 1000, maxMs: 60_000 },
    };
    await store.fail(spec, 'a');
    await store.fail(spec, 'b');
    const locked = await store.fail(spec, 'c');
    expect(locked.lockouts).toBe(1);
    expect(locked.lockedMs).toBeGreaterThan(900);
    await store.mergeFailures(spec, { ids: ['m1'], agesMs: [10], lockouts: 3, lockedMs: 30_000 });
    const st = await store.failureState(spec);
    expect(st.lockouts).toBe(3);
    expect(st.lockedMs).toBeGreaterThan(29_000);
    await store.resetFailures(spec.key);
    expect((await store.failureState(spec)).lockouts).toBe(0);
  });

  it('leases: in-flight caps per consumer', async () => {
    const spec = { key: 'cc:v1:{user=fay}', limit: 2, ttlMs: 60_000 };
    const got = await Promise.all(['l1', 'l2', 'l3'].map((id) => store.acquire(spec, id)));
    expect(got.filter((g) => g.allowed)).toHaveLength(2);
    await store.release(spec.key, got[0]!.allowed ? 'l1' : 'l2');
    expect((await store.acquire(spec, 'l4')).allowed).toBe(true);
  });
});
