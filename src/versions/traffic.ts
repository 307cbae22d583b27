/**
 * What traffic says about the inventory (API9): when each operation was last called,
 * which undeclared paths are probed (shadow endpoints) and who still calls deprecated
 * versions. Fed by the gateway's events; aggregated in memory and written to the store
 * in batches (never a write per request). Bounded: at most `maxShadowPaths` distinct
 * shadow paths and `maxConsumers` consumers per deprecated version are kept between
 * flushes; beyond that they are counted as `overflow`.
 */
import type { Clock } from '../core/clock.ts';
import type { RampartEvent } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/types.ts';

export interface OperationTraffic {
  api: string;
  base: string;
  method: string;
  route: string;
  calls: number;
  firstSeen: number;
  lastSeen: number;
}

export interface ShadowEndpoint {
  method: string;
  path: string;
  reason: string;
  hits: number;
  firstSeen: number;
  lastSeen: number;
  /** The first request line seen, e.g. `GET /debug/vars`. */
  sample: string;
  /** Up to 20 distinct source addresses. */
  ips: string[];
}

export interface DeprecatedUsage {
  api: string;
  base: string;
  consumerKind: string;
  consumer: string;
  calls: number;
  firstSeen: number;
  lastSeen: number;
  lastRoute: string;
}

export interface TrafficSnapshot {
  operations: OperationTraffic[];
  shadow: ShadowEndpoint[];
  deprecatedUsage: DeprecatedUsage[];
}

export interface TrafficRecorderOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Flush interval; default 10 s. */
  flushMs?: number;
  maxShadowPaths?: number;
  maxConsumers?: number;
}

const MAX_IPS = 20;

export class TrafficRecorder {
  private ops = new Map<string, OperationTraffic[]>();
  private shadow = new Map<string, ShadowEndpoint>();
  private usage = new Map<string, DeprecatedUsage>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Events not kept because a bound was reached since the last flush. */
  overflow = 0;
  private readonly maxShadow: number;
  private readonly maxConsumers: number;

