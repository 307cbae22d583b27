/**
 * A shared counter store with a node-local fallback. While the shared store (Redis) works,
 * every decision is shared; when a call fails or the connection is known to be down, each
 * limit decides by its fail mode:
 * - `open`: the node-local memory store decides (still limited, per node, never a blanket pass);
 * - `closed`: refused (the caller answers 503 with Retry-After).
 * Defaults: open for traffic limits (rate, concurrency), closed for flow and brute-force
 * limits (a Redis blink must not hand out a second coupon or more password guesses).
 * Going down and coming back are reported once each (`onStatus`, turned into a
 * `counter-store` event by the app); recovery is automatic when the client reconnects.
 *
 * What the local fallback counted is merged back when the shared store answers again,
 * before the first shared decision: a GCRA limit's outstanding debt (TAT − now) is charged
 * to the shared counter, log entries (windows, failures) are added with their ages (they
 * leave the window when they would have), lockouts keep the higher level and later end, and
 * a success that reset failures locally resets them in the shared store too. The merged
 * local counters are dropped, so a later outage does not count them twice. At most
 * MAX_PENDING keys are remembered for merging (then `unmerged` counts the rest).
 */
import {
  CounterStoreUnavailable,
  type CounterStore,
  type FailMode,
  type FailureSpec,
  type FailureState,
  type LeaseDecision,
  type LeaseSpec,
  type MaybePromise,
  type RateDecision,
  type RateOptions,
  type RateSpec,
  type WindowDecision,
  type WindowSpec,
} from '../../core/counters.ts';
import type { MemoryCounterStore } from './memory.ts';
import type { RedisCounterStore } from './redis.ts';

/** How long a fail-closed answer tells the client to wait. */
export const CLOSED_RETRY_MS = 5000;

/** Most keys counted locally that are remembered for merging into the shared store. */
export const MAX_PENDING = 100_000;

type Pending =
  | { kind: 'rate'; spec: RateSpec }
  | { kind: 'window'; spec: WindowSpec }
  | { kind: 'failures'; spec: FailureSpec | undefined; reset: boolean };

let mergeSeq = 0;

export class FailoverCounterStore implements CounterStore {
  readonly kind = 'redis';
  /** Keys the local fallback counted since the shared store was last seen. */
  private readonly pending = new Map<string, Pending>();
  private merging: Promise<void> | undefined;
  /** Keys counted locally that could not be remembered for merging (over MAX_PENDING). */
  unmerged = 0;
  /** Keys merged into the shared store so far. */
  merged = 0;

  constructor(
    readonly shared: RedisCounterStore,
    readonly local: MemoryCounterStore,
  ) {}

