/**
 * `rampart start --workers 2` (node:cluster) sharing one real redis-server: the workers of
 * one machine count one limit together, a SIGHUP reload (forwarded by the primary) keeps
 * every counter, SIGTERM stops the whole cluster. And in one process with in-memory
 * counters: a reload builds new policies on the same counters.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, readConfig } from '../../src/cli/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { startCli } from '../helpers/cli-process.ts';
import { startUpstream } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

const SPEC = `
openapi: 3.1.0
info: { title: workers, version: 1.0.0 }
paths:
  /things:
    get:
      security: []
      x-rampart:
        rateLimit: { name: hour, per: ip, limit: 20, window: 1h }
      responses: { '200': { description: ok } }
`;

const config = (upstream: string, counters: string, extra = '') => `
listen: { host: 127.0.0.1, port: 0, tls: { enabled: false } }
admin: { port: 0 }
store: 'sqlite::memory:'
${counters}
policies:
  transport: { requireTls: false }
${extra}
apis:
  - name: w
    upstream: ${upstream}
    versions: [{ base: /v1, spec: ./workers.yaml }]
`;

let redis: TestRedis;
let up: Awaited<ReturnType<typeof startUpstream>>;
let dir: string;

beforeAll(async () => {
  [redis, up] = await Promise.all([startRedis(), startUpstream()]);
  dir = await mkdtemp(join(tmpdir(), 'rampart-workers-'));
  await writeFile(join(dir, 'workers.yaml'), SPEC);
});

afterAll(async () => {
  await up?.close();
  await redis?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const statuses = async (pool: Pool, n: number): Promise<number[]> =>
  Promise.all(
    Array.from({ length: n }, async () => {
      const r = await pool.request({ method: 'GET', path: '/v1/things' });
      await r.body.text();
      return r.statusCode;
    }),
  );

describe('rampart start --workers', () => {
  it('two workers share one Redis limit; SIGHUP reloads both without resetting it; SIGTERM stops all', async () => {
    const file = join(dir, 'cluster.yaml');
    await writeFile(file, config(up.url, `counters: { url: '${redis.url}' }`));
    const run = startCli(['start', '-c', file, '--workers', '2'], dir);
    try {
      await run.waitFor(/started 2 worker\(s\)/);
      const url = (await run.waitFor(/Rampart gateway\s+(http:\/\/\S+)/))[1]!;
      await waitLines(run.lines, /counter store reachable/, 2, 90_000); // both workers connected
      const pool = new Pool(url, { connections: 8 });
      const first = await statuses(pool, 60);
      expect(first.filter((s) => s === 200)).toHaveLength(20);
      expect(first.filter((s) => s === 429)).toHaveLength(40);

      run.child.kill('SIGHUP');
      await waitLines(run.lines, /configuration reloaded/, 2);
      const after = await statuses(pool, 5);
      expect(after).toEqual([429, 429, 429, 429, 429]);
      await pool.close();

      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL'); // its workers follow (disconnect)
    }
  }, 120_000);

  it('refuses --workers with a bad value', async () => {
    const run = startCli(['start', '--workers', 'lots'], dir);
    expect(await run.exit).toBe(2);
    expect(run.lines.join('\n')).toContain("--workers expects a number 1-999 or 'auto'");
  });
});

describe('reload and in-memory counters', () => {
  it('a reload builds new policies on the same counters: a spent limit stays spent', async () => {
    const file = join(dir, 'single.yaml');
    await writeFile(file, config(up.url, ''));
    const { config: cfg, baseDir } = await readConfig(file);
    const app = await App.start({ config: cfg, baseDir, configPath: file, log: silentLogger });
    try {
      const get = async () => {
        const r = await request(`${app.gateway.url}/v1/things`);
        await r.body.text();
        return r.statusCode;
      };
      for (let i = 0; i < 20; i++) expect(await get()).toBe(200);
      expect(await get()).toBe(429);
      await writeFile(file, config(up.url, '', '  cors: { origins: ["https://new.example"] }'));
      expect(await app.reload()).toMatchObject({ ok: true });
      expect(await get()).toBe(429);
    } finally {
      await app.stop();
    }
  });
});

async function waitLines(lines: string[], re: RegExp, count: number, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (lines.filter((l) => re.test(l)).length < count) {
    if (Date.now() > until) throw new Error(`no ${count}× ${re} in:\n${lines.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
