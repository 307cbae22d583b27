import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RampartEvent } from '../core/events.ts';
import { fieldOf } from './rules/fields.ts';

export interface FeedFilter {
  types?: Set<string>;
  route?: string;
  principal?: string;
  ip?: string;
}

interface Client {
  res: ServerResponse;
  filter: FeedFilter;
  /** Bytes the socket has not taken yet; over the bound, events for this client are dropped. */
  backlogged: boolean;
}

/**
 * The live feed: Server-Sent Events (WHATWG HTML §9.2) of events and alert state
 * changes. Each message has `id` (a sequence number), `event` (the event type, or
 * `alert`) and one line of JSON `data`. A client whose socket does not keep up misses
 * events (counted) instead of buffering without bound; a comment every 15 s keeps
 * proxies from closing an idle stream.
 */
export class LiveFeed {
  private readonly clients = new Set<Client>();
  private seq = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  dropped = 0;

  constructor(private readonly maxClients = 100) {}

  get size(): number {
    return this.clients.size;
  }

  /** Parses `?type=auth,denied&route=…&principal=…&ip=…`. */
  static filterFrom(params: URLSearchParams): FeedFilter {
    const f: FeedFilter = {};
    const types = params.get('type') ?? params.get('types');
    if (types)
      f.types = new Set(
        types
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      );
    for (const k of ['route', 'principal', 'ip'] as const) {
      const v = params.get(k);
      if (v) f[k] = v;
    }
    return f;
  }

  /** Takes over the response as an event stream. Returns false when the feed is full. */
  attach(req: IncomingMessage, res: ServerResponse, filter: FeedFilter): boolean {
    if (this.clients.size >= this.maxClients) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    res.write(': rampart live feed\nretry: 2000\n\n');
    const c: Client = { res, filter, backlogged: false };
    res.on('drain', () => (c.backlogged = false));
    this.clients.add(c);
    const done = () => this.clients.delete(c);
    req.on('close', done);
    res.on('close', done);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => {
        for (const cl of this.clients) if (!cl.backlogged) cl.res.write(': keep-alive\n\n');
      }, 15_000);
      this.heartbeat.unref();
    }
    return true;
  }

  private matches(
    f: FeedFilter,
    type: string,
    e: RampartEvent | undefined,
    labels?: Record<string, string>,
  ): boolean {
    if (f.types && !f.types.has(type)) return false;
    for (const k of ['route', 'principal', 'ip'] as const) {
      const want = f[k];
      if (want === undefined) continue;
      const have = e ? fieldOf(e, k) : labels?.[k];
      if (have !== want) return false;
    }
    return true;
  }

  /** Sends an event (or an alert change, type `alert`) to every client whose filter matches. */
  publish(type: string, data: unknown, event?: RampartEvent, labels?: Record<string, string>): void {
    if (this.clients.size === 0) return;
    let text: string | undefined;
    for (const c of this.clients) {
      if (!this.matches(c.filter, type, event, labels)) continue;
      if (c.backlogged) {
        this.dropped++;
        continue;
      }
      text ??= `id: ${++this.seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
      if (!c.res.write(text)) c.backlogged = true;
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}