  private async attempt<T>(call: () => Promise<T>, fallback: () => MaybePromise<T>): Promise<T> {
    if (!this.shared.available) return fallback();
    if (this.pending.size) {
      this.merging ??= this.merge().finally(() => (this.merging = undefined));
      await this.merging;
      if (this.pending.size) return fallback(); // the shared store failed again while merging
    }
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof CounterStoreUnavailable)) throw err;
      return fallback();
    }
  }

  private remember(key: string, p: Pending): void {
    const had = this.pending.get(key);
    if (had?.kind === 'failures' && p.kind === 'failures') {
      // A reset then failures: reset the shared failures first, then add the new ones.
      this.pending.set(key, { kind: 'failures', spec: p.spec ?? had.spec, reset: had.reset || p.reset });
      return;
    }
    if (had || this.pending.size < MAX_PENDING) this.pending.set(key, p);
    else this.unmerged++;
  }

  /** Merges what the local fallback counted into the shared store; stops at the first failure. */
  private async merge(): Promise<void> {
    for (const [key, p] of this.pending) {
      try {
        if (p.kind === 'rate') {
          const debtMs = this.local.takeRate(key);
          const t = p.spec.windowMs / p.spec.limit;
          if (debtMs !== undefined)
            await this.shared.rate([{ ...p.spec }], { mode: 'force', cost: debtMs / t });
        } else if (p.kind === 'window') {
          await this.shared.mergeWindow(p.spec, this.local.takeWindow(key, p.spec.windowMs));
        } else {
          if (p.reset) await this.shared.resetFailures(key);
          const f = p.spec ? this.local.takeFailures(p.spec) : undefined;
          if (p.spec && f)
            await this.shared.mergeFailures(p.spec, {
              ...f,
              ids: f.agesMs.map(() => `merged:${process.pid}:${++mergeSeq}`),
            });
        }
        this.pending.delete(key);
        this.merged++;
      } catch (err) {
        if (!(err instanceof CounterStoreUnavailable)) throw err;
        return;
      }
    }
  }

  rate(limits: readonly RateSpec[], opts?: RateOptions): Promise<RateDecision> {
    return this.attempt(
      () => this.shared.rate(limits, opts),
      () => {
        const open = limits.filter((l) => (l.failMode ?? 'open') === 'open');
        const local = this.local.rate(open, opts);
        if (opts?.mode !== 'peek') for (const l of open) this.remember(l.key, { kind: 'rate', spec: l });
        let j = 0;
        const states = limits.map((l) =>
          (l.failMode ?? 'open') === 'open'
            ? local.limits[j++]!
            : { allowed: false, remaining: 0, resetMs: CLOSED_RETRY_MS, retryMs: CLOSED_RETRY_MS },
        );
        const closed = open.length < limits.length;
        return {
          allowed: !closed && local.allowed,
          limits: states,
          degraded: closed ? 'closed' : 'local',
        };
      },
    );
  }

  window(spec: WindowSpec, op: 'reserve' | 'add' | 'peek', id: string): Promise<WindowDecision> {
    return this.attempt(
      () => this.shared.window(spec, op, id),
      () => {
        if (mode(spec.failMode, 'closed') !== 'open')
          return {
            allowed: false,
            count: 0,
            retryMs: CLOSED_RETRY_MS,
            resetMs: CLOSED_RETRY_MS,
            degraded: 'closed' as const,
          };
        if (op !== 'peek') this.remember(spec.key, { kind: 'window', spec });
        return { ...this.local.window(spec, op, id), degraded: 'local' as const };
      },
    );
  }
  unwindow(key: string, id: string): Promise<void> {
    return this.attempt(
      () => this.shared.unwindow(key, id),
      () => this.local.unwindow(key, id),
    );
  }

  failureState(spec: FailureSpec): Promise<FailureState> {
    return this.attempt(
      () => this.shared.failureState(spec),
      () =>
        mode(spec.failMode, 'closed') === 'open'
          ? { ...this.local.failureState(spec), degraded: 'local' as const }
          : { lockedMs: CLOSED_RETRY_MS, failures: 0, lockouts: 0, degraded: 'closed' as const },
    );
  }

  fail(spec: FailureSpec, id: string): Promise<FailureState> {
    // Failures are always remembered somewhere: locally when the shared store is away.
    return this.attempt(
      () => this.shared.fail(spec, id),
      () => {
        this.remember(spec.key, { kind: 'failures', spec, reset: false });
        return { ...this.local.fail(spec), degraded: 'local' as const };
      },
    );
  }

  resetFailures(key: string): Promise<void> {
    return this.attempt(
      () => this.shared.resetFailures(key),
      () => {
        this.local.resetFailures(key);
        this.remember(key, { kind: 'failures', spec: undefined, reset: true });
      },
    );
  }

  acquire(spec: LeaseSpec, id: string): Promise<LeaseDecision> {
    return this.attempt(
      () => this.shared.acquire(spec, id),
      () =>
        mode(spec.failMode, 'open') === 'open'
          ? { ...this.local.acquire(spec, id), degraded: 'local' as const }
          : { allowed: false, inFlight: 0, degraded: 'closed' as const },
    );
  }

  release(key: string, id: string): Promise<void> {
    // A lease taken from one store is released in both: the other ignores an unknown id.
    this.local.release(key, id);
    return this.attempt(
      () => this.shared.release(key, id),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    await this.shared.close();
    await this.local.close();
  }
}

const mode = (m: FailMode | undefined, def: FailMode): FailMode => m ?? def;
