/**
 * The admin listener off loopback: TLS 1.3 or no start (issue #18), and the admin API's own
 * document passes `rampart audit --fail-on high` (the product eats its own food).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_API_DOCUMENT } from '../../src/admin/api/index.ts';
import { AdminServer, isLoopbackHost, plainAdminRefusal } from '../../src/admin/server.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { loadCertificate } from '../../src/gateway/tls.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('admin listener transport', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost'])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'admin.example.com', '128.0.0.1'])
      expect(isLoopbackHost(h)).toBe(false);
  });

  it('refuses to start on a non-loopback address without TLS, with a precise message', async () => {
    await expect(AdminServer.start({ host: '0.0.0.0', port: 0 })).rejects.toThrow(
      plainAdminRefusal('0.0.0.0'),
    );
    expect(plainAdminRefusal('0.0.0.0')).toMatch(/admin\.tls\.cert and admin\.tls\.key/);
  });

  it('serves TLS 1.3 only when given a certificate (a TLS 1.2 client is refused)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-admin-tls-'));
    dirs.push(dir);
    const cert = await loadCertificate({ devCertDir: dir }, silentLogger, new ManualClock(Date.now()));
    const admin = await AdminServer.start({ host: '0.0.0.0', port: 0, tls: cert });
    try {
      expect(admin.url).toMatch(/^https:/);
      const port = Number(new URL(admin.url.replace('0.0.0.0', '127.0.0.1')).port);
      const version = await new Promise<string>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          resolve(s.getProtocol() ?? '');
          s.end();
        });
        s.on('error', reject);
      });
      expect(version).toBe('TLSv1.3');
      const old = await new Promise<string>((resolve) => {
        const s = connect(
          { host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' },
          () => {
            resolve('connected');
            s.end();
          },
        );
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(old).not.toBe('connected');
    } finally {
      await admin.close();
    }
  });
});

describe("the admin API's own document", () => {
  it('passes rampart audit --fail-on high (exit 0, no high or critical finding)', () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'rampart.js');
    const run = spawnSync(process.execPath, [bin, 'audit', ADMIN_API_DOCUMENT, '--fail-on', 'high'], {
      encoding: 'utf8',
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(
      execFileSync(process.execPath, [bin, 'audit', ADMIN_API_DOCUMENT, '--format', 'json'], {
        encoding: 'utf8',
      }),
    ) as { findings: Array<{ severity: string; check: string }> };
    expect(report.findings.filter((f) => f.severity === 'high' || f.severity === 'critical')).toEqual([]);
    expect(report.findings.length).toBeGreaterThan(0); // the audit did run over the document
  });
});
