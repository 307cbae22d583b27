import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problem, PROBLEM_CONTENT_TYPE } from '../core/errors.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
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
  ) {
    this.server = http.createServer(
      { headersTimeout: 5000, requestTimeout: 10000 },
      (req, res) => void this.handle(req, res),
    );
  }

  static async start(opts: {
    host: string;
    port: number;
    checks?: ReadinessCheck[];
    routes?: AdminRoute[];
  }): Promise<AdminServer> {
    const s = new AdminServer(opts.checks ?? [], opts.routes ?? []);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, opts.host, () => resolve());
    });
    return s;
  }

  get url(): string {
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
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
    // A path ending in `/*` serves everything under it (the console's identity relay).
    const route =
      this.routes.find((r) => r.method === req.method && r.path === path) ??
      this.routes.find(
        (r) => r.method === req.method && r.path.endsWith('/*') && path.startsWith(r.path.slice(0, -1)),
      );
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
