// Micro-benchmark of the contract policies' hooks, in process (no sockets): µs of CPU per
// request for each hook on the bench's POST /orders (~3 KB JSON both ways). For finding hot
// costs; the ratios that count are `npm run bench`'s. Run: node --import tsx bench/contract-hooks.ts
// request-limits runs first, as in the gateway's default chain (its depth scan, which
// validate-request reuses, and the parse), timed on its own line; the answer is parsed by
// the first response hook that needs it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOpenApi } from '../src/core/openapi-loader.ts';
import type { PolicyDefinition, ResponseContext } from '../src/gateway/policy.ts';
import { injectionGuard } from '../src/gateway/policies/injection-guard/index.ts';
import { minimiseResponse } from '../src/gateway/policies/minimise-response/index.ts';
import { requestLimits } from '../src/gateway/policies/request-limits/index.ts';
import { validateRequest } from '../src/gateway/policies/validate-request/index.ts';
import { validateResponse } from '../src/gateway/policies/validate-response/index.ts';
import {
  buildPolicy,
  documentRoute,
  testContext,
  testServices,
  type TestPolicy,
} from '../src/gateway/policies/test-context.ts';
import { contractSpec, orderBody } from './scenarios.ts';

const dir = mkdtempSync(join(tmpdir(), 'rampart-hooks-'));
writeFileSync(join(dir, 'c.json'), contractSpec(false));
const doc = await loadOpenApi(join(dir, 'c.json'));
const route = documentRoute(doc, 'post', '/orders', {}, { api: 'bench' });
const body = Buffer.from(orderBody());
const build = (d: PolicyDefinition) => buildPolicy(d as never, {}, testServices());
const policies: Array<[string, TestPolicy, 'req' | 'res']> = [
  ['validate-request', build(validateRequest as never), 'req'],
  ['injection-guard', build(injectionGuard as never), 'req'],
  ['validate-response', build(validateResponse as never), 'res'],
  ['minimise-response', build(minimiseResponse as never), 'res'],
];
const limits = build(requestLimits as never);
const N = Number(process.env.N ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const only = process.env.ONLY?.split(',');
// Per line, the least of the rounds after the first (a warm-up): on a machine other work
// loads, the quietest round is the closest to the code's own cost.
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  const totals = new Map<string, number>();
  for (const [name] of policies) totals.set(name, 0);
  let base = 0;
  let parse = 0;
  for (let i = 0; i < N; i++) {
    const t0 = process.cpuUsage();
    const ctx = testContext({ route, body, method: 'POST' });
    const res: ResponseContext = {
      status: 200,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
      local: false,
    };
    const t1 = process.cpuUsage(t0);
    base += t1.user + t1.system;
    const p0 = process.cpuUsage();
    if (limits.onRequest(ctx)) throw new Error('request-limits refused the bench request');
    const p1 = process.cpuUsage(p0);
    parse += p1.user + p1.system;
    for (const [name, p, phase] of policies) {
      if (only && !only.includes(name)) continue;
      const s = process.cpuUsage();
      const r = phase === 'req' ? p.onRequest(ctx) : p.onResponse(ctx, res);
      if (r instanceof Promise) await r;
      if (phase === 'req' && r) throw new Error(`${name} refused the bench request`);
      const e = process.cpuUsage(s);
      totals.set(name, totals.get(name)! + e.user + e.system);
    }
  }
  if (round === 0) continue;
  const lines: Array<[string, number]> = [
    ...totals,
    ['(the four)', [...totals.values()].reduce((a, b) => a + b, 0)],
    ['(context)', base],
    ['(request-limits)', parse],
  ];
  for (const [name, t] of lines) best.set(name, Math.min(best.get(name) ?? Infinity, t / N));
}
for (const [name, us] of best) console.log(`${name.padEnd(18)} ${us.toFixed(1)} µs`);
