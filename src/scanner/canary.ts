import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CanaryHit {
  token: string;
  method: string;
  path: string;
  remoteAddress: string;
  userAgent?: string;
  at: number;
}

/**
 * A local HTTP listener that proves server-side requests: the scanner plants
 * `canary.url(token)` in URL-typed inputs, and a hit on that token means the target
 * fetched it. It answers every request with a tiny PNG-typed body so the fetch
 * looks successful, and keeps at most 1000 hits.
 */
export class Canary {
  private readonly hits: CanaryHit[] = [];
  private constructor(
    private readonly server: Server,
    readonly base: string,
  ) {}

  static async start(host = '127.0.0.1', advertise?: string): Promise<Canary> {
    const holder: { c?: Canary } = {};
    const server = createServer((req: IncomingMessage, res) => {
      const m = /^\/c\/([a-f0-9]{16})/.exec(req.url ?? '');
      if (m && holder.c && holder.c.hits.length < 1000)
        holder.c.hits.push({
          token: m[1]!,
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          remoteAddress: req.socket.remoteAddress ?? '',
          ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
          at: Date.now(),
        });
      req.resume();
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': '8' });
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const shown = advertise ?? (host.includes(':') ? `[${host}]` : host);
    holder.c = new Canary(server, `http://${shown}:${port}`);
    return holder.c;
  }

  newToken(): string {
    return randomBytes(8).toString('hex');
  }

  url(token: string): string {
    return `${this.base}/c/${token}/image.png`;
  }

  hitsFor(token: string): CanaryHit[] {
    return this.hits.filter((h) => h.token === token);
  }

  /** Waits up to `ms` for a hit on `token` (a callback may arrive after the response). */
  async waitFor(token: string, ms: number): Promise<CanaryHit | undefined> {
    const end = Date.now() + ms;
    for (;;) {
      const h = this.hitsFor(token)[0];
      if (h || Date.now() >= end) return h;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
