import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type Running } from '../helpers/cli-process.ts';
import { FIXTURES, insecureAgent, startUpstream } from '../helpers/gateway.ts';

/**
 * "Nothing acknowledged is lost": a real `rampart start` under load is SIGKILLed; every
 * audit record the process had acknowledged (committed, as its /metrics said) must be in
 * the store, in sequence. What came after the last acknowledgement is the crash window.
 */
describe('audit log across a SIGKILL (a real process under load)', () => {
  let running: Running | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exit;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `rampart start` in front of a shop upstream with this `monitor.auditLog`; its gateway and admin URLs. */
  async function startShop(prefix: string, auditLog: string) {
    const up = await startUpstream();
    const home = await mkdtemp(join(tmpdir(), prefix));
    dir = home;
    const file = join(home, 'rampart.yaml');
    await writeFile(
      file,
      `listen: { host: 127.0.0.1, port: 0, tls: { devCertDir: ./tls } }
admin: { port: 0 }
store: sqlite://./rampart.db
monitor: { auditLog: ${auditLog} }
apis:
  - name: shop
    upstream: ${up.url}
    versions:
      - { base: /v2, spec: ${join(FIXTURES, 'gateway/shop-v2.yaml')} }
`,
    );
    const proc = startCli(['start', '-c', file], home);
    running = proc;
    const gw = (await proc.waitFor(/Rampart gateway\s+(https:\/\/\S+)/))[1]!;
    const admin = (await proc.waitFor(/Admin \(health\)\s+(http:\/\/\S+)\/healthz/))[1]!;
    return { up, gw, admin, proc, home };
  }

  it('every record acknowledged before the kill is in the store; the rest is bounded by the flush interval', async () => {
    const { up, gw, admin, proc, home } = await startShop(
      'rampart-crash-',
      '{ flushIntervalMs: 50, batchSize: 200 }',
    );

    let stop = false;
    let sent = 0;
    const worker = async () => {
      while (!stop) {
        const n = sent++;
        try {
          // An undocumented path: a shadow-endpoint record and a 404 request record each.
          const r = await request(`${gw}/probe/${n}`, { dispatcher: insecureAgent });
          await r.body.dump();
        } catch {
          return; // the process is gone
        }
      }
    };
    const load = Array.from({ length: 8 }, worker);
    let acknowledged = 0;
    const started = Date.now();
    while (Date.now() - started < 1500 || acknowledged < 200) {
      const text = await (await request(`${admin}/metrics`)).body.text();
      acknowledged = Number(/^rampart_audit_log_records_total (\d+)$/m.exec(text)![1]);
      await new Promise((r) => setTimeout(r, 10));
      if (Date.now() - started > 10_000) break;
    }
    proc.child.kill('SIGKILL');
    await proc.exit;
    stop = true;
    await Promise.all(load);
    await up.close();

    expect(acknowledged).toBeGreaterThan(100);
    const db = new Database(join(home, 'rampart.db'), { readonly: true });
    const boots = db.prepare('SELECT DISTINCT boot FROM audit_log').all() as { boot: string }[];
    expect(boots).toHaveLength(1);
    const { n, max } = db.prepare('SELECT COUNT(*) AS n, MAX(seq) AS max FROM audit_log').get() as {
      n: number;
      max: number;
    };
    const upTo = db.prepare('SELECT COUNT(*) AS n FROM audit_log WHERE seq <= ?').get(acknowledged) as {
      n: number;
    };
    db.close();
    // Every acknowledged record, 1..acknowledged, is there (no gap)…
    expect(upTo.n).toBe(acknowledged);
    // …and what is there is contiguous: nothing half-written.
    expect(max).toBe(n);
    expect(n).toBeGreaterThanOrEqual(acknowledged);
    // The crash window: records emitted but not acknowledged; at most the requests of one flush interval or so.
    expect(sent * 2 - n).toBeGreaterThanOrEqual(0);
  });

  it('a graceful stop (SIGTERM) under load: every answered request has its records in the store', async () => {
    // A long flush interval and big batches: what is in the store at the end was written by the shutdown.
    const { up, gw, proc, home } = await startShop(
      'rampart-graceful-',
      '{ flushIntervalMs: 10000, batchSize: 10000 }',
    );
    let answered = 0;
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await request(`${gw}/probe/${n++}`, { dispatcher: insecureAgent });
          if (r.statusCode === 404) answered++; // the answer is here: its records must be too
          await r.body.dump();
        } catch {
          return; // the listener closed
        }
      }
    };
    const load = Array.from({ length: 8 }, worker);
    while (answered < 3000) await new Promise((r) => setTimeout(r, 10));
    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
    stop = true;
    await Promise.all(load);
    await up.close();
    const db = new Database(join(home, 'rampart.db'), { readonly: true });
    const count = (type: string) =>
      (db.prepare('SELECT COUNT(*) AS n FROM audit_log WHERE type = ?').get(type) as { n: number }).n;
    const probes = count('shadow-endpoint');
    const requests = count('request');
    db.close();
    // Each answered probe is one shadow-endpoint and one 404 request record, none lost.
    expect(probes).toBe(answered);
    expect(requests).toBe(answered);
  }, 120_000);
});
