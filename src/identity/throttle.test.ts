import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import { FailureThrottle } from './throttle.ts';

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
