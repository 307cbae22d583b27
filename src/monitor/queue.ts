import type { RampartEvent } from '../core/events.ts';

/**
 * The bounded hand-off between the request path and the monitor. `push` is what the
 * EventBus listener calls for every event: one array store and, at most once per batch,
 * a `setImmediate`. No promise, no I/O and no copy per event. When the consumer falls
 * behind and the ring is full, the event is dropped and counted (never blocks the gateway).
 */
export class EventQueue {
  private readonly ring: (RampartEvent | undefined)[];
  private head = 0;
  private size = 0;
  private scheduled = false;
  /** Events refused because the ring was full. */
  dropped = 0;
  /** Events accepted since start. */
  accepted = 0;

  constructor(
    readonly capacity: number,
    /** Receives the queued events in order, a batch at a time (synchronously). */
    private readonly consume: (batch: RampartEvent[]) => void,
    /** How many events one drain hands over at most (the rest wait for the next turn). */
    private readonly maxBatch = 2048,
  ) {
    this.ring = new Array<RampartEvent | undefined>(capacity);
  }

  readonly push = (event: RampartEvent): void => {
    if (this.size === this.capacity) {
      this.dropped++;
      return;
    }
    this.ring[(this.head + this.size) % this.capacity] = event;
    this.size++;
    this.accepted++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.turn);
    }
  };

  get pending(): number {
    return this.size;
  }

  /** Hands everything queued to the consumer now (tests, shutdown, a scrape or query that must be current). */
  readonly drain = (): void => this.take(false);

  /** The scheduled hand-over: a batch at a time, yielding to the event loop between large batches. */
  private readonly turn = (): void => {
    this.scheduled = false;
    this.take(true);
  };

  private take(yieldBetweenBatches: boolean): void {
    while (this.size > 0) {
      const n = Math.min(this.size, this.maxBatch);
      const batch = new Array<RampartEvent>(n);
      for (let i = 0; i < n; i++) {
        const at = (this.head + i) % this.capacity;
        batch[i] = this.ring[at]!;
        this.ring[at] = undefined;
      }
      this.head = (this.head + n) % this.capacity;
      this.size -= n;
      this.consume(batch);
      if (yieldBetweenBatches && this.size > 0 && !this.scheduled) {
        // Yield to the event loop between large batches so I/O keeps flowing.
        this.scheduled = true;
        setImmediate(this.turn);
        return;
      }
    }
  }
}
