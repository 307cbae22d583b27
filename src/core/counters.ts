/**
 * The counter store: the hot shared state behind rate limits, quotas, business-flow limits,
 * brute-force back-off and concurrency limits. One node uses the in-memory store
 * (src/store/counters/memory.ts); several share Redis (src/store/counters/redis.ts), where
 * every call below is ONE atomic Lua script that reads the Redis server's clock (`TIME`),
 * so nodes with skewed clocks still agree. docs/rate-limits.md explains the algorithms.
 *
 * Results may be synchronous (the memory store) or a promise (Redis): callers on the
 * gateway's hot path only create a promise when they get one.
 */

export type MaybePromise<T> = T | Promise<T>;

/** What a limit does when the shared store cannot be reached. */
export type FailMode = 'open' | 'closed';

/**
 * One GCRA limit: `limit` units per `windowMs`, refilled continuously (one unit every
 * `windowMs / limit`), at most `burst` at once (default `limit`).
 */
export interface RateSpec {
  /** Counter key, unique per limit and consumer (e.g. `rl:clinic:minute:user=alice`). */
  key: string;
  limit: number;
  windowMs: number;
  /** Units that may be spent at once; default `limit`. */
  burst?: number;
  /** When the store is unreachable: `open` decides with the node-local fallback, `closed` refuses. Default open. */
  failMode?: FailMode;
}

export interface RateOptions {
  /** Units this request spends (default 1; e.g. response bytes for a bytes quota). */
  cost?: number;
  /** `consume` (default): spend only when every limit allows. `peek`: decide, spend nothing. `force`: spend even beyond the limit (charging after the fact). */
  mode?: 'consume' | 'peek' | 'force';
}

/** The decision of one limit. */
export interface LimitState {
  allowed: boolean;
  /** Units left right after this decision. */
  remaining: number;
  /** Milliseconds until the limit is back to its full burst. */
  resetMs: number;
  /** Milliseconds until the request would be allowed (0 when allowed). */
  retryMs: number;
}

export interface RateDecision {
  /** True when every limit allowed (and, in consume mode, all were charged). */
  allowed: boolean;
  /** Per limit, in the order given. */
  limits: LimitState[];
  /** Set when the shared store was unreachable and the decision came from the fail mode. */
  degraded?: 'local' | 'closed';
}

/** A sliding-window log: an exact count of events within the last `windowMs`. */
export interface WindowSpec {
  key: string;
  limit: number;
  windowMs: number;
  /** Default closed: flow and failure counts must not reset because Redis blinked. */
  failMode?: FailMode;
}

export interface WindowDecision {
  allowed: boolean;
  /** Events in the window after this call. */
  count: number;
  /** Milliseconds until one more event would fit (0 when one fits now). */
  retryMs: number;
  /** Milliseconds until the window holds no events. */
  resetMs: number;
  degraded?: 'local' | 'closed';
}

/**
 * Failure counting with lockout (brute-force protection): `limit` failures within
 * `windowMs` lock the key. Without `backoff` the lock lasts until the oldest of those
 * failures leaves the window; with it, the n-th lockout in a row lasts
 * `min(maxMs, baseMs * 2^(n-1))` and the failure log starts afresh.
 */
export interface FailureSpec {
  key: string;
  limit: number;
  windowMs: number;
  backoff?: { baseMs: number; maxMs: number };
  failMode?: FailMode;
}

export interface FailureState {
  /** Milliseconds the key stays locked (0 = may try now). */
  lockedMs: number;
  /** Failures in the current window. */
  failures: number;
  /** Lockouts in a row so far (back-off level). */
  lockouts: number;
  degraded?: 'local' | 'closed';
}

/** In-flight leases (concurrency limits). A lease expires after `ttlMs` so a crashed node cannot leak it. */
export interface LeaseSpec {
  key: string;
  limit: number;
  ttlMs: number;
  failMode?: FailMode;
}

export interface LeaseDecision {
  allowed: boolean;
  inFlight: number;
  degraded?: 'local' | 'closed';
}

export interface CounterStore {
  readonly kind: 'memory' | 'redis';
  /** One atomic GCRA decision over several limits. */
  rate(limits: readonly RateSpec[], opts?: RateOptions): MaybePromise<RateDecision>;
  /**
   * Sliding-window log. `reserve` adds `id` only when it fits; `add` always adds (the log keeps
   * at most `limit` newest entries); `peek` only counts.
   */
  window(spec: WindowSpec, op: 'reserve' | 'add' | 'peek', id: string): MaybePromise<WindowDecision>;
  /** Removes one event (a refund: the flow did not complete). */
  unwindow(key: string, id: string): MaybePromise<void>;
  /** Whether the key is locked now. */
  failureState(spec: FailureSpec): MaybePromise<FailureState>;
  /** Records one failure; returns the state after it. */
  fail(spec: FailureSpec, id: string): MaybePromise<FailureState>;
  /** Forgets failures (and the back-off level) of a key: a success. */
  resetFailures(key: string): MaybePromise<void>;
  /** Takes one in-flight lease `id` when fewer than `limit` are held. */
  acquire(spec: LeaseSpec, id: string): MaybePromise<LeaseDecision>;
  release(key: string, id: string): MaybePromise<void>;
  close(): Promise<void>;
}

/** Thrown by a shared store that cannot be reached (the failover wrapper turns it into the fail mode). */
export class CounterStoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CounterStoreUnavailable';
  }
}

/**
 * GCRA arithmetic shared by the memory store and mirrored by the Redis script. `tat` is the
 * theoretical arrival time (ms) stored per key; emission interval T = window / limit,
 * tolerance τ = T × burst. A request of `cost` units is allowed when
 * `max(tat, now) + cost × T − τ ≤ now`. `force` charges regardless (after-the-fact costs).
 */
export function gcra(
  tat: number,
  now: number,
  spec: RateSpec,
  cost: number,
  force = false,
): { newTat: number; state: LimitState } {
  const t = spec.windowMs / spec.limit;
  const tau = t * (spec.burst ?? spec.limit);
  const base = Math.max(tat, now);
  const charged = base + cost * t;
  const allowAt = charged - tau;
  const allowed = force || allowAt <= now + 1e-6;
  const newTat = allowed ? charged : base;
  return {
    newTat,
    state: {
      allowed,
      remaining: Math.max(0, Math.floor((tau - (newTat - now)) / t + 1e-9)),
      resetMs: Math.max(0, Math.ceil(newTat - now)),
      retryMs: allowed ? 0 : Math.ceil(allowAt - now),
    },
  };
}
