/**
 * Failure throttling for password and one-time-code attempts (OWASP ASVS 2.4.1,
 * NIST SP 800-63B-4 §3.2.2): at most `max` failures per key within a sliding `window`,
 * after which the key is refused with 429 and Retry-After until the oldest failure
 * leaves the window. In memory (per node); keys are bounded and swept.
 */
import type { Clock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';

export class FailureThrottle {
  private readonly failures = new Map<string, number[]>();
  private lastSweep = 0;
  constructor(
    private readonly clock: Clock,
    private readonly max: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string): number {
    const now = this.clock.now();
    this.sweep(now);
    const list = this.live(key, now);
    if (list.length < this.max) return 0;
    return Math.max(1, Math.ceil((list[list.length - this.max]! + this.windowMs - now) / 1000));
  }

  /** Throws a 429 problem with Retry-After when `key` is throttled. */
  check(key: string, what = 'attempts'): void {
    const wait = this.retryAfter(key);
    if (wait > 0) {
      throw new ProblemError(
        'too-many-requests',
        `Too many failed ${what}; try again later`,
        { retry_after: wait },
        { 'Retry-After': String(wait) },
      );
    }
  }

  fail(key: string): void {
    const now = this.clock.now();
    const list = this.live(key, now);
    list.push(now);
    if (list.length > this.max) list.splice(0, list.length - this.max);
    if (!this.failures.has(key) && this.failures.size >= this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(key, list);
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private live(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const keep = list.filter((t) => t > now - this.windowMs);
    if (keep.length === 0) this.failures.delete(key);
    else if (keep.length !== list.length) this.failures.set(key, keep);
    return keep;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const key of [...this.failures.keys()]) this.live(key, now);
  }
}
