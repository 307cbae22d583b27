import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScan } from '../../src/scanner/runner.ts';
import { tlsFindings } from '../../src/scanner/checks/misconfig.ts';
import { probeTls } from '../../src/scanner/tls.ts';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The TLS probe against real local TLS servers (certificates from `selfsigned`):
// - legacy: TLS 1.0 to 1.3 offered, a self-signed certificate that expired in 2021 and
//   names another host;
// - staging: TLS 1.2+, a valid self-signed certificate for 127.0.0.1 (trusted by the scan
//   with --ca so it can scan at all);
// - good: TLS 1.3 only, a certificate for 127.0.0.1 signed by a private CA the scan trusts.

/** The clock the direct probe findings are judged at; the full scans use the wall clock (certificates are made relative to it). */
const NOW = Date.UTC(2026, 11, 1);
const day = 86_400_000;
const servers: Server[] = [];
let legacy: number;
let staging: { port: number; cert: string };
let good: { port: number; ca: string };
const dir = mkdtempSync(join(tmpdir(), 'rampart-tls-'));
const spec = join(dir, 'status.yaml');

async function serve(opts: import('node:https').ServerOptions): Promise<number> {
  const s = createServer(opts, (req, res) => {
    res.writeHead(req.url === '/status' ? 200 : 404, {
      'content-type': 'application/json',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'strict-transport-security': 'max-age=63072000',
    });
    res.end('{"ok":true}');
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as AddressInfo).port;
}

const ipSan: import('selfsigned').CertificateExtension[] = [
  { name: 'basicConstraints', cA: false },
  { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
];

beforeAll(async () => {
  writeFileSync(
    spec,
    `openapi: 3.1.0\ninfo: { title: s, version: '1' }\npaths:\n  /status:\n    get:\n      responses:\n        '200': { description: up }\n`,
  );
  const old = await generate([{ name: 'commonName', value: 'legacy.example' }], {
    algorithm: 'sha256',
    notBeforeDate: new Date('2020-01-01'),
    notAfterDate: new Date('2021-01-01'),
  });
  legacy = await serve({
    key: old.private,
    cert: old.cert,
    minVersion: 'TLSv1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  const self = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 30 * day),
    notAfterDate: new Date(Date.now() + 300 * day),
    extensions: ipSan,
  });
  staging = { port: await serve({ key: self.private, cert: self.cert }), cert: self.cert };
  const ca = await generate([{ name: 'commonName', value: 'Rampart test CA' }], {
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 30 * day),
    notAfterDate: new Date(Date.now() + 3000 * day),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 30 * day),
    notAfterDate: new Date(Date.now() + 300 * day),
    extensions: ipSan,
    ca: { key: ca.private, cert: ca.cert },
  });
  good = { port: await serve({ key: leaf.private, cert: leaf.cert, minVersion: 'TLSv1.3' }), ca: ca.cert };
}, 60_000);

afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const keys = (f: { key?: string; severity?: string }[]) => f.map((x) => `${x.key} ${x.severity}`).sort();

describe('TLS probe', () => {
  it('sees TLS 1.0 and 1.1 on a legacy server (OpenSSL 3 needs security level 0 on the client to ask)', async () => {
    const probe = await probeTls('127.0.0.1', legacy);
    expect(probe.versions).toEqual({ TLSv1: true, 'TLSv1.1': true, 'TLSv1.2': true, 'TLSv1.3': true });
    expect(probe.certificate).toMatchObject({
      selfSigned: true,
      validTo: Date.parse('2021-01-01T00:00:00Z'),
    });
    expect(probe.certificate!.hostnameError).toMatch(/127\.0\.0\.1/);
    expect(keys(tlsFindings(probe, NOW))).toEqual([
      'TLSv1 medium',
      'TLSv1.1 medium',
      'TLSv1.2 info',
      'certificate-expired high',
      'certificate-hostname medium',
      'certificate-self-signed medium',
    ]);
  });

  it('judges dates by the clock it is given: the same certificate before 2021 is not expired', async () => {
    const probe = await probeTls('127.0.0.1', legacy);
    const before = tlsFindings(probe, Date.UTC(2020, 5, 1)).map((f) => f.key);
    expect(before).not.toContain('certificate-expired');
    expect(tlsFindings(probe, Date.UTC(2020, 11, 25)).map((f) => f.key)).toContain('certificate-expiring');
    expect(tlsFindings(probe, Date.UTC(2019, 11, 25)).map((f) => f.key)).toContain(
      'certificate-not-yet-valid',
    );
  });

  it('a full scan of a self-signed staging server trusted with --ca: self-signed and TLS 1.2, nothing older', async () => {
    const r = await runScan({
      specs: [spec],
      target: `https://127.0.0.1:${staging.port}`,
      identities: [],
      checks: ['trace-tls'],
      ca: [staging.cert],
    });
    expect(r.findings.map((f) => `${f.title} ${f.severity}`).sort()).toEqual([
      'TLS 1.2 is offered info',
      'The certificate is self-signed medium',
    ]);
    expect(r.findings.every((f) => f.operation === 'TLS' && f.owasp === 'API8:2023')).toBe(true);
  });

  it('a full scan of a TLS 1.3-only server with a CA-signed certificate reports nothing about TLS', async () => {
    const r = await runScan({
      specs: [spec],
      target: `https://127.0.0.1:${good.port}`,
      identities: [],
      checks: ['trace-tls'],
      ca: [good.ca],
    });
    expect(r.findings).toEqual([]);
    const probe = await probeTls('127.0.0.1', good.port, { ca: [good.ca] });
    expect(probe.versions).toEqual({ TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': true });
    expect(probe.certificate).toMatchObject({ selfSigned: false });
    expect(probe.certificate!.verifyError).toBeUndefined();
    // Without the CA the same certificate is untrusted.
    const untrusted = await probeTls('127.0.0.1', good.port);
    expect(tlsFindings(untrusted, NOW).map((f) => f.key)).toEqual(['certificate-untrusted']);
  });
});
