import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { generate } from 'selfsigned';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

/**
 * TLS 1.3 only (Mozilla "modern"): TLS 1.2 and older handshakes fail. The three
 * TLS 1.3 suites are the only ones TLS 1.3 negotiates in Node, listed explicitly.
 */
export const TLS13_OPTIONS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
} as const satisfies SecureContextOptions;

export interface CertPair {
  cert: string;
  key: string;
  /** True when this is the generated development certificate. */
  generated: boolean;
  source: string;
}

const DAY = 86_400_000;

/**
 * Loads the configured certificate, or generates (once) and keeps a self-signed
 * development certificate for localhost, 127.0.0.1 and ::1 — with a warning, since
 * clients will not trust it. A kept dev certificate is regenerated when it has less
 * than 7 days left.
 */
export async function loadCertificate(
  opts: { cert?: string | undefined; key?: string | undefined; devCertDir: string },
  log: Logger,
  clock: Clock,
): Promise<CertPair> {
  if (opts.cert || opts.key) {
    if (!opts.cert || !opts.key) throw new Error('listen.tls: set both cert and key, or neither');
    const [cert, key] = await Promise.all([readFile(opts.cert, 'utf8'), readFile(opts.key, 'utf8')]);
    return { cert, key, generated: false, source: opts.cert };
  }
  const certPath = join(opts.devCertDir, 'dev-cert.pem');
  const keyPath = join(opts.devCertDir, 'dev-key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    if (daysLeft(cert, clock) > 7) return { cert, key, generated: true, source: certPath };
  }
  const now = clock.now();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 90 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await mkdir(opts.devCertDir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  await writeFile(certPath, pems.cert);
  log.warn(
    { cert: certPath },
    'generated a self-signed development certificate (clients will not trust it); configure listen.tls.cert and key for production',
  );
  return { cert: pems.cert, key: pems.private, generated: true, source: certPath };
}

/** Whole days until the first certificate in `pem` expires (negative when expired). */
export function daysLeft(pem: string, clock: Clock): number {
  const x = new X509Certificate(pem);
  return Math.floor((Date.parse(x.validTo) - clock.now()) / DAY);
}

export interface ExpiryStatus {
  subject: string;
  notAfter: string;
  daysLeft: number;
  /** The smallest configured threshold crossed, if any. */
  threshold: number | undefined;
}

/** Checks a certificate against warning thresholds (e.g. [30, 7] days). */
export function checkExpiry(pem: string, thresholds: readonly number[], clock: Clock): ExpiryStatus {
  const x = new X509Certificate(pem);
  const left = daysLeft(pem, clock);
  const crossed = thresholds.filter((t) => left <= t).sort((a, b) => a - b)[0];
  return {
    subject: x.subject.replace(/\n/g, ', '),
    notAfter: new Date(Date.parse(x.validTo)).toISOString(),
    daysLeft: left,
    threshold: crossed,
  };
}
