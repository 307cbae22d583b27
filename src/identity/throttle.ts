/**
 * Failure throttling for password and one-time-code attempts (OWASP ASVS 2.4.1,
 * NIST SP 800-63B-4 §3.2.2): at most `max` failures per key within a sliding `window`,
 * after which the key is refused with 429 and Retry-After until the oldest failure
 * leaves the window. The failures live in the counter store (src/core/counters.ts):
 * shared by every node when it is Redis, fail-closed when Redis is away (a guess is
 * refused rather than uncounted). With the in-memory store every call is synchronous.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { CounterStore, FailureSpec, FailureState, MaybePromise } from '../core/counters.ts';
import { ProblemError } from '../core/errors.ts';
import { MemoryCounterStore } from '../store/counters/memory.ts';

const after = <T, R>(v: MaybePromise<T>, f: (t: T) => R): MaybePromise<R> =>
  v instanceof Promise ? v.then(f) : f(v);

export class FailureThrottle {
  private readonly store: CounterStore;
  private readonly prefix: string;

  /**
   * @param storeOrMaxKeys the shared counter store, or (alone) the most keys a private in-memory store keeps
   * @param name distinguishes this throttle's keys in a shared store
   */
  constructor(
    clock: Clock,
    private readonly max: number,
    private readonly windowMs: number,
    storeOrMaxKeys: CounterStore | number = 100_000,
    name = 'throttle',
  ) {
    this.store =
      typeof storeOrMaxKeys === 'number'
        ? new MemoryCounterStore({ clock, maxFailureKeys: storeOrMaxKeys })
        : storeOrMaxKeys;
    this.prefix = `idt:${name}:`;
  }

  private spec(key: string): FailureSpec {
    return { key: this.prefix + key, limit: this.max, windowMs: this.windowMs, failMode: 'closed' };
  }

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string): MaybePromise<number> {
    return after(this.store.failureState(this.spec(key)), seconds);
  }

  /** Throws a 429 problem with Retry-After when `key` is throttled. */
  check(key: string, what = 'attempts'): MaybePromise<void> {
    return after(this.retryAfter(key), (wait) => {
      if (wait > 0) {
        throw new ProblemError(
          'too-many-requests',
          `Too many failed ${what}; try again later`,
          { retry_after: wait },
          { 'Retry-After': String(wait) },
        );
      }
    });
  }

  fail(key: string): MaybePromise<void> {
    return after(this.store.fail(this.spec(key), randomUUID()), () => undefined);
  }

  reset(key: string): MaybePromise<void> {
    return this.store.resetFailures(this.prefix + key);
  }
}

const seconds = (s: FailureState): number => (s.lockedMs > 0 ? Math.max(1, Math.ceil(s.lockedMs / 1000)) : 0);
