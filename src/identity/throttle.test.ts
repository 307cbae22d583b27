import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import { Backoff, FailureThrottle } from './throttle.ts';

describe('FailureThrottle', () => {
  it('blocks after max failures in the window and reports Retry-After from the oldest failure', () => {
    const clock = new ManualClock(0);
    const t = new FailureThrottle(clock, 3, 60_000);
    t.fail('a');
    clock.advance(10_000);
    t.fail('a');
    clock.advance(10_000);
    expect(t.retryAfter('a')).toBe(0);
    t.fail('a');
    expect(t.retryAfter('a')).toBe(40); // first failure at 0 leaves the window at 60 s
    expect(t.retryAfter('b')).toBe(0);
    try {
      t.check('a');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProblemError);
      expect((err as ProblemError).problem.status).toBe(429);
      expect((err as ProblemError).headers['Retry-After']).toBe('40');
    }
    clock.advance(40_000);
    expect(t.retryAfter('a')).toBe(0);
  });

  it('resets on success and bounds the number of keys', () => {
    const clock = new ManualClock(0);
    const t = new FailureThrottle(clock, 1, 60_000, 2);
    t.fail('a');
    t.reset('a');
    expect(t.retryAfter('a')).toBe(0);
    t.fail('x');
    t.fail('y');
    t.fail('z'); // evicts the oldest key
    expect(t.retryAfter('z')).toBeGreaterThan(0);
    expect(t.retryAfter('x')).toBe(0);
  });
});

describe('Backoff', () => {
  const opts = { free: 3, baseMs: 1000, maxDelayMs: 10_000, forgetAfterMs: 60_000 };

  it('answers the free failures at once, then doubles the delay up to the cap', () => {
    const clock = new ManualClock(0);
    const b = new Backoff(clock, opts);
    b.fail('a');
    b.fail('a');
    expect(b.retryAfter('a')).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      b.fail('a');
      const w = b.retryAfter('a');
      waits.push(w);
      expect(() => b.check('a')).toThrow(ProblemError);
      clock.advance(w * 1000);
      expect(b.retryAfter('a')).toBe(0);
    }
    expect(waits).toEqual([1, 2, 4, 8, 10, 10]);
    expect(b.retryAfter('b')).toBe(0);
  });

  it('forgets a key after forgetAfter without failures, and on reset', () => {
    const clock = new ManualClock(0);
    const b = new Backoff(clock, opts);
    for (let i = 0; i < 3; i++) b.fail('a');
    clock.advance(61_000);
    b.fail('a'); // a fresh start: first failure again
    expect(b.retryAfter('a')).toBe(0);
    b.fail('a');
    b.fail('a');
    expect(b.retryAfter('a')).toBe(1);
    b.reset('a');
    expect(b.retryAfter('a')).toBe(0);
  });

  it('bounds the number of keys', () => {
    const clock = new ManualClock(0);
    const b = new Backoff(clock, { ...opts, free: 1, maxKeys: 2 });
    b.fail('x');
    b.fail('y');
    b.fail('z');
    expect(b.retryAfter('x')).toBe(0);
    expect(b.retryAfter('z')).toBe(1);
  });
});
