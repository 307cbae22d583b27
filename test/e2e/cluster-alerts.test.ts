/**
 * Alerting across `rampart start --workers 2` (a real primary and two real workers): failed
 * logins spread over both workers add up to one `failed-logins` alert, seen alike through
 * either worker's admin listener, delivered once to a real webhook receiver. A worker
 * SIGKILLed is replaced by the primary; the replacement shows the alerts at once and the next
 * attack (another account, split over the old and the new worker) alerts too.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, readConfig } from '../../src/cli/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { ApiKeys } from '../../src/identity/api-keys.ts';
import { verifyWebhook } from '../../src/monitor/index.ts';
import { startCli, type Running } from '../helpers/cli-process.ts';
import { startUpstream } from '../helpers/gateway.ts';
import { FAST_SCRYPT } from '../helpers/monitor.ts';
import { until } from '../helpers/until.ts';

const SPEC = `
openapi: 3.1.0
info: { title: cluster, version: 1.0.0 }
paths:
  /things:
    get:
      security: []
      responses: { '200': { description: ok } }
`;
const SECRET = 'a webhook secret of some length';

interface Delivery {
  rule: string;
  state: string;
  fingerprint: string;
}

let dir: string;
let up: Awaited<ReturnType<typeof startUpstream>>;
let hook: Server;
const deliveries: Delivery[] = [];
let adminKey: string;
let run: Running | undefined;

beforeAll(async () => {
  up = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), 'rampart-cluster-alerts-'));
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const sig = String(req.headers['x-rampart-signature'] ?? '');
      if (!verifyWebhook(SECRET, sig, raw, Math.floor(Date.now() / 1000), 300)) {
        res.writeHead(401).end();
        return;
      }
      const { alert } = JSON.parse(raw) as { alert: Delivery };
      deliveries.push({ rule: alert.rule, state: alert.state, fingerprint: alert.fingerprint });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookPort = (hook.address() as { port: number }).port;
  await writeFile(join(dir, 'cluster.yaml'), SPEC);
  await writeFile(
    join(dir, 'rampart.yaml'),
    `listen: { host: 127.0.0.1, port: 0, tls: { enabled: false } }
admin: { port: 0 }
store: sqlite://./rampart.db
policies:
  transport: { requireTls: false }
identity:
  issuer: https://127.0.0.1/auth
  keyFile: ./kek.key
  passwords: { scrypt: { ln: ${FAST_SCRYPT.ln}, r: ${FAST_SCRYPT.r}, p: ${FAST_SCRYPT.p} } }
monitor:
  auditLog: { flushIntervalMs: 50 }
  delivery: { baseDelayMs: 200 }
  notifiers:
    - { type: webhook, name: hook, url: 'http://127.0.0.1:${hookPort}/hook', secret: '${SECRET}', allowPrivate: true }
apis:
  - name: c
    upstream: ${up.url}
    versions: [{ base: /v1, spec: ./cluster.yaml }]
`,
  );
  // The store, its key-encryption key and an admin API key exist before the cluster starts.
  const { config, baseDir } = await readConfig(join(dir, 'rampart.yaml'));
  const app = await App.start({
    config: { ...config, monitor: { ...config.monitor, enabled: false } },
    baseDir,
    log: silentLogger,
  });
  const admin = await app.identity!.users.add({
    username: 'ops-admin',
    password: 'a long enough admin passphrase',
    roles: ['admin'],
  });
  adminKey = (
    await (app.identity!.apiKeys as ApiKeys).create(admin.id, { name: 'ops', scopes: ['role:admin'] }, [
      'admin',
    ])
  ).key;
  await app.stop();
}, 60_000);

afterAll(async () => {
  if (run && run.child.exitCode === null) {
    run.child.kill('SIGKILL');
    await run.exit;
  }
  await new Promise((r) => hook?.close(r));
  await up?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A request on a connection of its own, so the primary hands it to the next worker. */
