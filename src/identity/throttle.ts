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

/** What the routes use of a throttle: the sliding window below or the back-off after it. */
export interface Throttle {
  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string): MaybePromise<number>;
  /** Throws a 429 problem with Retry-After when `key` is throttled. */
  check(key: string, what?: string): MaybePromise<void>;
  fail(key: string): MaybePromise<void>;
  reset(key: string): MaybePromise<void>;
}

function tooMany(what: string, wait: number): ProblemError {
  return new ProblemError(
    'too-many-requests',
    `Too many failed ${what}; try again later`,
    { retry_after: wait },
    { 'Retry-After': String(wait) },
  );
}

export class FailureThrottle implements Throttle {
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
    // Stryker disable next-line StringLiteral: the failover store treats every mode but 'open' as closed
    return { key: this.prefix + key, limit: this.max, windowMs: this.windowMs, failMode: 'closed' };
  }

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string): MaybePromise<number> {
    return after(this.store.failureState(this.spec(key)), seconds);
  }

  /** Throws a 429 problem with Retry-After when `key` is throttled. */
  check(key: string, what = 'attempts'): MaybePromise<void> {
    return after(this.retryAfter(key), (wait) => {
      if (wait > 0) throw tooMany(what, wait);
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

export interface BackoffOptions {
  /** Failures answered at once; the `free`-th starts the first delay. */
  free: number;
  /** The first delay (ms); each further failure doubles it. */
  baseMs: number;
  /** The longest delay (ms). */
  maxDelayMs: number;
  /** A key's failures are forgotten after this long without one (ms). */
  forgetAfterMs: number;
  /** At most this many keys are remembered (the oldest is forgotten first). */
  maxKeys?: number;
}

interface BackoffEntry {
  failures: number;
  last: number;
  until: number;
}

/**
 * Exponential back-off for password attempts (kept in this node's memory: a cluster's nodes
 * each back off on their own; the hard limit of FailureThrottle is the shared one), per account and per client IP (OWASP
 * Authentication Cheat Sheet, "Account Lockout"; NIST SP 800-63B-4 §3.2.2): the first
 * `free` failures cost nothing; the next waits `baseMs`, then 2×, 4×, … up to
 * `maxDelayMs`. During the delay every attempt — right password or not, known account or
 * not — is answered 429 with Retry-After and not evaluated. Unlike a hard lock, no
 * attacker can shut an account for good, and a guesser's rate still falls off
 * exponentially. Trade-offs: docs/identity.md "Brute force and enumeration".
 */
export class Backoff implements Throttle {
  private readonly entries = new Map<string, BackoffEntry>();
  private lastSweep = 0;
  private readonly maxKeys: number;

  constructor(
    private readonly clock: Clock,
    private readonly opts: BackoffOptions,
  ) {
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  retryAfter(key: string): number {
    const now = this.clock.now();
    this.sweep(now);
    const e = this.live(key, now);
    if (!e || e.until <= now) return 0;
    return Math.max(1, Math.ceil((e.until - now) / 1000));
  }

  check(key: string, what = 'attempts'): void {
    const wait = this.retryAfter(key);
    if (wait > 0) throw tooMany(what, wait);
  }

  fail(key: string): void {
    const now = this.clock.now();
    let e = this.live(key, now);
    if (!e) {
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next().value;
        // Stryker disable next-line ConditionalExpression: a full map always has a first key (delete(undefined) would be a no-op)
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      e = { failures: 0, last: now, until: 0 };
      this.entries.set(key, e);
    }
    e.failures++;
    e.last = now;
    const beyond = e.failures - this.opts.free;
    if (beyond >= 0) {
      // 2^30 × base overflows nothing and is far past any sensible cap.
      const delay = Math.min(this.opts.maxDelayMs, this.opts.baseMs * 2 ** Math.min(beyond, 30));
      e.until = now + delay;
    }
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  private live(key: string, now: number): BackoffEntry | undefined {
    const e = this.entries.get(key);
    if (e && now - e.last > this.opts.forgetAfterMs && now >= e.until) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Forgets expired keys at most once per forgetAfter, so a full map evicts a dead key, not a live one. */
  private sweep(now: number): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: sweeping on every call (the `false`, `+` mutants) or 1 ms later (`<=`) changes only the cost
    if (now - this.lastSweep < this.opts.forgetAfterMs) return;
    this.lastSweep = now;
    for (const key of [...this.entries.keys()]) this.live(key, now);
  }
}
