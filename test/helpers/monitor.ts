/**
 * The monitoring stack as `rampart start` runs it, in-process: the deliberately
 * vulnerable lab behind the gateway (the built-in demo's APIs and policies), the
 * identity service under /auth (cheap scrypt), the monitor with a fast audit flush,
 * and an admin API key (role:admin) for the admin endpoints.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { App, configFromObject } from '../../src/cli/app.ts';
import { DEMO_LAB, DEMO_POLICIES, demoApis } from '../../src/cli/demo.ts';
import type { Clock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { ApiKeys } from '../../src/identity/api-keys.ts';
import { startLab, type LabServer } from '../../src/lab/index.ts';

export const FAST_SCRYPT = { ln: 10, r: 8, p: 1 };

export interface MonitorStack {
  app: App;
  lab: LabServer;
  gatewayUrl: string;
  adminUrl: string;
  adminKey: string;
  dir: string;
  /** GET on the admin listener with the admin key. */
  admin(
    path: string,
    key?: string | null,
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string; json(): any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export async function startMonitorStack(
  opts: {
    monitor?: Record<string, unknown>;
    store?: string;
    clock?: Clock;
    policies?: Record<string, unknown>;
  } = {},
): Promise<MonitorStack> {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-monitor-'));
  const lab = await startLab(DEMO_LAB);
  const config = configFromObject(
    {
      listen: { host: '127.0.0.1', port: 0, tls: { devCertDir: join(dir, 'tls') } },
      admin: { port: 0 },
      store: opts.store ?? `sqlite://${join(dir, 'rampart.db')}`,
      // The scenarios send hundreds of requests a minute from one loopback address: the lab
      // document's 100/min rateLimit would answer them 429 and hide the signals they are about.
      // validate-request and injection-guard are off too: they refuse the requests that make
      // the lab fail or stall (5xx-storm, slow-upstream) before it sees them, and these tests
      // are about alerting on what reaches the upstream.
      policies: {
        ...DEMO_POLICIES,
        'rate-limit': { enabled: false },
        'validate-request': { enabled: false },
        'injection-guard': { enabled: false },
        ...opts.policies,
      },
      identity: {
        issuer: 'https://127.0.0.1/auth',
        keyFile: join(dir, 'kek.key'),
        passwords: { scrypt: FAST_SCRYPT },
      },
      apis: demoApis(lab.url),
      monitor: { auditLog: { flushIntervalMs: 20 }, ...opts.monitor },
    },
    dir,
  );
  const app = await App.start({
    config,
    baseDir: dir,
    log: silentLogger,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const admin = await app.identity!.users.add({
    username: 'ops-admin',
    password: 'a long enough admin passphrase',
    roles: ['admin'],
  });
  const key = await (app.identity!.apiKeys as ApiKeys).create(
    admin.id,
    { name: 'monitor', scopes: ['role:admin'] },
    ['admin'],
  );
  const adminUrl = app.admin.url;
  return {
    app,
    lab,
    gatewayUrl: app.gateway.url,
    adminUrl,
    adminKey: key.key,
    dir,
    async admin(path, k = key.key) {
      const r = await request(adminUrl + path, { headers: k ? { authorization: `Bearer ${k}` } : {} });
      const text = await r.body.text();
      return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
    },
    async close() {
      await app.stop();
      await lab.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