async function call(url: string, opts: { method?: 'GET' | 'POST'; body?: unknown; key?: string } = {}) {
  const r = await request(url, {
    method: opts.method ?? 'GET',
    reset: true,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await r.body.text();
  return { status: r.statusCode, json: () => JSON.parse(text) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The cluster's answers cross processes and IPC: up to 30 s, every 50 ms. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>) => until(what, probe, 30_000, 50);

interface MonitorView {
  cluster: {
    worker: number;
    primary: { workers: Array<{ worker: number; pid: number; events: number; connected: boolean }> };
  };
}
interface AlertsView {
  active: Array<{ rule: string; fingerprint: string; state: string; startsAt: number }>;
  recent: Array<{ rule: string; fingerprint: string; state: string; startsAt: number }>;
}

describe('alerting across rampart start --workers 2', () => {
  it('one alert for failed logins split over two workers, one delivery, the same view from both; a killed worker is replaced and alerting goes on', async () => {
    run = startCli(['start', '-c', join(dir, 'rampart.yaml'), '--workers', '2'], dir);
    await run.waitFor(/started 2 worker\(s\)/);
    const gw = (await run.waitFor(/Rampart gateway\s+(http:\/\/\S+)/))[1]!;
    const adminUrl = (await run.waitFor(/Admin \(health\)\s+(http:\/\/\S+)\/healthz/))[1]!;
    const monitor = () =>
      call(`${adminUrl}/admin/monitor`, { key: adminKey }).then((r) => r.json() as MonitorView);
    const alerts = (worker?: number) =>
      waitFor(`/admin/alerts from worker ${worker ?? 'any'}`, async () => {
        // Ask on new connections until the wanted worker answers (both answer /admin/monitor alike).
        const m = await monitor();
        if (worker !== undefined && m.cluster.worker !== worker) return undefined;
        const a = (await call(`${adminUrl}/admin/alerts`, { key: adminKey })).json() as AlertsView;
        return { worker: m.cluster.worker, ...a };
      });
    const ready = await waitFor('both workers connected to the primary', async () => {
      const m = await monitor();
      const ws = m.cluster.primary.workers.filter((w) => w.connected);
      return ws.length === 2 ? ws : undefined;
    });

    // 60 failed logins, each on a new connection: the primary alternates the workers.
    const fail = async (username: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await call(`${gw}/auth/login`, {
          method: 'POST',
          body: { username, password: 'wrong guess ' + i },
        });
        expect([401, 429]).toContain(r.status);
      }
    };
    await fail('victim-a', 60);
    const m1 = await monitor();
    const served = m1.cluster.primary.workers.filter((w) => w.connected);
    expect(served).toHaveLength(2);
    // Both workers took part (each forwards a request and an auth event per login).
    for (const w of served) expect(w.events).toBeGreaterThanOrEqual(20);
    // A scrape answered by either worker counts the whole cluster's 60 failed logins.
    for (let i = 0; i < 3; i++) {
      const r = await request(`${adminUrl}/metrics`, { reset: true });
      const text = await r.body.text();
      const failures = [...text.matchAll(/^rampart_auth_failures_total\{action="login",[^}]*\} (\d+)$/gm)];
      expect(failures.reduce((n, m) => n + Number(m[1]), 0)).toBe(60);
      const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(check.stdout + check.stderr).toBe('');
    }

    const firing = (a: AlertsView, rule: string) =>
      a.recent.filter((r) => r.rule === rule && r.state === 'firing');
    const fromOne = await waitFor('failed-logins firing', async () => {
      const a = await alerts();
      return firing(a, 'failed-logins').length > 0 ? a : undefined;
    });
    const views = [await alerts(ready[0]!.worker), await alerts(ready[1]!.worker)];
    for (const v of views) {
      expect(firing(v, 'failed-logins')).toHaveLength(1);
      expect(firing(v, 'failed-logins')[0]!.fingerprint).toBe(
        firing(fromOne, 'failed-logins')[0]!.fingerprint,
      );
      expect(v.active.map((x) => x.rule).sort()).toEqual(views[0]!.active.map((x) => x.rule).sort());
      expect(firing(v, 'failed-logins-per-account')).toHaveLength(1);
    }
    await waitFor('the webhook delivery', async () =>
      deliveries.some((d) => d.rule === 'failed-logins' && d.state === 'firing') ? true : undefined,
    );

    // A worker killed: the primary starts a new one, which shows the cluster's alerts at once.
    const victim = ready[0]!;
    process.kill(victim.pid, 'SIGKILL');
    await run.waitFor(new RegExp(`worker ${victim.pid} exited \\(SIGKILL\\); starting a new one`));
    const replaced = await waitFor('a replacement worker connected', async () => {
      const ws = (await monitor()).cluster.primary.workers.filter((w) => w.connected);
      const fresh = ws.find((w) => w.pid !== victim.pid && w.worker !== ready[1]!.worker);
      return ws.length === 2 && fresh ? fresh : undefined;
    });
    const fresh = await alerts(replaced.worker);
    expect(firing(fresh, 'failed-logins').map((r) => r.fingerprint)).toEqual(
      firing(fromOne, 'failed-logins').map((r) => r.fingerprint),
    );

    // Alerting goes on: another account guessed over the surviving and the new worker.
    await fail('victim-b', 60);
    const after = await waitFor('a second per-account alert', async () => {
      const a = await alerts();
      return firing(a, 'failed-logins-per-account').length === 2 ? a : undefined;
    });
    const perAccount = firing(after, 'failed-logins-per-account').map((r) => r.fingerprint);
    await waitFor('the second per-account delivery', async () =>
      perAccount.every((fp) => deliveries.some((d) => d.fingerprint === fp && d.state === 'firing'))
        ? true
        : undefined,
    );
    // Exactly one delivery per alert change: the primary notifies, never a worker.
    expect(deliveries.filter((d) => d.rule === 'failed-logins' && d.state === 'firing')).toHaveLength(1);
    const keys = deliveries.map((d) => `${d.fingerprint}/${d.state}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(firing(after, 'failed-logins')).toHaveLength(1);

    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  }, 180_000);
});
