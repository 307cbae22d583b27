/**
 * `npm run bench`: starts, side by side in one run, a fast upstream, two bare Node
 * reverse proxies (node:http + undici Pool with pool.request(), the floor; and with
 * pool.dispatch(), the strictest floor) and the rampart gateway per scenario, each in its
 * own process; drives each with wrk (autocannon when wrk is missing) at 50 connections,
 * in interleaved rounds (rotated) to spread machine drift, wrk pinned to one core and the
 * servers to the other; prints req/s, p50, p99, peak RSS and the ratios rampart/floor.
 * Figures go in docs/performance.md.
 *
 * Ratios are paired: within a round each gateway target runs between two measurements of
 * its floor (the bare proxy with the same request), and its ratio is taken against their
 * mean; the figure is the median over rounds of those paired ratios. This VM's speed
 * drifts within seconds, so a floor measured a whole round away compares two machines.
 *
 * Besides throughput it reports the proxy process's CPU time per request (from
 * /proc/<pid>/stat), which is steadier than req/s on a shared 2-core machine.
 * Figures are medians over the rounds.
 *
 * Env: BENCH_DURATION (s per round, default 6), BENCH_ROUNDS (default 4),
 *      BENCH_CONNECTIONS (default 50), BENCH_SCENARIOS (comma list, default all),
 *      BENCH_WARMUP (s per target, default 2), BENCH_PIN=0 (no CPU pinning),
 *      BENCH_GC=1 (each rampart process reports GC pauses and event-loop delay on stderr at exit).
 *
 * A scenario with `workers: N` runs N gateway processes (node:cluster, as `rampart start
 * --workers N`), unpinned; its CPU time and peak RSS are summed over the workers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { scenarios, type BenchRequest } from './scenarios.ts';

const here = dirname(fileURLToPath(import.meta.url));
const duration = Number(process.env.BENCH_DURATION ?? 6);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const selected = (process.env.BENCH_SCENARIOS ?? Object.keys(scenarios).join(','))
  .split(',')
  .filter((s) => scenarios[s]);
const hasWrk = spawnSync('wrk', ['--version']).error === undefined;
// Pinning: the load generator on one core, the proxy and the upstream sharing the other
// (the setup ../shared/PERFORMANCE.md's anchors used). Unpinned, the scheduler's placement
// of three busy processes on two cores flips between runs and the proxy's CPU cost per
// request doubles or halves with it. BENCH_PIN=0 turns it off.
const canPin =
  process.env.BENCH_PIN !== '0' &&
  availableParallelism() >= 2 &&
  spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const LOAD_CPU = '0';
const SERVER_CPU = '1';
function pinned(cpu: string, argv: string[]): [string, string[]] {
  return canPin ? ['taskset', ['-c', cpu, ...argv]] : [argv[0]!, argv.slice(1)];
}

interface Started {
  child: ChildProcess;
  port: number;
  headers: Record<string, string>;
}

/** `cpu` undefined: unpinned (a gateway with several workers may use both cores). */
function startProcess(
  script: string,
  args: string[],
  cpu: string | undefined = SERVER_CPU,
): Promise<Started> {
  const argv = [process.execPath, '--import', 'tsx', join(here, script), ...args];
  const child = spawn(...(cpu === undefined ? ([argv[0]!, argv.slice(1)] as const) : pinned(cpu, argv)), {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => {
      const msg = JSON.parse(line) as { port: number; headers?: Record<string, string> };
      resolve({ child, port: msg.port, headers: msg.headers ?? {} });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/**
 * The gateway's processes: the one started and its node descendants (the cluster workers of a
 * `workers` scenario), not a redis-server a scenario starts beside it.
 */
function gatewayPids(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim().split(/\s+/);
    } catch {
      continue;
    }
    for (const c of children) {
      if (!c) continue;
      try {
        if (readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'node') out.push(Number(c));
      } catch {
        // exited meanwhile
      }
    }
  }
  return out;
}

/** Peak RSS of the gateway (summed over its workers). */
function peakRssMb(pid: number): number {
  let kb = 0;
  for (const p of gatewayPids(pid)) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += m ? Number(m[1]) : NaN;
    } catch {
      return NaN;
    }
  }
  return Math.round(kb / 1024);
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Proxy CPU microseconds per request. */
  cpuUs?: number;
  requests?: number;
}

