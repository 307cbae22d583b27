import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

// A smoke run of `npm run bench` (one short round): the floors and a rampart target start,
// carry load without errors, and the summary prints ratios against both floors. It checks
// that the benchmark works, never how fast anything is (figures: docs/performance.md).
/** One short round of the given scenarios; returns the summary (after a zero exit). */
async function runBench(scenarios: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      BENCH_DURATION: '1',
      BENCH_ROUNDS: '1',
      BENCH_WARMUP: '1',
      BENCH_SCENARIOS: scenarios,
      // Light load: the suite runs other test files on the same two cores meanwhile.
      BENCH_CONNECTIONS: '10',
      NODE_OPTIONS: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code, out).toBe(0);
  return out.slice(out.indexOf('medians over rounds'));
}

it('npm run bench runs end to end and prints ratios against both floors', async () => {
  const summary = await runBench('default');
  expect(summary).toMatch(/ratio vs floor \(paired\)\s+rps vs bare-dispatch/);
  // Each gateway target's paired ratio (against its floor measured just before and after it), per round.
  expect(summary).toMatch(/^paired ratios per round: rampart:default \d+\.\d{3}$/m);
  for (const target of ['bare-proxy', 'bare-dispatch', 'rampart:default']) {
    const row = summary.split('\n').find((l) => l.startsWith(target + ' '));
    expect(row, `${target} row in:\n${summary}`).toBeDefined();
    const cols = row!.trim().split(/\s+/);
    // name, req/s, p50, p99, CPU, RSS, errors, ratio, ratio, +p50
    expect(Number(cols[1])).toBeGreaterThan(0);
    // Errors (non-2xx, socket errors, load-generator timeouts) stay exceptional even on a busy box.
    expect(Number(cols[6])).toBeLessThanOrEqual(Number(cols[1]) * 0.01);
    expect(Number(cols[7])).toBeGreaterThan(0);
    expect(Number(cols[8])).toBeGreaterThan(0);
  }
}, 120_000);

// A smoke run of a `workers` bench scenario (#12): `default-workers2` starts the gateway as
// `rampart start --workers 2` does (node:cluster primary + 2 workers on one port), carries
// load without errors, and its CPU time and RSS are summed over the workers. It checks that
// the benchmark works, never how fast anything is (figures: docs/performance.md).
it('npm run bench runs a 2-worker gateway and reports it like any target', async () => {
  const summary = await runBench('default,default-workers2');
  const row = (name: string) => {
    const line = summary.split('\n').find((l) => l.startsWith(name + ' '));
    expect(line, `${name} row in:\n${summary}`).toBeDefined();
    return line!.trim().split(/\s+/).map(Number);
  };
  const one = row('rampart:default');
  const two = row('rampart:default-workers2');
  // name, req/s, p50, p99, CPU, RSS, errors, ratio, ratio, +p50
  expect(two[1]).toBeGreaterThan(0);
  expect(two[6]).toBeLessThanOrEqual(two[1]! * 0.01);
  expect(two[4]).toBeGreaterThan(0);
  // Three node processes (primary + 2 workers), each at least a gateway's heap: the RSS is a
  // sum, so it exceeds the single process's.
  expect(two[5]).toBeGreaterThan(one[5]!);
}, 120_000);
