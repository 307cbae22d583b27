import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { PROBLEM_CONTENT_TYPE, problem } from '../core/errors.ts';
import { buildRouter, type LabContext } from './api.ts';
import { pinnedAgent } from './ssrf.ts';
import { labAsset } from './assets.ts';
import { openStore } from '../store/index.ts';
import {
  errorResponse,
  LabError,
  SECURE_HEADERS,
  send,
  VULNERABLE_HEADERS,
  type LabResponse,
} from './http.ts';
import { seed } from './seed.ts';
import { startThirdPartyStub, type StubServer } from './stubs.ts';
import { LabTokens } from './tokens.ts';
import type { LabOptions, LabServer } from './types.ts';

export type { LabMode, LabOptions, LabServer } from './types.ts';
export { DEMO_USERS, SEED } from './seed.ts';
export { LAB_AUDIENCE, LAB_ISSUER, WEAK_JWT_SECRET } from './tokens.ts';
export { flaws, type Flaw, type OwaspApiCategory } from './flaws.ts';
export {
  DEFENCES,
  exploits,
  isDefence,
  type Exploit,
  type ExploitContext,
  type ExploitOutcome,
  type ExploitResult,
} from './exploits.ts';
export {
  startThirdPartyStub,
  startMetadataStub,
  startImageStub,
  METADATA_MARKER,
  type StubServer,
} from './stubs.ts';

/** File paths of the lab's OpenAPI 3.1 documents (v2 current, v1 deprecated). */
export const LAB_SPECS = {
  v1: labAsset('openapi/lab-v1.yaml'),
  v2: labAsset('openapi/lab-v2.yaml'),
} as const;

/** The OpenAPI document of the insurer API the lab consumes (for egress validation). */
export const INSURER_SPEC = labAsset('openapi/insurer.yaml');

/** v1's lifecycle, announced by the secure twin (RFC 9745 Deprecation, RFC 8594 Sunset). */
const V1_DEPRECATION = '@1767225600'; // 2026-01-01T00:00:00Z
const V1_SUNSET = 'Wed, 30 Jun 2027 23:59:59 GMT';

const DOCUMENTS: Record<string, string> = {
  'documents/visiting-hours.txt': 'Visiting hours: 10:00-12:00 and 15:00-19:00, two visitors per patient.\n',
  'documents/flu-vaccine.txt':
    'Flu vaccine leaflet: the seasonal vaccine is offered to every patient from October.\n',
  'private/clinic.env': 'DB_PASSWORD=lab-fake-db-password\nINSURER_API_KEY=lab-fake-insurer-key\n',
};

/**
 * Starts the clinic lab: a small patient-portal API, deliberately vulnerable or its
 * secure twin, on 127.0.0.1 with a fresh seeded in-memory SQLite database.
 * @example
 * const lab = await startLab({ mode: 'vulnerable' });
 * const res = await fetch(`${lab.url}/v2/health`);
 * await lab.close();
 */
export async function startLab(opts: LabOptions): Promise<LabServer> {
  const { mode } = opts;
  const clock = opts.clock ?? systemClock;
  const host = opts.host ?? '127.0.0.1';
  // One private in-memory SQLite store per instance, through the project's store
  // (no migrations: the lab's tables are its own, created by seed()).
  const db = await openStore('sqlite::memory:', { migrate: false });
  await seed(db, mode);
  const root = await mkdtemp(join(tmpdir(), 'rampart-lab-'));
  for (const [rel, text] of Object.entries(DOCUMENTS)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  let stub: StubServer | undefined;
  try {
    stub = opts.thirdPartyUrl
      ? undefined
      : // Always on loopback, whatever `host` says: the stub is malicious by design.
        await startThirdPartyStub({ port: opts.insurerPort ?? 0 });
  } catch (err) {
    // e.g. EADDRINUSE on --insurer-port: nothing else may stay behind.
    await db.close();
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const ctx: LabContext = {
    mode,
    db,
    clock,
    tokens: new LabTokens(mode, clock, opts.expiringTokens ?? false),
    docsDir: join(root, 'documents'),
    // A getter: a function-valued option is asked on every call (see LabOptions).
    get thirdPartyUrl() {
      const u = opts.thirdPartyUrl ?? stub!.url;
      return (typeof u === 'function' ? u() : u).replace(/\/$/, '');
    },
    avatarHosts: opts.avatarHosts ?? [],
    egress: mode === 'secure' ? pinnedAgent(opts.avatarHosts ?? []) : undefined,
    startedAt: clock.now(),
  };
  const router = buildRouter(ctx);
  const corsOrigins = opts.corsOrigins ?? [];

  /** Sets the twin's CORS headers; true when it has answered a preflight itself. */
  function answerCors(req: IncomingMessage, res: ServerResponse, method: string): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    if (mode === 'vulnerable') {
      // Planted (API8, CWE-942): any origin is reflected, with credentials.
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'Origin');
      if (method !== 'OPTIONS') return false;
      res.setHeader('access-control-allow-methods', req.headers['access-control-request-method'] ?? '*');
      res.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? '*');
    } else if (corsOrigins.includes(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      if (method !== 'OPTIONS') return false;
      res.setHeader('access-control-allow-methods', 'GET, POST, PUT, PATCH');
      res.setHeader('access-control-allow-headers', 'authorization, content-type');
      res.setHeader('access-control-max-age', '600');
    } else if (method === 'OPTIONS') {
      throw new LabError('cors-denied', 'This origin is not allowed');
    } else {
      return false;
    }
    send(res, { status: 204 });
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const base = mode === 'secure' ? SECURE_HEADERS : VULNERABLE_HEADERS;
    for (const [k, v] of Object.entries(base)) res.setHeader(k, v);
    let out: LabResponse;
    let path = rawUrl.split('?')[0]!;
    try {
      if (!rawUrl.startsWith('/'))
        throw new LabError('invalid-path', 'The request target must be an absolute path');
      const url = new URL(rawUrl, 'http://lab.invalid');
      path = url.pathname;
      if (path.startsWith('/v1/') && mode === 'secure') {
        res.setHeader('deprecation', V1_DEPRECATION);
        res.setHeader('sunset', V1_SUNSET);
        res.setHeader('link', `</v2${path.slice(3)}>; rel="successor-version"`);
      }
      if (answerCors(req, res, method)) return;
      const { route, params } = router.match(method, path);
      out = await route.handler({
        method,
        path,
        route: route.template,
        params,
        query: url.searchParams,
        headers: req.headers,
        raw: req,
      });
    } catch (err) {
      out = errorResponse(mode, err, path);
    }
    send(res, out);
  }

  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent)
        send(res, { status: 500, body: problem('internal'), contentType: PROBLEM_CONTENT_TYPE });
      else res.destroy();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  if (mode === 'secure') {
    // Slow clients (slowloris) do not hold connections open for minutes.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
  }
  /** Everything startLab set up besides the server itself. */
  const release = async (): Promise<void> => {
    await stub?.close();
    await ctx.egress?.close();
    await db.close();
    await rm(root, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolveListen());
    });
  } catch (err) {
    // e.g. EADDRINUSE: do not leave the insurer stub listening or the temp folder behind.
    await release();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closed = false;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    mode,
    insurerUrl: ctx.thirdPartyUrl,
    specs: { ...LAB_SPECS },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
      await release();
    },
  };
}
