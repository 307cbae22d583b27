import { afterEach, describe, expect, it, vi } from 'vitest';
import { deadline, withDeadline } from './deadline.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('deadline', () => {
  it('aborts with a TimeoutError once the time is up, and not before', () => {
    vi.useFakeTimers();
    const d = deadline(1000);
    vi.advanceTimersByTime(999);
    expect(d.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(true);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
    expect((d.signal.reason as DOMException).message).toBe('timed out after 1000 ms');
  });

  it('holds its timer strongly: it fires even when nothing else references the signal', () => {
    vi.useFakeTimers();
    // The timer is an ordinary ref'd setTimeout (AbortSignal.timeout's is weak and unref'd).
    const fired: string[] = [];
    deadline(50).signal.addEventListener('abort', () => fired.push('abort'));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(['abort']);
  });

  it("follows the parent: the parent's reason, not a timeout", () => {
    vi.useFakeTimers();
    const parent = new AbortController();
    const d = deadline(1000, parent.signal);
    parent.abort(new Error('stopped by the user'));
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(false);
    expect((d.signal.reason as Error).message).toBe('stopped by the user');
    d.clear();
  });

  it('is aborted at once under an already-aborted parent', () => {
    const parent = new AbortController();
    parent.abort(new Error('before'));
    const d = deadline(1000, parent.signal);
    expect(d.signal.aborted).toBe(true);
    d.clear();
  });

  it('clear() stops the timer and detaches from the parent', () => {
    vi.useFakeTimers();
    const parent = new AbortController();
    const d = deadline(1000, parent.signal);
    d.clear();
    expect(vi.getTimerCount()).toBe(0);
    parent.abort();
    vi.advanceTimersByTime(2000);
    expect(d.signal.aborted).toBe(false);
  });
});

describe('withDeadline', () => {
  it('clears the timer when the operation settles, whether it succeeds or throws', async () => {
    vi.useFakeTimers();
    await expect(withDeadline(1000, async () => 42)).resolves.toBe(42);
    expect(vi.getTimerCount()).toBe(0);
    await expect(
      withDeadline(1000, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('aborts a pending operation at the deadline', async () => {
    vi.useFakeTimers();
    const p = withDeadline(
      100,
      (signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    const settled = expect(p).rejects.toMatchObject({ name: 'TimeoutError' });
    vi.advanceTimersByTime(100);
    await settled;
  });
});