  constructor(private readonly opts: TrafficRecorderOptions) {
    this.maxShadow = opts.maxShadowPaths ?? 10_000;
    this.maxConsumers = opts.maxConsumers ?? 10_000;
    const every = opts.flushMs ?? 10_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.flush(), every);
      this.timer.unref();
    }
  }

  /** The event listener: synchronous, allocation only for a new key. */
  observe = (e: RampartEvent): void => {
    switch (e.type) {
      case 'request': {
        if (!e.api || !e.version) return;
        // Keyed by the route template (the same string object for every request of a route)
        // with a short list per template: no string is built per request.
        let list = this.ops.get(e.route);
        if (!list) this.ops.set(e.route, (list = []));
        for (const t of list) {
          if (t.method === e.method && t.base === e.version && t.api === e.api) {
            t.calls++;
            if (e.at > t.lastSeen) t.lastSeen = e.at;
            return;
          }
        }
        list.push({
          api: e.api,
          base: e.version,
          method: e.method,
          route: e.route,
          calls: 1,
          firstSeen: e.at,
          lastSeen: e.at,
        });
        return;
      }
      case 'shadow-endpoint': {
        const key = `${e.method} ${e.path}`;
        const s = this.shadow.get(key);
        if (s) {
          s.hits++;
          if (e.at > s.lastSeen) s.lastSeen = e.at;
          if (e.ip && s.ips.length < MAX_IPS && !s.ips.includes(e.ip)) s.ips.push(e.ip);
        } else if (this.shadow.size >= this.maxShadow) this.overflow++;
        else
          this.shadow.set(key, {
            method: e.method,
            path: e.path,
            reason: e.reason,
            hits: 1,
            firstSeen: e.at,
            lastSeen: e.at,
            sample: key,
            ips: e.ip ? [e.ip] : [],
          });
        return;
      }
      case 'deprecated-version-used': {
        const kind = e.consumerKind ?? 'anonymous';
        const consumer = e.consumer ?? (e.ip ? `ip:${e.ip}` : 'unknown');
        const key = `${e.api}\u0000${e.version}\u0000${kind}\u0000${consumer}`;
        const u = this.usage.get(key);
        if (u) {
          u.calls++;
          if (e.at >= u.lastSeen) {
            u.lastSeen = e.at;
            u.lastRoute = `${e.method} ${e.route}`;
          }
        } else if (this.usage.size >= this.maxConsumers) this.overflow++;
        else
          this.usage.set(key, {
            api: e.api,
            base: e.version,
            consumerKind: kind,
            consumer,
            calls: 1,
            firstSeen: e.at,
            lastSeen: e.at,
            lastRoute: `${e.method} ${e.route}`,
          });
        return;
      }
      default:
        return;
    }
  };

  /** Writes what was aggregated since the last flush (one transaction) and starts afresh. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (!this.ops.size && !this.shadow.size && !this.usage.size) return Promise.resolve();
    const ops = [...this.ops.values()].flat();
    const shadow = [...this.shadow.values()];
    const usage = [...this.usage.values()];
    this.ops = new Map();
    this.shadow = new Map();
    this.usage = new Map();
    this.flushing = writeTraffic(this.opts.db, { operations: ops, shadow, deprecatedUsage: usage })
      .catch((err: unknown) => {
        // Keep the counts for the next attempt rather than lose them.
        this.opts.log.warn({ err }, 'inventory traffic flush failed; will retry');
        for (const o of ops) {
          const list = this.ops.get(o.route) ?? [];
          const cur = list.find((t) => t.method === o.method && t.base === o.base && t.api === o.api);
          if (cur) {
            cur.calls += o.calls;
            cur.firstSeen = Math.min(cur.firstSeen, o.firstSeen);
            cur.lastSeen = Math.max(cur.lastSeen, o.lastSeen);
          } else list.push(o);
          this.ops.set(o.route, list);
        }
        mergeBack(this.shadow, shadow, (s) => `${s.method} ${s.path}`);
        mergeBack(
          this.usage,
          usage,
          (u) => `${u.api}\u0000${u.base}\u0000${u.consumerKind}\u0000${u.consumer}`,
        );
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}

function mergeBack<T extends { firstSeen: number; lastSeen: number }>(
  into: Map<string, T>,
  rows: T[],
  key: (r: T) => string,
): void {
  for (const r of rows) {
    const k = key(r);
    const cur = into.get(k) as (T & { calls?: number; hits?: number }) | undefined;
    if (!cur) {
      into.set(k, r);
      continue;
    }
    const src = r as T & { calls?: number; hits?: number };
    if (cur.calls !== undefined && src.calls !== undefined) cur.calls += src.calls;
    if (cur.hits !== undefined && src.hits !== undefined) cur.hits += src.hits;
    cur.firstSeen = Math.min(cur.firstSeen, r.firstSeen);
    cur.lastSeen = Math.max(cur.lastSeen, r.lastSeen);
  }
}

const EARLIER = (col: string, table: string) =>
  `${col} = CASE WHEN excluded.${col} < ${table}.${col} THEN excluded.${col} ELSE ${table}.${col} END`;
const LATER = (col: string, table: string) =>
  `${col} = CASE WHEN excluded.${col} > ${table}.${col} THEN excluded.${col} ELSE ${table}.${col} END`;

/** Upserts aggregated traffic (portable SQL: SQLite ≥ 3.24 and PostgreSQL share ON CONFLICT … DO UPDATE). */
export async function writeTraffic(db: Db, t: TrafficSnapshot): Promise<void> {
  await db.transaction(async (tx) => {
    for (const o of t.operations) {
      await tx.run(
        `INSERT INTO inventory_operation_traffic (api, base, method, route, calls, first_seen, last_seen)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (api, base, method, route) DO UPDATE SET
           calls = inventory_operation_traffic.calls + excluded.calls,
           ${EARLIER('first_seen', 'inventory_operation_traffic')},
           ${LATER('last_seen', 'inventory_operation_traffic')}`,
        [o.api, o.base, o.method, o.route, o.calls, o.firstSeen, o.lastSeen],
      );
    }
    for (const s of t.shadow) {
      const existing = await tx.one<{ ips: string }>(
        'SELECT ips FROM inventory_shadow WHERE method = $1 AND path = $2',
        [s.method, s.path],
      );
      const ips = existing ? (JSON.parse(existing.ips) as string[]) : [];
      for (const ip of s.ips) if (ips.length < MAX_IPS && !ips.includes(ip)) ips.push(ip);
      await tx.run(
        `INSERT INTO inventory_shadow (method, path, reason, hits, first_seen, last_seen, sample, ips)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (method, path) DO UPDATE SET
           hits = inventory_shadow.hits + excluded.hits,
           ${EARLIER('first_seen', 'inventory_shadow')},
           ${LATER('last_seen', 'inventory_shadow')},
           ips = excluded.ips`,
        [s.method, s.path, s.reason, s.hits, s.firstSeen, s.lastSeen, s.sample, JSON.stringify(ips)],
      );
    }
    for (const u of t.deprecatedUsage) {
      await tx.run(
        `INSERT INTO inventory_deprecated_usage (api, base, consumer_kind, consumer, calls, first_seen, last_seen, last_route)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (api, base, consumer_kind, consumer) DO UPDATE SET
           calls = inventory_deprecated_usage.calls + excluded.calls,
           ${EARLIER('first_seen', 'inventory_deprecated_usage')},
           last_route = CASE WHEN excluded.last_seen >= inventory_deprecated_usage.last_seen THEN excluded.last_route ELSE inventory_deprecated_usage.last_route END,
           ${LATER('last_seen', 'inventory_deprecated_usage')}`,
        [u.api, u.base, u.consumerKind, u.consumer, u.calls, u.firstSeen, u.lastSeen, u.lastRoute],
      );
    }
  });
}

