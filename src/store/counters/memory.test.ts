import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.ts';
import { gcra } from '../../core/counters.ts';
import { BoundedMap, MemoryCounterStore } from './memory.ts';

const minute = { key: 'u:alice', limit: 100, windowMs: 60_000 };

describe('GCRA (injected clock)', () => {
  it('admits the burst at once, then one unit per emission interval', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    for (let i = 0; i < 100; i++) expect(s.rate([minute]).allowed).toBe(true);
    const denied = s.rate([minute]);
    expect(denied.allowed).toBe(false);
    expect(denied.limits[0]).toEqual({ allowed: false, remaining: 0, resetMs: 60_000, retryMs: 600 });
    clock.advance(599);
    expect(s.rate([minute]).allowed).toBe(false);
    clock.advance(1);
    const again = s.rate([minute]);
    expect(again.allowed).toBe(true);
    expect(again.limits[0]!.remaining).toBe(0);
    clock.advance(60_000);
    expect(s.rate([minute]).limits[0]!.remaining).toBe(99); // fully refilled, one spent
  });

  it('a smaller burst spreads the same rate: 10/s with burst 2', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    const spec = { key: 'b', limit: 10, windowMs: 1000, burst: 2 };
    expect([1, 2, 3].map(() => s.rate([spec]).allowed)).toEqual([true, true, false]);
    clock.advance(100);
    expect(s.rate([spec]).allowed).toBe(true);
    expect(s.rate([spec]).allowed).toBe(false);
    let admitted = 0;
    for (let ms = 0; ms < 10_000; ms += 10) {
      clock.advance(10);
      if (s.rate([spec]).allowed) admitted++;
    }
    expect(admitted).toBe(100); // exactly the rate over 10 s
  });

  it('combines limits atomically: a denial by one charges none', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    const burst = { key: 's', limit: 20, windowMs: 1000 };
    const min = { key: 'm', limit: 100, windowMs: 60_000 };
    const day = { key: 'd', limit: 10_000, windowMs: 86_400_000 };
    let ok = 0;
    for (let i = 0; i < 50; i++) if (s.rate([burst, min, day]).allowed) ok++;
    expect(ok).toBe(20);
    const d = s.rate([burst, min, day]);
    expect(d.limits.map((l) => l.allowed)).toEqual([false, true, true]);
    expect(d.limits[1]!.remaining).toBe(80); // the denied request did not spend the minute
    // Over time the minute limit binds: 100 in the first minute, not 20 × 60.
    let total = 20;
    for (let ms = 0; ms < 59_000; ms += 50) {
      clock.advance(50);
      if (s.rate([burst, min, day]).allowed) total++;
    }
    expect(total).toBeGreaterThanOrEqual(100);
    expect(total).toBeLessThanOrEqual(100 + Math.ceil(59_000 / 600));
  });

  it('peek decides without spending; force charges after the fact (bytes quotas)', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    const bytes = { key: 'bytes', limit: 1000, windowMs: 60_000 };
    expect(s.rate([bytes], { mode: 'peek' }).limits[0]!.remaining).toBe(1000);
    s.rate([bytes], { mode: 'force', cost: 1500 });
    const p = s.rate([bytes], { mode: 'peek' });
    expect(p.allowed).toBe(false);
    expect(p.limits[0]!.retryMs).toBe(30_060); // 501 bytes back at 60 ms each
  });

  it('mirrors the arithmetic the Redis script uses', () => {
    expect(gcra(0, 1000, minute, 1).state).toEqual({
      allowed: true,
      remaining: 99,
      resetMs: 600,
      retryMs: 0,
    });
    expect(gcra(61_000, 1000, minute, 1).state.allowed).toBe(false);
  });
});

describe('sliding-window log', () => {
  it('reserves exactly limit events in any window and refunds', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    const flow = { key: 'f', limit: 2, windowMs: 30 * 86_400_000 };
    expect(s.window(flow, 'reserve', 'a').allowed).toBe(true);
    clock.advance(1000);
    expect(s.window(flow, 'reserve', 'b').allowed).toBe(true);
    const no = s.window(flow, 'reserve', 'c');
    expect(no).toMatchObject({ allowed: false, count: 2, retryMs: flow.windowMs - 1000 });
    s.unwindow('f', 'b');
    expect(s.window(flow, 'reserve', 'd').allowed).toBe(true);
    clock.advance(flow.windowMs - 1000);
    expect(s.window(flow, 'peek', '').count).toBe(1); // 'a' left the window
  });
});

