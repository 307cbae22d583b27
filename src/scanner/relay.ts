import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { withDeadline } from '../core/deadline.ts';

/**
 * A tampering relay for third-party APIs the target consumes (API10). Point the
 * target's upstream setting at the relay (staging only); it forwards each request to
 * the real upstream and rewrites JSON answers the way a compromised or buggy supplier
 * would: booleans become strings, numbers grow tenfold, strings get markup and 4 KiB of
 * padding. Answers of the target that then violate its own document show that it
 * consumes the upstream without validating it.
 */
export class TamperRelay {
  hits = 0;
  tampered = 0;
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly upstream: string,
  ) {}

  static async start(upstream: string, port = 0, host = '127.0.0.1'): Promise<TamperRelay> {
    const up = new URL(upstream);
    const holder: { r?: TamperRelay } = {};
    const server = createServer((req, res) => {
      const relay = holder.r!;
      relay.hits++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
        const body = Buffer.concat(chunks);
        withDeadline(5000, async (signal) => {
          const r = await request(new URL(req.url ?? '/', up).href, {
            method: (req.method ?? 'GET') as 'GET',
            headers,
            ...(body.length ? { body } : {}),
            signal,
          });
          return { r, text: await r.body.text() };
        })
          .then(({ r, text }) => {
            const type = String(r.headers['content-type'] ?? '');
            let out = text;
            if (r.statusCode >= 200 && r.statusCode < 300 && /json/i.test(type)) {
              try {
                out = JSON.stringify(tamper(JSON.parse(text)));
                relay.tampered++;
              } catch {
                /* not JSON after all: pass through */
              }
            }
            res.writeHead(r.statusCode, {
              'content-type': type || 'application/octet-stream',
              'content-length': Buffer.byteLength(out),
            });
            res.end(out);
          })
          .catch(() => {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end('relay: upstream unreachable');
          });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const p = (server.address() as AddressInfo).port;
    holder.r = new TamperRelay(server, `http://${host.includes(':') ? `[${host}]` : host}:${p}`, upstream);
    return holder.r;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

export const TAMPER_MARKUP = '<script>rampart-upstream()</script>';

/** What a hostile supplier sends instead of the real value. */
export function tamper(v: unknown, depth = 0): unknown {
  if (depth > 8) return v;
  if (Array.isArray(v)) return v.map((x) => tamper(x, depth + 1));
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tamper(x, depth + 1)]));
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return v === 0 ? -1 : v * 10;
  if (typeof v === 'string') return TAMPER_MARKUP + v + 'X'.repeat(4096);
  return v;
}
