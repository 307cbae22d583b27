/**
 * The Redis counter store (ioredis 5): counters shared by every gateway node. Each decision
 * is one Lua script (scripts.ts) sent as EVALSHA, falling back to EVAL when the server does
 * not know the script yet (NOSCRIPT: a restarted or flushed server). Commands issued in the
 * same tick go out in one write (ioredis auto-pipelining).
 *
 * GCRA decisions (`rate()`) are batched: the decisions issued in one event-loop turn go to
 * Redis as ONE call of the GCRA script (scripts.ts), which decides them one after another,
 * each all-or-nothing over its own limits — one round trip, one script invocation and one
 * `TIME` for the batch instead of one per decision (a script call costs Redis more than the
 * GETs and SETs inside it; docs/performance.md). A batch that fails (Redis away, a timeout)
 * fails each of its decisions, and each then follows its limits' fail modes (failover.ts).
 *
 * Keys are `<prefix><key>` with a Redis Cluster hash tag: the part of the key in `{…}` (the
 * consumer), or the whole key when it has none, so the keys of one decision land in one
 * slot. In cluster mode the limits of one `rate()` call are grouped by tag, one script per
 * group (atomic per consumer; see docs/rate-limits.md), and decisions are not batched (the
 * keys of a batch would span slots); ioredis auto-pipelines them per node instead.
 *
 * The client never queues commands while disconnected (`enableOfflineQueue: false`): a call
 * fails at once with CounterStoreUnavailable and the failover wrapper (failover.ts) applies
 * the limit's fail mode. ioredis reconnects by itself; `onStatus` reports down/up.
 */
import { createHash } from 'node:crypto';
import { Command, Redis, Cluster, type RedisOptions } from 'ioredis';
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

/** Most decisions in one batched GCRA call (a bigger queue goes out in several calls). */
export const MAX_BATCH = 256;

interface QueuedRate {
  limits: readonly RateSpec[];
  cost: number;
  mode: 'consume' | 'peek' | 'force';
  resolve: (d: RateDecision) => void;
  reject: (err: Error) => void;
}

export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis';
  readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly clustered: boolean;
  private up = false;
  private closed = false;
  /** GCRA decisions waiting for the end of this event-loop turn (one batched call). */
  private queue: QueuedRate[] = [];
  private flushScheduled = false;
  /** Batched calls awaiting their answer: while one is out, new decisions wait for it (and join one batch). */
  private inFlight = 0;
  /** Batched calls sent and decisions in them (for tests and the bench: the batching works). */
  readonly batches = { calls: 0, decisions: 0 };

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

  rate(limits: readonly RateSpec[], opts: RateOptions = {}): Promise<RateDecision> {
    const cost = opts.cost ?? 1;
    const mode = opts.mode ?? 'consume';
    if (this.clustered) return this.rateClustered(limits, cost, mode);
    if (limits.length === 0) return Promise.resolve({ allowed: true, limits: [] });
    return new Promise<RateDecision>((resolve, reject) => {
      this.queue.push({ limits, cost, mode, resolve, reject });
      if (this.queue.length >= MAX_BATCH) this.flush();
      else this.schedule();
    });
  }

  /** Flushes at the end of this event-loop turn, or when the batch in flight is answered. */
  private schedule(): void {
    if (this.flushScheduled || this.inFlight > 0 || this.queue.length === 0) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  /** Sends the queued GCRA decisions as one script call and hands each its answer. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const keys: string[] = [];
    const args: (string | number)[] = [batch.length];
    for (const q of batch) {
      args.push(q.limits.length, q.cost, q.mode);
      for (const l of q.limits) {
        keys.push(this.k(l.key));
        const t = l.windowMs / l.limit;
        args.push(t, t * (l.burst ?? l.limit));
      }
    }
    this.batches.calls++;
    this.batches.decisions += batch.length;
    this.inFlight++;
    const done = () => {
      this.inFlight--;
      this.schedule();
    };
    this.send(SCRIPTS.gcra, keys, args).then(
      (out) => {
        let o = 0;
        for (const q of batch) {
          const n = q.limits.length;
          const states = new Array<LimitState>(n);
          let allowed = true;
          for (let i = 0; i < n; i++, o += 4) {
            const ok = out[o] === 1;
            if (!ok) allowed = false;
            states[i] = { allowed: ok, remaining: out[o + 1]!, resetMs: out[o + 2]!, retryMs: out[o + 3]! };
          }
          q.resolve({ allowed, limits: states });
        }
        done();
      },
      (err: Error) => {
        for (const q of batch) q.reject(err);
        done();
      },
    );
  };

  /**
   * One script call written straight to the connection (no auto-pipelining: a batch is its own
   * pipeline), EVAL when the server answers NOSCRIPT. Errors become CounterStoreUnavailable.
   */
  private async send(s: Script, keys: string[], args: (string | number)[]): Promise<number[]> {
    const call = (name: 'evalsha' | 'eval', body: string) => {
      const c = new Command(name, [body, keys.length, ...keys, ...args], { replyEncoding: 'utf8' });
      void this.client.sendCommand(c);
      return c.promise as Promise<number[]>;
    };
    try {
      try {
        return await call('evalsha', s.sha);
      } catch (err) {
        if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
        return await call('eval', s.lua);
      }
    } catch (err) {
      throw new CounterStoreUnavailable(`Redis: ${(err as Error).message.slice(0, 200)}`);
    }
  }

  /** Cluster mode: the limits grouped by hash tag, one script per group (no batching across calls). */
  private async rateClustered(
    limits: readonly RateSpec[],
    cost: number,
    mode: 'consume' | 'peek' | 'force',
  ): Promise<RateDecision> {
    const groups = new Map<string, number[]>();
    limits.forEach((l, i) => {
      const tag = hashTag(l.key);
      const g = groups.get(tag);
      if (g) g.push(i);
      else groups.set(tag, [i]);
    });
    const states: LimitState[] = new Array<LimitState>(limits.length);
    const script = (idx: number[], c: number, m: string) => {
      const keys = idx.map((i) => this.k(limits[i]!.key));
      const args: (string | number)[] = [1, idx.length, c, m];
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
