import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { problem, PROBLEM_CONTENT_TYPE } from '../core/errors.ts';
import { TLS13_OPTIONS, type CertPair } from '../gateway/tls.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** A handler for every path under a prefix (the admin API under /admin/api). */
export interface AdminPrefix {
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** 127.0.0.0/8, ::1 and localhost: the only addresses the admin listener serves without TLS. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Why the admin listener will not start on a non-loopback address without TLS. */
export function plainAdminRefusal(host: string): string {
  return `admin.host is ${host}, which is not a loopback address: the admin listener (admin API, console, audit log) serves other hosts only over TLS 1.3. Set admin.tls.cert and admin.tls.key (PEM files), or bind admin.host to 127.0.0.1.`;
}

export interface AdminRoute {
  method: string;
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

/**
 * The admin listener: health and readiness (never on the public listener), and later
 * metrics and the admin API. Binds to 127.0.0.1 unless configured otherwise.
 */
export class AdminServer {
  private readonly server: http.Server;
  private ready = false;

  private constructor(
    private readonly checks: ReadinessCheck[],
    private readonly routes: AdminRoute[],
    private readonly prefixes: AdminPrefix[],
    tls: CertPair | undefined,
  ) {
    const options = { headersTimeout: 5000, requestTimeout: 10000 };
    const listener = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = tls
      ? https.createServer({ ...options, ...TLS13_OPTIONS, cert: tls.cert, key: tls.key }, listener)
      : http.createServer(options, listener);
    this.secure = tls !== undefined;
  }

  /** True when the listener serves TLS 1.3. */
  readonly secure: boolean;

  /**
   * Starts the listener. Off loopback it needs `tls` (TLS 1.3 only): without it, start refuses
   * with {@link plainAdminRefusal}'s message.
   */
  static async start(opts: {
    host: string;
    port: number;
    checks?: ReadinessCheck[];
    routes?: AdminRoute[];
    prefixes?: AdminPrefix[];
    tls?: CertPair | undefined;
  }): Promise<AdminServer> {
    if (!opts.tls && !isLoopbackHost(opts.host)) throw new Error(plainAdminRefusal(opts.host));
    const s = new AdminServer(opts.checks ?? [], opts.routes ?? [], opts.prefixes ?? [], opts.tls);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, opts.host, () => resolve());
    });
    return s;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `${this.secure ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Marks the process ready (after the gateway listens) or not (while draining). */
  setReady(ready: boolean): void {
    this.ready = ready;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (req.method === 'GET' && path === '/healthz') {
      return json(res, 200, { status: 'ok' }, headers);
    }
    if (req.method === 'GET' && path === '/readyz') {
      const results: Record<string, string> = {};
      let ok = this.ready;
      for (const c of this.checks) {
        try {
          await c.check();
          results[c.name] = 'ok';
        } catch {
          results[c.name] = 'failing';
          ok = false;
        }
      }
      return json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not-ready', checks: results }, headers);
    }
    for (const p of this.prefixes)
      if (path === p.prefix || path.startsWith(p.prefix + '/')) return p.handle(req, res);
    const route = this.routes.find((r) => r.method === req.method && r.path === path);
    if (route) return route.handle(req, res);
    const p = problem('not-found', { detail: 'No admin endpoint at this path' });
    res.writeHead(404, { 'content-type': PROBLEM_CONTENT_TYPE, ...headers });
    res.end(JSON.stringify(p));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
