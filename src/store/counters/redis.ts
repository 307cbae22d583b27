/**
 * The Redis counter store (ioredis 5): counters shared by every gateway node. Each decision
 * is one Lua script (scripts.ts) sent as EVALSHA, falling back to EVAL when the server does
 * not know the script yet (NOSCRIPT: a restarted or flushed server). Commands issued in the
 * same tick go out in one write (ioredis auto-pipelining).
 *
 * Keys are `<prefix><key>` with a Redis Cluster hash tag: the part of the key in `{…}` (the
 * consumer), or the whole key when it has none, so the keys of one decision land in one
 * slot. In cluster mode the limits of one `rate()` call are grouped by tag, one script per
 * group (atomic per consumer; see docs/rate-limits.md).
 *
 * The client never queues commands while disconnected (`enableOfflineQueue: false`): a call
 * fails at once with CounterStoreUnavailable and the failover wrapper (failover.ts) applies
 * the limit's fail mode. ioredis reconnects by itself; `onStatus` reports down/up.
 */
import { createHash } from 'node:crypto';
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import {
  CounterStoreUnavailable,
  type CounterStore,
  type FailureSpec,
  type FailureState,
  type LeaseDecision,
  type LeaseSpec,
  type LimitState,
  type RateDecision,
  type RateOptions,
  type RateSpec,
  type WindowDecision,
  type WindowSpec,
} from '../../core/counters.ts';
import { ACQUIRE, FAILURES, GCRA, MERGE_LOCK, MERGE_LOG, WINDOW } from './scripts.ts';

export interface RedisCounterOptions {
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). */
  url?: string;
  /** Redis Cluster seed nodes (redis://host:port each); replaces `url`. */
  cluster?: string[];
  /** Key prefix (default `rampart:`). */
  prefix?: string;
  /** Milliseconds a command may take before the decision falls back (default 500). */
  commandTimeoutMs?: number;
  /** Connection state changes (down with a reason, up when commands work again). */
  onStatus?: (state: 'up' | 'down', detail: string) => void;
}

interface Script {
  lua: string;
  sha: string;
}
const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
const SCRIPTS = {
  gcra: script(GCRA),
  window: script(WINDOW),
  failures: script(FAILURES),
  acquire: script(ACQUIRE),
  mergeLog: script(MERGE_LOG),
  mergeLock: script(MERGE_LOCK),
};

