/**
 * The in-memory counter store (one node): every counter lives in one bounded LRU map whose
 * entries carry an expiry, so millions of distinct keys (a spoofing client, an IPv6 sweep)
 * keep memory bounded at `maxKeys` entries. Evicting a live counter forgets it (the key
 * starts afresh), which is why the bound is large by default and the least recently
 * *written* key goes first. All decisions are synchronous.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import {
  gcra,
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

interface Entry<V> {
  value: V;
  expires: number;
  weight: number;
}

/**
 * A bounded map with per-entry expiry, least recently written out first. Two generations
 * (as in quick-lru): writes go to `current`; when it holds maxKeys/2 entries (or, with a
 * weight bound, maxWeight/2 weight) it becomes `previous` and the old `previous` is dropped
 * whole. Every operation is O(1) — a Map evicting its first key one by one is not, in V8,
 * under heavy churn — and at most maxKeys entries (maxWeight weight) are ever held. A key
 * written within the last maxKeys/2 writes survives.
 */
export class BoundedMap<V> {
  private current = new Map<string, Entry<V>>();
  private previous = new Map<string, Entry<V>>();
  private readonly half: number;
  private readonly halfWeight: number;
  private currentWeight = 0;
  private previousWeight = 0;
  constructor(
    readonly maxKeys: number,
    /** Bound on the sum of the entries' weights (e.g. log lengths); default none. */
    readonly maxWeight = Infinity,
  ) {
    if (!(maxKeys >= 2)) throw new Error('maxKeys must be at least 2');
    this.half = Math.floor(maxKeys / 2);
    this.halfWeight = maxWeight / 2;
  }
  get size(): number {
    return this.current.size + this.previous.size;
  }
  /** The weight held now (≤ maxWeight). */
  get weight(): number {
    return this.currentWeight + this.previousWeight;
  }
  get(key: string, now: number): V | undefined {
    const e = this.current.get(key) ?? this.previous.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.delete(key);
      return undefined;
    }
    return e.value;
  }
  set(key: string, value: V, expires: number, weight = 0): void {
    const e = this.current.get(key);
    if (e) {
      e.value = value;
      e.expires = expires;
      this.currentWeight += weight - e.weight;
      e.weight = weight;
      if (this.currentWeight > this.halfWeight) this.rotate();
      return;
    }
    const old = this.previous.get(key);
    if (old) {
      this.previous.delete(key);
      this.previousWeight -= old.weight;
    }
    if (this.current.size >= this.half || this.currentWeight + weight > this.halfWeight) this.rotate();
    this.current.set(key, { value, expires, weight });
    this.currentWeight += weight;
  }
  private rotate(): void {
    this.previous = this.current;
    this.previousWeight = this.currentWeight;
    this.current = new Map();
    this.currentWeight = 0;
  }
  delete(key: string): void {
    const c = this.current.get(key);
    if (c) {
      this.current.delete(key);
      this.currentWeight -= c.weight;
    }
    const p = this.previous.get(key);
    if (p) {
      this.previous.delete(key);
      this.previousWeight -= p.weight;
    }
  }
}

/** A sliding-window log never holds more entries than its limit (MAX_LOG in the policies). */
const MAX_ENTRIES_PER_LOG = 10_000;

interface LogEntry {
  t: number;
  id: string;
}
interface Failures {
  log: number[];
  lockouts: number;
  lockedUntil: number;
}

export interface MemoryCounterOptions {
  clock?: Clock;
  /** Most counters kept, all kinds together (default 500,000, roughly 100 MB at worst). */
  maxKeys?: number;
  /** Overrides the failure counters' share of maxKeys (a private store of one throttle). */
  maxFailureKeys?: number;
}