/** Everything recorded so far, newest first. `limit` bounds the shadow and usage lists. */
export async function readTraffic(db: Db, limit = 1000): Promise<TrafficSnapshot> {
  const operations = await db.query<{
    api: string;
    base: string;
    method: string;
    route: string;
    calls: number;
    first_seen: number;
    last_seen: number;
  }>('SELECT api, base, method, route, calls, first_seen, last_seen FROM inventory_operation_traffic');
  const shadow = await db.query<{
    method: string;
    path: string;
    reason: string;
    hits: number;
    first_seen: number;
    last_seen: number;
    sample: string;
    ips: string;
  }>(
    'SELECT method, path, reason, hits, first_seen, last_seen, sample, ips FROM inventory_shadow ORDER BY last_seen DESC LIMIT $1',
    [limit],
  );
  const usage = await db.query<{
    api: string;
    base: string;
    consumer_kind: string;
    consumer: string;
    calls: number;
    first_seen: number;
    last_seen: number;
    last_route: string;
  }>(
    'SELECT api, base, consumer_kind, consumer, calls, first_seen, last_seen, last_route FROM inventory_deprecated_usage ORDER BY calls DESC, consumer LIMIT $1',
    [limit],
  );
  return {
    operations: operations.map((r) => ({
      api: r.api,
      base: r.base,
      method: r.method,
      route: r.route,
      calls: Number(r.calls),
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
    })),
    shadow: shadow.map((r) => ({
      method: r.method,
      path: r.path,
      reason: r.reason,
      hits: Number(r.hits),
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
      sample: r.sample,
      ips: JSON.parse(r.ips) as string[],
    })),
    deprecatedUsage: usage.map((r) => ({
      api: r.api,
      base: r.base,
      consumerKind: r.consumer_kind,
      consumer: r.consumer,
      calls: Number(r.calls),
      firstSeen: Number(r.first_seen),
      lastSeen: Number(r.last_seen),
      lastRoute: r.last_route,
    })),
  };
}
