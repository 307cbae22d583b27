/**
 * A sliding-window counter: `slots` buckets of `window/slots` ms each, so the count
 * covers the last window to within one bucket. Memory is fixed per window; adding
 * and summing never allocate. Times come from the caller (an injected clock).
 */
export class SlidingCounter {
  private readonly counts: Float64Array;
  private readonly stamps: Float64Array;
  readonly width: number;

  constructor(
    readonly window: number,
    readonly slots = 30,
  ) {
    this.width = Math.max(1, Math.ceil(window / slots));
    this.counts = new Float64Array(slots);
    this.stamps = new Float64Array(slots).fill(-1);
  }

  add(now: number, by = 1): void {
    const idx = Math.floor(now / this.width);
    const slot = idx % this.slots;
    if (this.stamps[slot] !== idx) {
      this.stamps[slot] = idx;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += by;
  }

  sum(now: number): number {
    const idx = Math.floor(now / this.width);
    let s = 0;
    for (let i = 0; i < this.slots; i++) {
      const st = this.stamps[i]!;
      if (st > idx - this.slots && st <= idx) s += this.counts[i]!;
    }
    return s;
  }
}

/**
 * Distinct values seen in the last window, bounded to `max` values (least recently
 * seen evicted first: a Map keeps insertion order and a re-seen value moves to the end).
 */
export class DistinctWindow {
  private readonly seen = new Map<string, number>();
  constructor(
    readonly window: number,
    readonly max: number,
  ) {}
  add(value: string, now: number): void {
    this.seen.delete(value);
    this.seen.set(value, now);
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
  }
  count(now: number): number {
    const from = now - this.window;
    for (const [v, t] of this.seen) {
      if (t > from) break;
      this.seen.delete(v);
    }
    return this.seen.size;
  }
}
