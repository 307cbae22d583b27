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
 * Local counters are not merged back: after recovery the shared counters decide again.
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

export class FailoverCounterStore implements CounterStore {
  readonly kind = 'redis';
  constructor(
    readonly shared: RedisCounterStore,
    readonly local: MemoryCounterStore,
  ) {}

  private async attempt<T>(call: () => Promise<T>, fallback: () => MaybePromise<T>): Promise<T> {
    if (!this.shared.available) return fallback();
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof CounterStoreUnavailable)) throw err;
      return fallback();
    }
  }

  rate(limits: readonly RateSpec[], opts?: RateOptions): Promise<RateDecision> {
    return this.attempt(
      () => this.shared.rate(limits, opts),
      () => {
        const open = limits.filter((l) => (l.failMode ?? 'open') === 'open');
        const local = this.local.rate(open, opts);
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
      () =>
        mode(spec.failMode, 'closed') === 'open'
          ? { ...this.local.window(spec, op, id), degraded: 'local' as const }
          : {
              allowed: false,
              count: 0,
              retryMs: CLOSED_RETRY_MS,
              resetMs: CLOSED_RETRY_MS,
              degraded: 'closed' as const,
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
      () => ({ ...this.local.fail(spec), degraded: 'local' as const }),
    );
  }

  resetFailures(key: string): Promise<void> {
    return this.attempt(
      () => this.shared.resetFailures(key),
      () => this.local.resetFailures(key),
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
