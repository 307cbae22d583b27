/**
 * Certificate expiry end to end: the gateway serving a real certificate (openssl) reports its
 * expiry at start; `/metrics` always carries the expiry timestamp, and the shipped rules fire
 * `cert-expiring-7d` for a certificate with days left, `cert-expiring-30d` for one with weeks,
 * and nothing for one with a year.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { App, configFromObject } from '../../src/cli/app.ts';
import { silentLogger } from '../../src/core/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'rampart-cert-expiry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function certificate(days: number): { cert: string; key: string } {
  const cert = join(dir, `cert-${days}.pem`);
  const key = join(dir, `key-${days}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      String(days),
      '-subj',
      `/CN=expiry-${days}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

describe('certificate expiry reaches metrics and the shipped rules', () => {
  for (const [days, fires] of [
    [5, ['cert-expiring-7d']],
    [20, ['cert-expiring-30d']],
    [365, []],
  ] as const) {
    it(`a certificate valid for ${days} more days: ${fires.length ? fires.join(', ') : 'no alert'}`, async () => {
      const files = certificate(days);
      const app = await App.start({
        config: configFromObject(
          {
            listen: { host: '127.0.0.1', port: 0, tls: { cert: files.cert, key: files.key } },
            admin: { port: 0 },
            store: 'sqlite::memory:',
            apis: [],
          },
          dir,
        ),
        baseDir: dir,
        log: silentLogger,
      });
      try {
        app.monitor!.tick();
        const notAfter = Math.floor(Date.parse(new X509Certificate(readFileSync(files.cert)).validTo) / 1000);
        expect(app.monitor!.metricsText()).toMatch(
          new RegExp(
            `^rampart_certificate_expiry_timestamp_seconds\\{subject="CN=expiry-${days}"\\} ${notAfter}$`,
            'm',
          ),
        );
        const fired = app.monitor!.alerts().recent.filter((a) => a.state === 'firing');
        expect(fired.map((a) => a.rule)).toEqual(fires);
        for (const a of fired) expect(a.labels.subject).toBe(`CN=expiry-${days}`);
      } finally {
        await app.stop();
      }
    });
  }
});
