/**
 * `node --import tsx bench/counters-redis.ts`: the Redis counter store's GCRA decisions
 * alone, side by side in one run against a throw-away local redis-server:
 *
 * - `batched`: `RedisCounterStore.rate()` as the gateway uses it — the decisions of one
 *   event-loop turn in ONE script call (src/store/counters/redis.ts);
 * - `per-decision`: the same script with one decision per call through ioredis
 *   auto-pipelining (one EVALSHA per decision, batched on the wire only) — how the store
 *   worked before batching.
 *
 * 50 callers each await one decision after another (as 50 connections would), three GCRA
 * limits per decision that all write (a burst, a minute, a day per client). Reports decisions/s,
 * this process's CPU time and redis-server's CPU time per decision (from /proc), medians of
 * interleaved rounds. Node and redis-server are pinned to the same core when taskset works,
 * as in `npm run bench` where the gateway and Redis share CPU 1.
 *
 * Env: ROUNDS (default 5), DECISIONS per round (default 20000), CALLERS (default 50).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createHash } from 'node:crypto';
import type { RateSpec } from '../src/core/counters.ts';
import { RedisCounterStore } from '../src/store/counters/redis.ts';
import { GCRA } from '../src/store/counters/scripts.ts';

const rounds = Number(process.env.ROUNDS ?? 5);
const perRound = Number(process.env.DECISIONS ?? 20_000);
const callers = Number(process.env.CALLERS ?? 50);
const pin = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
if (pin) spawnSync('taskset', ['-pc', '1', String(process.pid)]);

const port = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as { port: number }).port;
    s.close(() => resolve(p));
  });
});
const server = process.env.RAMPART_REDIS_SERVER ?? '/usr/bin/redis-server';
const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
const redis = pin ? spawn('taskset', ['-c', '1', server, ...args]) : spawn(server, args);
process.on('exit', () => redis.kill('SIGKILL'));
const store = new RedisCounterStore({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 60_000 });
for (let i = 0; ; i++) {
  try {
    await store.ready(200);
    break;
  } catch (err) {
    if (i > 50) throw err;
  }
}
const sha = createHash('sha1').update(GCRA).digest('hex');
await store.client.script('LOAD', GCRA);

const ticks = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};

const limitsOf = (c: number): RateSpec[] => [
  { key: `rl:*:burst:{ip=10.0.0.${c}}`, limit: 100_000, windowMs: 1000 },
  { key: `rl:*:minute:{ip=10.0.0.${c}}`, limit: 2_000_000, windowMs: 60_000 },
  { key: `rl:*:day:{ip=10.0.0.${c}}`, limit: 2_000_000_000, windowMs: 86_400_000 },
];

/** The pre-batching wire behaviour: one EVALSHA per decision, ioredis auto-pipelining. */
async function perDecision(limits: RateSpec[]): Promise<boolean> {
  const a: (string | number)[] = [1, limits.length, 1, 'consume'];
  for (const l of limits) {
    const t = l.windowMs / l.limit;
    a.push(t, t * (l.burst ?? l.limit));
  }
  const out = (await store.client.evalsha(
    sha,
    limits.length,
    ...limits.map((l) => `rampart:${l.key}`),
    ...a,
  )) as number[];
  return out.every((v, i) => i % 4 !== 0 || v === 1);
}

const variants = {
  batched: async (limits: RateSpec[]) => (await store.rate(limits)).allowed,
  'per-decision': perDecision,
};

async function round(decide: (l: RateSpec[]) => Promise<boolean>, n: number): Promise<void> {
  let left = n;
  await Promise.all(
    Array.from({ length: callers }, async (_, c) => {
      const limits = limitsOf(c);
      while (left-- > 0) if (!(await decide(limits))) throw new Error('a decision was refused');
    }),
  );
}

const results: Record<string, { rate: number; node: number; redis: number }[]> = {};
for (const decide of Object.values(variants)) await round(decide, 2000); // warm-up
for (let r = 0; r < rounds; r++) {
  const order = Object.entries(variants);
  if (r % 2) order.reverse();
  for (const [name, decide] of order) {
    const cpu0 = process.cpuUsage();
    const redis0 = ticks(redis.pid!);
    const t0 = performance.now();
    await round(decide, perRound);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    (results[name] ??= []).push({
      rate: (perRound / ms) * 1000,
      node: (cpu.user + cpu.system) / perRound,
      redis: ((ticks(redis.pid!) - redis0) * 10_000) / perRound,
    });
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
console.log(
  `${callers} callers, 3 GCRA limits per decision, ${rounds} rounds x ${perRound} decisions, ${pin ? 'node and redis-server on CPU 1' : 'unpinned'}`,
);
console.log('variant          decisions/s   node CPU µs/decision   redis CPU µs/decision');
for (const [name, rs] of Object.entries(results))
  console.log(
    `${name.padEnd(16)} ${median(rs.map((x) => x.rate))
      .toFixed(0)
      .padStart(11)}   ${median(rs.map((x) => x.node))
      .toFixed(1)
      .padStart(20)}   ${median(rs.map((x) => x.redis))
      .toFixed(1)
      .padStart(21)}`,
  );
const ratio = median(results.batched!.map((b, i) => b.rate / results['per-decision']![i]!.rate));
console.log(`batched / per-decision decisions/s (median of per-round ratios): ${ratio.toFixed(2)}`);
await store.close();
redis.kill('SIGKILL');