const CLK_TCK = 100;
/** utime + stime of a gateway (summed over its workers), in seconds. */
function cpuSeconds(pid: number): number {
  let s = 0;
  for (const p of gatewayPids(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      s += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      return NaN;
    }
  }
  return s;
}

function parseWrkLatency(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

const scriptDir = mkdtempSync(join(tmpdir(), 'rampart-bench-wrk-'));
/** A wrk Lua script sending `req` (method, body, Content-Type) on every request. */
function wrkScript(req: BenchRequest): string {
  const file = join(scriptDir, `${req.method}-${req.path.replace(/\W/g, '_')}.lua`);
  writeFileSync(
    file,
    `wrk.method = ${JSON.stringify(req.method)}\nwrk.body = ${JSON.stringify(req.body)}\nwrk.headers["Content-Type"] = ${JSON.stringify(req.contentType)}\n`,
  );
  return file;
}

async function load(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  req?: BenchRequest,
): Promise<Result> {
  if (hasWrk) {
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency'];
    if (req) args.push('-s', wrkScript(req));
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    const out = await new Promise<string>((resolve) => {
      const c = spawn(...pinned(LOAD_CPU, ['wrk', ...args, url]));
      let s = '';
      c.stdout.on('data', (d) => (s += d));
      c.on('exit', () => resolve(s));
    });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
    const p50 = parseWrkLatency(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
    const p99 = parseWrkLatency(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
    return { rps, p50, p99, errors, requests };
  }
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: req ? { ...headers, 'content-type': req.contentType } : headers,
    ...(req ? { method: req.method, body: req.body } : {}),
  });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
    requests: r.requests.average * seconds,
  };
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  const upstream = await startProcess('upstream.ts', []);
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const targets: Array<{
    name: string;
    started: Started;
    results: Result[];
    request?: BenchRequest;
    /** The floor this target's ratio is taken against (same request shape). */
    floor?: number;
  }> = [];
  targets.push({
    name: 'bare-proxy',
    started: await startProcess('bare-proxy.ts', [upstreamUrl, 'request']),
    results: [],
  });
  targets.push({
    name: 'bare-dispatch',
    started: await startProcess('bare-proxy.ts', [upstreamUrl, 'dispatch']),
    results: [],
  });
  // A bare-proxy floor per distinct request shape (a POST of a JSON body costs both sides more).
  const floors = new Map<string, number>();
  for (const s of selected) {
    const req = scenarios[s]!.request;
    if (!req) continue;
    const key = `${req.method} ${req.path} ${req.body.length}`;
    if (floors.has(key)) continue;
    floors.set(key, targets.length);
    targets.push({
      name: `bare-proxy:${req.method}`,
      started: await startProcess('bare-proxy.ts', [upstreamUrl, 'request']),
      results: [],
      request: req,
    });
  }
  for (const s of selected) {
    const req = scenarios[s]!.request;
    targets.push({
      name: `rampart:${s}`,
      // Learn scenarios run the learning proxy alone, as `rampart learn` does (no gateway loaded).
      // Several workers run unpinned: they are meant to use both cores (shared with wrk and the upstream).
      started: await startProcess(
        scenarios[s]!.learn ? 'learn-proxy.ts' : 'rampart-proxy.ts',
        [upstreamUrl, s],
        (scenarios[s]!.workers ?? 1) > 1 ? undefined : SERVER_CPU,
      ),
      results: [],
      ...(req ? { request: req, floor: floors.get(`${req.method} ${req.path} ${req.body.length}`)! } : {}),
    });
  }
  const urlOf = (t: (typeof targets)[number]) =>
    `http://127.0.0.1:${t.started.port}${t.request ? t.request.path : '/v2/items/1'}`;

  console.log(
    `load: ${hasWrk ? 'wrk -t1' : 'autocannon'} -c${connections}, ${rounds} round(s) x ${duration}s per target, 1 KB JSON upstream, ${canPin ? `load generator on CPU ${LOAD_CPU}, proxies and upstream on CPU ${SERVER_CPU}` : 'unpinned'}`,
  );
  for (const t of targets) await load(urlOf(t), t.started.headers, warmup, t.request); // warm-up (JIT, pools)
  const measure = async (t: (typeof targets)[number], r: number): Promise<Result> => {
    const cpu0 = cpuSeconds(t.started.child.pid!);
    const res = await load(urlOf(t), t.started.headers, duration, t.request);
    res.cpuUs = ((cpuSeconds(t.started.child.pid!) - cpu0) * 1e6) / (res.requests ?? res.rps * duration);
    t.results.push(res);
    console.log(
      `  round ${r + 1} ${t.name.padEnd(22)} ${fmt(res.rps)} req/s  p50 ${fmt(res.p50, 2)} ms  p99 ${fmt(res.p99, 2)} ms  cpu ${fmt(res.cpuUs)} µs/req  errors ${res.errors}`,
    );
    return res;
  };
  // Paired ratios: each gateway target is bracketed by its floor measured just before and just
  // after it (the floor after one target is the floor before the next of the same shape), and
  // its ratio is taken against the mean of the two. This VM's speed drifts within seconds (2x
  // between rounds was seen), so a floor measured seconds away is not the same machine.
  const paired = new Map<(typeof targets)[number], number[]>();
  for (let r = 0; r < rounds; r++) {
    // Each round starts one target later, so a drift within rounds favours nobody.
    const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
    /** Per floor (target index), its latest measurement in this round. */
    const lastFloor = new Map<number, number>();
    for (const t of order) {
      if (!t.name.startsWith('rampart:')) continue; // floors are measured around the targets
      const floorIndex = t.floor ?? 0;
      const before = lastFloor.get(floorIndex) ?? (await measure(targets[floorIndex]!, r)).rps;
      const res = await measure(t, r);
      const after = (await measure(targets[floorIndex]!, r)).rps;
      lastFloor.set(floorIndex, after);
      const list = paired.get(t) ?? [];
      list.push(res.rps / ((before + after) / 2));
      paired.set(t, list);
    }
    // The floors no target of this round needed (bare-dispatch; a shape nobody selected).
    for (let i = 0; i < targets.length; i++)
      if (!targets[i]!.name.startsWith('rampart:') && !lastFloor.has(i)) await measure(targets[i]!, r);
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const summary = targets.map((t) => ({
    name: t.name,
    rps: median(t.results.map((x) => x.rps)),
    p50: median(t.results.map((x) => x.p50)),
    p99: median(t.results.map((x) => x.p99)),
    cpu: median(t.results.map((x) => x.cpuUs ?? NaN)),
    errors: t.results.reduce((a, x) => a + x.errors, 0),
    rss: peakRssMb(t.started.child.pid!),
  }));
  const bare = summary[0]!;
  const dispatch = summary[1]!;
  // A gateway target's ratio: the median of its paired ratios (against the floor of its request
  // shape, measured around it). A floor's: the ratio of medians to the bare proxy's GET.
  const ratioOf = (i: number): number => {
    const t = targets[i]!;
    const pairs = paired.get(t);
    return pairs ? median(pairs) : summary[i]!.rps / bare.rps;
  };
  console.log('\nmedians over rounds');
  console.log(
    'target                  req/s     p50 ms   p99 ms   CPU µs/req   peak RSS MB   errors   ratio vs floor (paired)   rps vs bare-dispatch   +p50 ms   (the floor of POST targets: bare-proxy:POST)',
  );
  summary.forEach((s, i) => {
    console.log(
      `${s.name.padEnd(22)} ${fmt(s.rps).padStart(7)}   ${fmt(s.p50, 2).padStart(6)}   ${fmt(s.p99, 2).padStart(6)}   ${fmt(s.cpu).padStart(10)}   ${fmt(s.rss).padStart(11)}   ${String(s.errors).padStart(6)}   ${ratioOf(i).toFixed(3).padStart(23)}   ${(s.rps / dispatch.rps).toFixed(3).padStart(20)}   ${fmt(s.p50 - bare.p50, 2).padStart(7)}`,
    );
  });
  const spread = [...paired].map(([t, xs]) => `${t.name} ${xs.map((x) => x.toFixed(3)).join(' ')}`);
  if (spread.length) console.log(`paired ratios per round: ${spread.join('; ')}`);
  // The tail next to the default chain's (issue 8: authenticated p99 within 1.5x of the
  // default chain's), as the median of per-round ratios like the throughput ratios.
  const reference = targets.find((t) => t.name === 'rampart:default');
  if (reference) {
    for (const t of targets) {
      if (!t.name.startsWith('rampart:') || t === reference) continue;
      const p99Ratio = median(t.results.map((x, i) => x.p99 / reference.results[i]!.p99));
      console.log(`p99 ${t.name} / rampart:default: ${p99Ratio.toFixed(2)}`);
    }
  }
  for (const t of targets) t.started.child.kill('SIGTERM');
  upstream.child.kill('SIGTERM');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
