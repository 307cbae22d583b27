// The rampart gateway for benchmarks, as `rampart start` builds it, on plain HTTP so the
// ratio to the bare proxy measures the chain (TLS costs both sides the same; see
// docs/performance.md). argv: upstream URL, scenario name.
//
// A scenario with `workers: N` runs as `rampart start --workers N` does: the node:cluster
// primary of src/cli/cluster.ts forks N workers on the same port. The primary prepares what
// must be shared once (the scenario's extra config, e.g. the Redis it starts, and the ports)
// and hands it to the workers in BENCH_SHARED; it prints the port when every worker has started.
import cluster from 'node:cluster';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { silentLogger } from '../src/core/logger.ts';
import { App, configFromObject } from '../src/cli/app.ts';
import { runPrimary } from '../src/cli/cluster.ts';
import { scenarios } from './scenarios.ts';

const [upstream, scenarioName] = process.argv.slice(2) as [string, string];
const scenario = scenarios[scenarioName];
if (!scenario) throw new Error(`unknown scenario ${scenarioName}`);
const workers = scenario.workers ?? 1;

interface Shared {
  dir: string;
  port: number;
  adminPort: number;
  extra: Record<string, unknown>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

if (workers > 1 && cluster.isPrimary) {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-'));
  const shared: Shared = {
    dir,
    port: await freePort(),
    adminPort: await freePort(),
    extra: scenario.config ? await scenario.config(dir) : {},
  };
  process.env.BENCH_SHARED = JSON.stringify(shared);
  // Each worker says so once its App has started (not merely listens): then the port is ready.
  let ready = 0;
  cluster.on('message', (_w, msg: unknown) => {
    if ((msg as { benchReady?: boolean }).benchReady && ++ready === workers)
      process.stdout.write(JSON.stringify({ port: shared.port }) + '\n');
  });
  const code = await runPrimary(workers, {
    out: () => undefined,
    err: (l) => process.stderr.write(l + '\n'),
  });
  process.exit(code);
}

const shared = process.env.BENCH_SHARED ? (JSON.parse(process.env.BENCH_SHARED) as Shared) : undefined;
const dir = shared?.dir ?? mkdtempSync(join(tmpdir(), 'rampart-bench-'));
const spec = join(dir, cluster.isWorker ? `bench-${cluster.worker?.id}.yaml` : 'bench.yaml');
writeFileSync(spec, scenario.spec);
const config = configFromObject(
  {
    listen: { host: '127.0.0.1', port: shared?.port ?? 0, tls: { enabled: false } },
    admin: { port: shared?.adminPort ?? 0 },
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
    ...(shared ? shared.extra : scenario.config ? await scenario.config(dir) : {}),
  },
  dir,
);
const app = await App.start({
  config,
  baseDir: dir,
  log: silentLogger,
  ...(scenario.prepare ? await scenario.prepare(dir) : {}),
});
// Workers: the primary reports the port once all of them have started.
if (cluster.isWorker) process.send?.({ benchReady: true });
else
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
if (cluster.isWorker) process.once('disconnect', () => process.exit(0)); // the primary is gone

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
