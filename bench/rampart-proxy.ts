// The rampart gateway for benchmarks, as `rampart start` builds it, on plain HTTP so the
// ratio to the bare proxy measures the chain (TLS costs both sides the same; see
// docs/performance.md). argv: upstream URL, scenario name.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { silentLogger } from '../src/core/logger.ts';
import { App, configFromObject } from '../src/cli/app.ts';
import { scenarios } from './scenarios.ts';

const [upstream, scenarioName] = process.argv.slice(2) as [string, string];
const scenario = scenarios[scenarioName];
if (!scenario) throw new Error(`unknown scenario ${scenarioName}`);
const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-'));
const spec = join(dir, 'bench.yaml');
writeFileSync(spec, scenario.spec);
const config = configFromObject(
  {
    listen: { host: '127.0.0.1', port: 0, tls: { enabled: false } },
    admin: { port: 0 },
    store: scenario.fileStore ? `sqlite://${join(dir, 'bench.db')}` : 'sqlite::memory:',
    monitor: scenario.monitor ?? { enabled: false },
    policies: { transport: { requireTls: false }, ...scenario.policies },
    limits: { keepAliveTimeoutMs: 60_000 },
    // A deprecated /v1 beside the /v2 under load: lifecycle headers must cost the current version nothing.
    apis: [
      {
        name: 'bench',
        upstream,
        ...scenario.api,
        versions: [
          { base: '/v2', spec },
          { base: '/v1', spec, deprecated: '2026-01-01', sunset: '2099-12-31', successor: '/v2' },
        ],
      },
    ],
    ...(scenario.config ? await scenario.config(dir) : {}),
  },
  dir,
);
const app = await App.start({
  config,
  baseDir: dir,
  log: silentLogger,
  ...(scenario.prepare ? await scenario.prepare(dir) : {}),
});
process.stdout.write(
  JSON.stringify({
    port: app.gateway.port,
    ...(scenario.headers ? { headers: await scenario.headers() } : {}),
  }) + '\n',
);
const report = process.env.BENCH_GC === '1' ? gcReport() : undefined;
process.on('SIGTERM', () => {
  report?.();
  void app.stop().then(() => process.exit(0));
});

/** BENCH_GC=1: GC pauses by kind and event-loop delay percentiles, for finding a latency tail. */
function gcReport(): () => void {
  const kinds = new Map<string, { n: number; totalMs: number; maxMs: number }>();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = String((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? e.name);
      const k = kinds.get(kind) ?? { n: 0, totalMs: 0, maxMs: 0 };
      k.n++;
      k.totalMs += e.duration;
      k.maxMs = Math.max(k.maxMs, e.duration);
      kinds.set(kind, k);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  return () => {
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    process.stderr.write(
      `${JSON.stringify({
        scenario: scenarioName,
        gc: Object.fromEntries([...kinds].map(([k, v]) => [k, { ...v, totalMs: Math.round(v.totalMs) }])),
        loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      })}\n`,
    );
  };
}
