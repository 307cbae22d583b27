import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import { MemoryCounterStore } from '../store/counters/memory.ts';
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

describe('throttle decisions (#19)', () => {
  const opts = { free: 1, baseMs: 1000, maxDelayMs: 10_000, forgetAfterMs: 60_000 };

  function refusal(f: () => void): ProblemError {
    try {
      f();
    } catch (e) {
      if (e instanceof ProblemError) return e;
      throw e;
    }
    throw new Error('expected a 429');
  }

  it('check() passes while not throttled and refuses with a 429 problem, retry_after and Retry-After', () => {
    const clock = new ManualClock(0);
    for (const t of [new FailureThrottle(clock, 1, 60_000), new Backoff(clock, opts)]) {
      expect(() => t.check('k')).not.toThrow();
      t.fail('k');
      const e = refusal(() => t.check('k'));
      expect(e.problem.type).toBe('https://rampart.dev/problems/too-many-requests');
      expect(e.problem.status).toBe(429);
      expect(e.problem.detail).toBe('Too many failed attempts; try again later');
      expect(e.problem.retry_after).toBeGreaterThanOrEqual(1);
      expect(e.headers['Retry-After']).toBe(String(e.problem.retry_after));
      expect(refusal(() => t.check('k', 'codes')).problem.detail).toBe(
        'Too many failed codes; try again later',
      );
    }
  });

  it('a known key failing again does not evict another key (only new keys evict the oldest)', () => {
    const clock = new ManualClock(0);
    const t = new FailureThrottle(clock, 1, 60_000, 2);
    t.fail('x');
    t.fail('y');
    t.fail('y'); // known key: nothing evicted
    expect(t.retryAfter('x')).toBeGreaterThan(0);
    expect(t.retryAfter('y')).toBeGreaterThan(0);
    const b = new Backoff(clock, { ...opts, maxKeys: 2 });
    b.fail('x');
    b.fail('y');
    b.fail('y');
    expect(b.retryAfter('x')).toBe(1);
  });

  it('failures age out of the window one by one (a partial expiry keeps the rest)', () => {
    const clock = new ManualClock(0);
    const t = new FailureThrottle(clock, 2, 60_000);
    t.fail('k');
    clock.advance(30_000);
    t.fail('k');
    expect(t.retryAfter('k')).toBe(30);
    clock.advance(30_001); // the first failure left the window
    expect(t.retryAfter('k')).toBe(0);
    t.fail('k');
    expect(t.retryAfter('k')).toBe(30);
  });

  it('Backoff keeps a key whose delay is still running, even after forgetAfter', () => {
    const clock = new ManualClock(0);
    const b = new Backoff(clock, { free: 1, baseMs: 120_000, maxDelayMs: 120_000, forgetAfterMs: 60_000 });
    b.fail('k');
    clock.advance(60_001);
    expect(b.retryAfter('k')).toBe(60);
    clock.advance(60_000);
    expect(b.retryAfter('k')).toBe(0);
  });

  it('FailureThrottle counts in the store it is given, under its name (default "throttle")', () => {
    const clock = new ManualClock(0);
    const store = new MemoryCounterStore({ clock });
    const unnamed = new FailureThrottle(clock, 1, 60_000, store);
    const same = new FailureThrottle(clock, 1, 60_000, store, 'throttle');
    const other = new FailureThrottle(clock, 1, 60_000, store, 'totp');
    unnamed.fail('alice');
    // Another node's throttle of the same name sees the failure; another name does not.
    expect(same.retryAfter('alice')).toBe(60);
    expect(other.retryAfter('alice')).toBe(0);
    other.fail('bob');
    expect(unnamed.retryAfter('bob')).toBe(0);
    expect(other.retryAfter('bob')).toBe(60);
  });

  it('Backoff forgets a key only strictly after forgetAfter without a failure', () => {
    const clock = new ManualClock(0);
    const b = new Backoff(clock, { free: 1, baseMs: 1000, maxDelayMs: 100_000, forgetAfterMs: 5000 });
    b.fail('k'); // 1 s
    clock.advance(5000); // exactly forgetAfter: still remembered, the next failure doubles
    b.fail('k');
    expect(b.retryAfter('k')).toBe(2);
    clock.advance(7001); // 5001 ms after the delay ended: forgotten, back to the first delay
    b.fail('k');
    expect(b.retryAfter('k')).toBe(1);
  });

  it('Backoff forgets a key whose delay ends exactly now (past forgetAfter)', () => {
    const clock = new ManualClock(0);
    const b = new Backoff(clock, { free: 1, baseMs: 10_000, maxDelayMs: 100_000, forgetAfterMs: 5000 });
    b.fail('k');
    clock.advance(10_000); // the delay ends now and the last failure is 10 s old
    b.fail('k');
    expect(b.retryAfter('k')).toBe(10);
  });

  it('Backoff sweeps expired keys, so a full map evicts a dead key and keeps a live one', () => {
    const clock = new ManualClock(0);
    const b = new Backoff(clock, {
      free: 1,
      baseMs: 1000,
      maxDelayMs: 100_000,
      forgetAfterMs: 5000,
      maxKeys: 2,
    });
    b.fail('live');
    b.fail('dead');
    clock.advance(3000);
    b.fail('live'); // 2 failures, last at 3 s
    clock.advance(3000); // 'dead' expired (6 s without a failure), 'live' did not
    expect(b.retryAfter('someone')).toBe(0); // any check sweeps
    b.fail('new'); // room for it: 'live' is not evicted
    b.fail('live'); // third failure: 4 s
    expect(b.retryAfter('live')).toBe(4);
    expect(b.retryAfter('new')).toBe(1);
  });
});
