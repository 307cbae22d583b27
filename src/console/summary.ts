import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.ts';
import type { RampartEvent } from '../core/events.ts';

/** One second of traffic, as the console's dashboard draws it. */
export interface SecondSummary {
  /** Start of the second, epoch ms. */
  t: number;
  requests: number;
  /** Answers with status >= 500 (upstream or gateway errors). */
  errors: number;
  /** Latency percentiles of the second's requests (ms), null without requests. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Denials by OWASP API Top 10 2023 category (`API4:2023` …, `unknown`). */
  denied: Record<string, number>;
  rateLimited: number;
}

/** What a client receives each second: the second, and the top lists of the last minute. */
export interface LiveMessage {
  second: SecondSummary;
  topConsumers: [string, number][];
  topDeniedIps: [string, number][];
}

const TOP_WINDOW_S = 60;
const TOP_N = 8;
/** Latency samples kept per second (reservoir): enough for p99, bounded memory at any rate. */
const SAMPLES = 4096;
const HISTORY_S = 300;
/** Distinct consumers / IPs counted per second; further ones add to `(other)`. */
const MAX_KEYS = 2000;

interface Bucket {
  second: SecondSummary;
  seen: number;
  samples: number[];
  consumers: Map<string, number>;
  deniedIps: Map<string, number>;
}

function bump(m: Map<string, number>, key: string): void {
  const have = m.get(key);
  if (have !== undefined) m.set(key, have + 1);
  else if (m.size < MAX_KEYS) m.set(key, 1);
  else m.set('(other)', (m.get('(other)') ?? 0) + 1);
}

function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, i)]! * 100) / 100;
}

/**
 * Server-side per-second aggregation of the event bus for the console's dashboard: the
 * browser receives one small message a second whatever the request rate (5,000 events/s
 * cost the same as 5), instead of every event of the live feed. Seconds are cut by the
 * injected clock; `tick()` closes every second before the current one.
 */
export class LiveSummary {
  private readonly buckets = new Map<number, Bucket>();
  private readonly history: LiveMessage[] = [];
  private readonly closed: Bucket[] = [];
  private readonly clients = new Set<ServerResponse>();
  private rand = 0x2545f491;
  /** The last second sent; quiet seconds after it are sent as zeros (the chart keeps moving). */
  private last: number;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `category(policy, owasp)`: the OWASP category a denial counts under when its event
   * names none (the monitor's table, given by the composer); the event's own otherwise.
   */
  constructor(
    private readonly clock: Clock,
    private readonly o: { category?: (policy: string, owasp?: string) => string; maxClients?: number } = {},
  ) {
    this.last = Math.floor(clock.now() / 1000) * 1000 - 1000;
  }

  /** The event-bus listener. */
  observe = (e: RampartEvent): void => {
    const s = Math.floor(this.clock.now() / 1000) * 1000;
    let b = this.buckets.get(s);
    if (!b) {
      b = emptyBucket(s);
      this.buckets.set(s, b);
    }
    switch (e.type) {
      case 'request': {
        b.second.requests++;
        if (e.status >= 500) b.second.errors++;
        b.seen++;
        if (b.samples.length < SAMPLES) b.samples.push(e.durationMs);
        else {
          // Reservoir sampling (Algorithm R) with a small xorshift: uniform over the second.
          this.rand ^= this.rand << 13;
          this.rand ^= this.rand >>> 17;
          this.rand ^= this.rand << 5;
          const j = (this.rand >>> 0) % b.seen;
          if (j < SAMPLES) b.samples[j] = e.durationMs;
        }
        bump(b.consumers, e.principal ?? e.apiKeyId ?? 'anonymous');
        break;
      }
      case 'denied': {
        const c = this.o.category ? this.o.category(e.policy, e.owasp) : (e.owasp ?? 'unknown');
        b.second.denied[c] = (b.second.denied[c] ?? 0) + 1;
        if (e.ip) bump(b.deniedIps, e.ip);
        break;
      }
      case 'rate-limited':
        b.second.rateLimited++;
        if (e.ip) bump(b.deniedIps, e.ip);
        break;
      default:
        break;
    }
  };

  /** Closes every second before the current one (quiet ones as zeros) and sends them to the clients. */
  tick(): void {
    const now = Math.floor(this.clock.now() / 1000) * 1000;
    const seen = [...this.buckets.keys()].filter((t) => t < now).sort((a, b) => a - b);
    const first = Math.max(this.last + 1000, now - HISTORY_S * 1000);
    for (let t = first; t < now; t += 1000) {
      const b = this.buckets.get(t) ?? emptyBucket(t);
      this.buckets.delete(t);
      this.close(b);
    }
    // Events of seconds older than the history (a clock jump) are dropped with it.
    for (const t of seen) this.buckets.delete(t);
    if (first < now) this.last = now - 1000;
  }

  private close(b: Bucket): void {
    const s = b.second.t;
    const sorted = b.samples.sort((x, y) => x - y);
    b.second.p50 = percentile(sorted, 0.5);
    b.second.p95 = percentile(sorted, 0.95);
    b.second.p99 = percentile(sorted, 0.99);
    this.closed.push(b);
    while (this.closed.length > 0 && this.closed[0]!.second.t <= s - TOP_WINDOW_S * 1000) this.closed.shift();
    const msg: LiveMessage = {
      second: b.second,
      topConsumers: top(this.closed.map((c) => c.consumers)),
      topDeniedIps: top(this.closed.map((c) => c.deniedIps)),
    };
    this.history.push(msg);
    if (this.history.length > HISTORY_S) this.history.shift();
    const text = `event: second\ndata: ${JSON.stringify(msg)}\n\n`;
    for (const res of this.clients) res.write(text);
  }

  /** The last seconds (oldest first), up to five minutes. */
  recent(): readonly LiveMessage[] {
    return this.history;
  }

  /** Ticks every second of real time until `stop()`. */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Takes over the response as a Server-Sent Events stream: first the history (one
   * `history` message), then a `second` message each second. False when full.
   */
  attach(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.clients.size >= (this.o.maxClients ?? 20)) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    res.write(`retry: 2000\nevent: history\ndata: ${JSON.stringify(this.history)}\n\n`);
    this.clients.add(res);
    const done = () => this.clients.delete(res);
    req.on('close', done);
    res.on('close', done);
    return true;
  }
}

function emptyBucket(t: number): Bucket {
  return {
    second: { t, requests: 0, errors: 0, p50: null, p95: null, p99: null, denied: {}, rateLimited: 0 },
    seen: 0,
    samples: [],
    consumers: new Map(),
    deniedIps: new Map(),
  };
}

function top(maps: Map<string, number>[]): [string, number][] {
  const sum = new Map<string, number>();
  for (const m of maps) for (const [k, v] of m) sum.set(k, (sum.get(k) ?? 0) + v);
  return [...sum.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP_N);
}
