/**
 * Issue #18, "the product eats its own food": `rampart scan` (the CLI, a real child process)
 * of the running admin API, driven by the admin API's own OpenAPI document, with an admin and
 * a viewer identity (multi-factor access tokens of the identity service), finds nothing of
 * medium severity or above. The document's `rampart audit` is test/admin/listener.test.ts's.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_DOCUMENT } from '../../src/admin/api/index.ts';
import { startAdminStack, type AdminStack } from './stack.ts';

const BIN = resolve(import.meta.dirname, '../../bin/rampart.js');

let s: AdminStack;
beforeAll(async () => {
  // The hardened deployment: /metrics only with a credential, even from loopback (a scan from
  // this host is any other loopback client; an unauthenticated scrape is the scanner's API9 finding).
  s = await startAdminStack({
    config: {
      monitor: { auditLog: { flushIntervalMs: 20 }, metrics: { loopback: false } },
    },
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, RAMPART_CONFIG: '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

interface ScanReport {
  findings: Array<{ severity: string; check: string; operation?: string; title?: string }>;
  meta: { requests?: number; checks?: string[] };
}

describe('rampart scan of the admin API', () => {
  it('with an admin and a viewer identity finds nothing of medium or above', async () => {
    const admin = await s.bearer(s.admin);
    const viewer = await s.bearer(s.viewer);
    const out = join(s.dir, 'self-scan.json');
    const r = await run([
      'scan',
      '--spec',
      ADMIN_API_DOCUMENT,
      '--target',
      s.adminUrl,
      '--identity',
      `admin:admin=Authorization: Bearer ${admin}`,
      '--identity',
      `viewer:viewer=Authorization: Bearer ${viewer}`,
      '--format',
      'json',
      '--output',
      out,
      '--fail-on',
      'medium',
    ]);
    const report = JSON.parse(await readFile(out, 'utf8')) as ScanReport;
    const serious = report.findings.filter((f) => ['medium', 'high', 'critical'].includes(f.severity));
    if (process.env.SELF_SCAN_DUMP)
      await writeFile(process.env.SELF_SCAN_DUMP, JSON.stringify(report, null, 1));
    expect(serious, r.stderr).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    // The scan did run over the API: requests were sent and checks ran.
    expect(r.stderr).toMatch(/\d+ requests in/);
    expect(Number(/(\d+) requests in/.exec(r.stderr)![1])).toBeGreaterThan(50);
  }, 300_000);

  it('refuses /metrics to an unauthenticated loopback peer when monitor.metrics.loopback is off', async () => {
    const r = await s.call('GET', '/metrics');
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.body.type).toBe('https://rampart.dev/problems/unauthenticated');
    const viewer = await s.bearer(s.viewer);
    const ok = await s.call('GET', '/metrics', { headers: { authorization: `Bearer ${viewer}` } });
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/^# (HELP|TYPE) /m);
  });
});