/** The hash tag of a key: its `{…}` part, or the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis';
  readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly clustered: boolean;
  private up = false;
  private closed = false;

  constructor(opts: RedisCounterOptions) {
    this.prefix = opts.prefix ?? 'rampart:';
    const common: RedisOptions = {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      commandTimeout: opts.commandTimeoutMs ?? 500,
      connectTimeout: 2000,
      // Reconnect forever, backing off to 2 s: the store comes back without a restart.
      retryStrategy: (n: number) => Math.min(50 * 2 ** Math.min(n, 6), 2000),
      lazyConnect: false,
    };
    if (opts.cluster?.length) {
      this.clustered = true;
      this.client = new Cluster(
        opts.cluster.map((u) => {
          const p = new URL(u);
          return { host: p.hostname, port: Number(p.port || 6379) };
        }),
        { redisOptions: common, enableOfflineQueue: false, enableAutoPipelining: true },
      );
    } else {
      if (!opts.url) throw new Error('counters: a Redis url or cluster nodes are required');
      this.clustered = false;
      this.client = new Redis(opts.url, common);
    }
    const status = opts.onStatus ?? (() => undefined);
    this.client.on('ready', () => {
      if (!this.up) {
        this.up = true;
        status('up', 'connected');
      }
    });
    const down = (why: string) => {
      if (this.up && !this.closed) {
        this.up = false;
        status('down', why);
      }
    };
    this.client.on('close', () => down('connection closed'));
    this.client.on('end', () => down('connection ended'));
    // ioredis emits 'error' for every failed reconnect: never let it crash the process.
    this.client.on('error', (err: Error) => down(err.message.slice(0, 200)));
  }

  /** True when the last connection state seen is ready. */
  get available(): boolean {
    return this.up;
  }

  /** Resolves once connected (or rejects after `timeoutMs`). */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.up) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.client.off('ready', ok);
        reject(new CounterStoreUnavailable('Redis did not become ready'));
      }, timeoutMs);
      const ok = () => {
        clearTimeout(t);
        resolve();
      };
      this.client.once('ready', ok);
    });
  }

  private k(key: string): string {
    return key.includes('{') ? this.prefix + key : `${this.prefix}{${key}}`;
  }

  /** EVALSHA, and EVAL when the server answers NOSCRIPT. Connection problems become CounterStoreUnavailable. */
  private async run(s: Script, keys: string[], args: (string | number)[]): Promise<number[]> {
    try {
      try {
        return (await this.client.evalsha(s.sha, keys.length, ...keys, ...args)) as number[];
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
        return (await this.client.eval(s.lua, keys.length, ...keys, ...args)) as number[];
      }
    } catch (err) {
      throw new CounterStoreUnavailable(`Redis: ${(err as Error).message.slice(0, 200)}`);
    }
  }

  async rate(limits: readonly RateSpec[], opts: RateOptions = {}): Promise<RateDecision> {
    const cost = opts.cost ?? 1;
    const mode = opts.mode ?? 'consume';
    const groups = new Map<string, number[]>();
    limits.forEach((l, i) => {
      const tag = this.clustered ? hashTag(l.key) : '';
      const g = groups.get(tag);
      if (g) g.push(i);
      else groups.set(tag, [i]);
    });
    const states: LimitState[] = new Array<LimitState>(limits.length);
    const script = (idx: number[], c: number, m: string) => {
      const keys = idx.map((i) => this.k(limits[i]!.key));
      const args: (string | number)[] = [c, m];
      for (const i of idx) {
        const l = limits[i]!;
        const t = l.windowMs / l.limit;
        args.push(t, t * (l.burst ?? l.limit));
      }
      return this.run(SCRIPTS.gcra, keys, args);
    };
    const charged: number[][] = [];
    for (const idx of groups.values()) {
      const out = await script(idx, cost, mode);
      idx.forEach((i, j) => {
        states[i] = {
          allowed: out[j * 4] === 1,
          remaining: Number(out[j * 4 + 1]),
          resetMs: Number(out[j * 4 + 2]),
          retryMs: Number(out[j * 4 + 3]),
        };
      });
      if (mode === 'consume' && idx.every((i) => states[i]!.allowed)) charged.push(idx);
    }
    const allowed = states.every((s) => s.allowed);
    // Cluster mode, limits in several slots: one script per slot, so a refusal in one slot
    // gives back what the others charged (a negative forced cost), as one script would have.
    if (mode === 'consume' && !allowed && charged.length)
      for (const idx of charged) {
        await script(idx, -cost, 'force');
        for (const i of idx) states[i] = { ...states[i]!, remaining: states[i]!.remaining + cost };
      }
    return { allowed, limits: states };
  }

  async window(spec: WindowSpec, op: 'reserve' | 'add' | 'peek', id: string): Promise<WindowDecision> {
    const out = await this.run(SCRIPTS.window, [this.k(spec.key)], [spec.windowMs, spec.limit, op, id]);
    return { allowed: out[0] === 1, count: out[1]!, retryMs: out[2]!, resetMs: out[3]! };
  }

  async unwindow(key: string, id: string): Promise<void> {
    try {
      await this.client.zrem(this.k(key), id);
    } catch (err) {
      throw new CounterStoreUnavailable(`Redis: ${(err as Error).message.slice(0, 200)}`);
    }
  }

  private failureKeys(key: string): string[] {
    const base = this.k(key);
    return [`${base}:log`, `${base}:st`];
  }

  private async failures(spec: FailureSpec, op: 'state' | 'fail', id: string): Promise<FailureState> {
    const out = await this.run(SCRIPTS.failures, this.failureKeys(spec.key), [
      op,
      spec.windowMs,
      spec.limit,
      spec.backoff?.baseMs ?? 0,
      spec.backoff?.maxMs ?? 0,
      id,
    ]);
    return { lockedMs: out[0]!, failures: out[1]!, lockouts: out[2]! };
  }

  failureState(spec: FailureSpec): Promise<FailureState> {
    return this.failures(spec, 'state', '');
  }

  fail(spec: FailureSpec, id: string): Promise<FailureState> {
    return this.failures(spec, 'fail', id);
  }

  async resetFailures(key: string): Promise<void> {
    try {
      await this.client.del(...this.failureKeys(key));
    } catch (err) {
      throw new CounterStoreUnavailable(`Redis: ${(err as Error).message.slice(0, 200)}`);
    }
  }

  async acquire(spec: LeaseSpec, id: string): Promise<LeaseDecision> {
    const out = await this.run(SCRIPTS.acquire, [this.k(spec.key)], [spec.limit, spec.ttlMs, id]);
    return { allowed: out[0] === 1, inFlight: out[1]! };
  }

  async release(key: string, id: string): Promise<void> {
    try {
      await this.client.zrem(this.k(key), id);
    } catch (err) {
      throw new CounterStoreUnavailable(`Redis: ${(err as Error).message.slice(0, 200)}`);
    }
  }

  /** Adds a node-local log's entries (with their ages) to the shared log. Returns the count. */
  async mergeWindow(spec: WindowSpec, entries: readonly { id: string; ageMs: number }[]): Promise<number> {
    if (entries.length === 0) return 0;
    const args: (string | number)[] = [spec.windowMs, spec.limit];
    for (const e of entries) args.push(e.id, e.ageMs);
    return Number(await this.run(SCRIPTS.mergeLog, [this.k(spec.key)], args));
  }

  /** Adds node-local failures (ages) and lockout state to the shared ones. */
  async mergeFailures(
    spec: FailureSpec,
    local: { ids: readonly string[]; agesMs: readonly number[]; lockouts: number; lockedMs: number },
  ): Promise<void> {
    const [log, st] = this.failureKeys(spec.key);
    if (local.agesMs.length) {
      const args: (string | number)[] = [spec.windowMs, spec.limit];
      local.agesMs.forEach((age, i) => args.push(local.ids[i]!, age));
      await this.run(SCRIPTS.mergeLog, [log!], args);
    }
    if (local.lockouts > 0 || local.lockedMs > 0)
      await this.run(SCRIPTS.mergeLock, [st!], [local.lockouts, local.lockedMs, spec.backoff?.maxMs ?? 0]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.disconnect();
  }
}