export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory';
  private readonly clock: Clock;
  private readonly tats: BoundedMap<number>;
  private readonly logs: BoundedMap<LogEntry[]>;
  private readonly failures: BoundedMap<Failures>;
  private readonly leases: BoundedMap<Map<string, number>>;

  constructor(opts: MemoryCounterOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    const max = opts.maxKeys ?? 500_000;
    // One bound per kind keeps a flood of one kind (request keys) from evicting brute-force state.
    // Together at most maxKeys: half for rate counters, a sixth each for the rest.
    this.tats = new BoundedMap(Math.max(2, Math.floor(max / 2)));
    // Logs are bounded in entries too (one per admitted request): at most maxKeys entries.
    this.logs = new BoundedMap(Math.max(2, Math.floor(max / 6)), Math.max(2 * MAX_ENTRIES_PER_LOG, max));
    this.failures = new BoundedMap(Math.max(2, opts.maxFailureKeys ?? Math.floor(max / 6)));
    this.leases = new BoundedMap(Math.max(2, Math.floor(max / 6)));
  }

  /** Counters held now (all kinds). */
  get size(): number {
    return this.tats.size + this.logs.size + this.failures.size + this.leases.size;
  }

  rate(limits: readonly RateSpec[], opts: RateOptions = {}): RateDecision {
    const now = this.clock.now();
    const cost = opts.cost ?? 1;
    const mode = opts.mode ?? 'consume';
    const n = limits.length;
    const tats = new Array<number>(n);
    const results = new Array<ReturnType<typeof gcra>>(n);
    let allowed = true;
    for (let i = 0; i < n; i++) {
      const spec = limits[i]!;
      const tat = this.tats.get(spec.key, now) ?? 0;
      tats[i] = tat;
      const r = gcra(tat, now, spec, cost, mode === 'force');
      results[i] = r;
      if (!r.state.allowed) allowed = false;
    }
    if (mode === 'force' || (mode === 'consume' && allowed)) {
      const states = new Array<LimitState>(n);
      for (let i = 0; i < n; i++) {
        const r = results[i]!;
        if (r.newTat > now) this.tats.set(limits[i]!.key, r.newTat, Math.ceil(r.newTat) + 1);
        states[i] = r.state;
      }
      return { allowed, limits: states };
    }
    // Nothing charged: the limits that allowed report their untouched state.
    const limitsState = results.map((r, i) =>
      r.state.allowed ? gcra(tats[i]!, now, limits[i]!, 0).state : r.state,
    );
    return { allowed, limits: limitsState };
  }

  window(spec: WindowSpec, op: 'reserve' | 'add' | 'peek', id: string): WindowDecision {
    const now = this.clock.now();
    const from = now - spec.windowMs;
    // The log is kept oldest first: drop the expired head in place (no copy per decision).
    const log = this.logs.get(spec.key, now) ?? [];
    let old = 0;
    while (old < log.length && log[old]!.t <= from) old++;
    if (old) log.splice(0, old);
    let allowed = log.length < spec.limit;
    if (op === 'add' || (op === 'reserve' && allowed)) {
      log.push({ t: now, id });
      if (log.length > spec.limit) log.splice(0, log.length - spec.limit);
      allowed = op === 'add' ? log.length <= spec.limit : true;
    }
    if (log.length) this.logs.set(spec.key, log, log[log.length - 1]!.t + spec.windowMs, log.length);
    else this.logs.delete(spec.key);
    return {
      allowed,
      count: log.length,
      retryMs: log.length < spec.limit ? 0 : log[log.length - spec.limit]!.t + spec.windowMs - now,
      resetMs: log.length ? log[log.length - 1]!.t + spec.windowMs - now : 0,
    };
  }

  unwindow(key: string, id: string): void {
    const now = this.clock.now();
    const log = this.logs.get(key, now);
    if (!log) return;
    const i = log.findLastIndex((e) => e.id === id);
    if (i >= 0) log.splice(i, 1);
  }

  /**
   * What this store decided for a key, taken out of it (the failover store merges a local
   * fallback's counts into the shared store when it is back): a GCRA limit's outstanding
   * debt in ms (TAT − now), a log's entries with their ages, failures with their ages and
   * the lockout state. Undefined when the key holds nothing now.
   */
  takeRate(key: string): number | undefined {
    const now = this.clock.now();
    const tat = this.tats.get(key, now);
    this.tats.delete(key);
    return tat !== undefined && tat > now ? tat - now : undefined;
  }

  takeWindow(key: string, windowMs: number): { id: string; ageMs: number }[] {
    const now = this.clock.now();
    const log = this.logs.get(key, now) ?? [];
    this.logs.delete(key);
    return log.filter((e) => e.t > now - windowMs).map((e) => ({ id: e.id, ageMs: now - e.t }));
  }

  takeFailures(spec: FailureSpec): { agesMs: number[]; lockouts: number; lockedMs: number } | undefined {
    const now = this.clock.now();
    const f = this.failures.get(spec.key, now);
    this.failures.delete(spec.key);
    if (!f) return undefined;
    return {
      agesMs: f.log.filter((t) => t > now - spec.windowMs).map((t) => now - t),
      lockouts: f.lockouts,
      lockedMs: Math.max(0, f.lockedUntil - now),
    };
  }

  failureState(spec: FailureSpec): FailureState {
    const now = this.clock.now();
    const f = this.failures.get(spec.key, now);
    if (!f) return { lockedMs: 0, failures: 0, lockouts: 0 };
    const log = f.log.filter((t) => t > now - spec.windowMs);
    let lockedMs = Math.max(0, f.lockedUntil - now);
    if (!spec.backoff && log.length >= spec.limit)
      lockedMs = Math.max(lockedMs, log[log.length - spec.limit]! + spec.windowMs - now);
    return { lockedMs, failures: log.length, lockouts: f.lockouts };
  }

  fail(spec: FailureSpec): FailureState {
    const now = this.clock.now();
    const f = this.failures.get(spec.key, now) ?? { log: [], lockouts: 0, lockedUntil: 0 };
    f.log = f.log.filter((t) => t > now - spec.windowMs);
    f.log.push(now);
    if (f.log.length > spec.limit) f.log.splice(0, f.log.length - spec.limit);
    let expires = now + spec.windowMs;
    if (spec.backoff && f.log.length >= spec.limit) {
      f.lockouts++;
      const lock = Math.min(spec.backoff.maxMs, spec.backoff.baseMs * 2 ** (f.lockouts - 1));
      f.lockedUntil = now + lock;
      f.log = [];
    }
    // The back-off level is remembered for the longest lock after the last one.
    if (spec.backoff) expires = Math.max(expires, f.lockedUntil + spec.backoff.maxMs);
    this.failures.set(spec.key, f, expires);
    return this.failureState(spec);
  }

  resetFailures(key: string): void {
    this.failures.delete(key);
  }

  acquire(spec: LeaseSpec, id: string): LeaseDecision {
    const now = this.clock.now();
    const held = this.leases.get(spec.key, now) ?? new Map<string, number>();
    for (const [k, exp] of held) if (exp <= now) held.delete(k);
    const allowed = held.size < spec.limit;
    if (allowed) held.set(id, now + spec.ttlMs);
    if (held.size) this.leases.set(spec.key, held, now + spec.ttlMs);
    return { allowed, inFlight: held.size };
  }

  release(key: string, id: string): void {
    const held = this.leases.get(key, this.clock.now());
    held?.delete(id);
  }

  async close(): Promise<void> {}
}
