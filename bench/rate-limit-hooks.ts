// Micro-benchmark of the rate-limit policy's hooks, in process (no sockets): µs of CPU per
// request for the `rate-limit` scenario's three GCRA limits per client address on the memory
// counter store, RateLimit fields included; the best of five rounds after a warm-up. For
// finding hot costs; the ratios that count are `npm run bench`'s.
// Run: node --import tsx bench/rate-limit-hooks.ts
import { ManualClock } from '../src/core/clock.ts';
import { parseOpenApi } from '../src/core/openapi-loader.ts';
import { MemoryCounterStore } from '../src/store/counters/memory.ts';
import { rateLimit } from '../src/gateway/policies/rate-limit/index.ts';
import {
  buildPolicy,
  documentRoute,
  testContext,
  testServices,
} from '../src/gateway/policies/test-context.ts';
import { rateLimitSpec } from './scenarios.ts';
const doc = parseOpenApi(rateLimitSpec, 'rate-limit.yaml');
const route = documentRoute(doc, 'get', '/items/{id}', { id: '1' }, { api: 'bench', base: '/v2' });
const clock = new ManualClock();
const counters = new MemoryCounterStore({ clock });
const p = buildPolicy(rateLimit as never, {}, testServices({ clock, counters }));
const res = { status: 200, headers: {}, body: undefined, local: false };
let best = Infinity,
  base = Infinity;
for (let r = 0; r < 6; r++) {
  const N = 50000;
  let t = 0,
    b = 0;
  for (let i = 0; i < N; i++) {
    const s0 = process.cpuUsage();
    const ctx = testContext({ clock, route, ip: '198.51.100.7' });
    const s1 = process.cpuUsage(s0);
    b += s1.user + s1.system;
    const s = process.cpuUsage();
    p.onRequest(ctx);
    p.onResponse(ctx, res as never);
    const e = process.cpuUsage(s);
    t += e.user + e.system;
    clock.advance(1);
  }
  if (r) {
    best = Math.min(best, t / N);
    base = Math.min(base, b / N);
  }
}
console.log('rate-limit hooks', best.toFixed(2), 'µs; context', base.toFixed(2));