describe('failures and back-off', () => {
  it('locks after limit failures until the oldest leaves the window (no back-off)', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    const spec = { key: 'acct', limit: 3, windowMs: 60_000 };
    s.fail(spec);
    clock.advance(10_000);
    s.fail(spec);
    clock.advance(10_000);
    expect(s.failureState(spec).lockedMs).toBe(0);
    expect(s.fail(spec).lockedMs).toBe(40_000);
    clock.advance(40_000);
    expect(s.failureState(spec).lockedMs).toBe(0);
  });

  it('doubles the lockout each time, capped, and a success resets it', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    const spec = { key: 'acct', limit: 2, windowMs: 60_000, backoff: { baseMs: 1000, maxMs: 5000 } };
    const lockouts: number[] = [];
    for (let i = 0; i < 4; i++) {
      s.fail(spec);
      const st = s.fail(spec);
      lockouts.push(st.lockedMs);
      clock.advance(st.lockedMs);
      expect(s.failureState(spec).lockedMs).toBe(0);
    }
    expect(lockouts).toEqual([1000, 2000, 4000, 5000]);
    s.resetFailures('acct');
    s.fail(spec);
    expect(s.fail(spec).lockedMs).toBe(1000);
  });
});

describe('leases', () => {
  it('caps in-flight leases and expires leaked ones', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock });
    const spec = { key: 'c', limit: 2, ttlMs: 30_000 };
    expect(s.acquire(spec, 'a').allowed).toBe(true);
    expect(s.acquire(spec, 'b').allowed).toBe(true);
    expect(s.acquire(spec, 'c')).toEqual({ allowed: false, inFlight: 2 });
    s.release('c', 'a');
    expect(s.acquire(spec, 'd').allowed).toBe(true);
    clock.advance(30_000); // b and d were never released: their leases expire
    expect(s.acquire(spec, 'e')).toEqual({ allowed: true, inFlight: 1 });
  });
});

describe('bounded memory', () => {
  it('a million distinct keys keep the store at its bound', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock, maxKeys: 10_000 });
    for (let i = 0; i < 1_000_000; i++) s.rate([{ key: `ip:${i}`, limit: 10, windowMs: 60_000 }]);
    expect(s.size).toBeLessThanOrEqual(10_000);
    // The most recent keys are still counted.
    expect(s.rate([{ key: 'ip:999999', limit: 10, windowMs: 60_000 }]).limits[0]!.remaining).toBe(8);
  });

  it('keeps the most recently written keys and forgets expired ones', () => {
    const m = new BoundedMap<number>(4);
    m.set('a', 1, 10);
    m.set('b', 2, 1000);
    m.set('c', 3, 1000); // generation turns over: a, b previous
    m.set('a', 4, 1000); // written again: survives the next turn-over
    m.set('d', 5, 1000);
    expect(m.size).toBeLessThanOrEqual(4);
    expect(m.get('a', 0)).toBe(4);
    expect(m.get('b', 0)).toBeUndefined();
    m.set('e', 6, 5);
    expect(m.get('e', 5)).toBeUndefined(); // expired
  });

  it('sliding-window logs are bounded in entries, not only in keys', () => {
    const clock = new ManualClock(0);
    const s = new MemoryCounterStore({ clock, maxKeys: 30_000 });
    // 200 consumers × 500 requests each: 100,000 log entries asked for, 30,000 the bound.
    for (let i = 0; i < 500; i++)
      for (let u = 0; u < 200; u++)
        s.window({ key: `u${u}`, limit: 500, windowMs: 60_000 }, 'add', `${u}:${i}`);
    const m = new BoundedMap<number>(1000, 100);
    for (let k = 0; k < 50; k++) m.set(`k${k}`, k, 1000, 10);
    expect(m.weight).toBeLessThanOrEqual(100);
    expect(m.get('k49', 0)).toBe(49);
    expect(m.get('k0', 0)).toBeUndefined();
    // The store's logs stayed within their entry bound (maxKeys entries) and count the newest.
    expect((s as unknown as { logs: BoundedMap<unknown> }).logs.weight).toBeLessThanOrEqual(30_000);
    expect(s.window({ key: 'u199', limit: 500, windowMs: 60_000 }, 'peek', '').count).toBeGreaterThan(0);
  });
});
