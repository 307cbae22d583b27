/**
 * The bounded queue between the request path and inference: `push` is a store into an
 * array (no promise, no closure per exchange); a batch is inferred per turn of the event
 * loop (`setImmediate`), so a burst never holds requests up for long. Beyond `max` waiting
 * items, new ones are dropped and `onFull` counts them (`queue-full`).
 */
export class ObserveQueue<T> {
  private items: T[] = [];
  private head = 0;
  private scheduled = false;
  private readonly turn = (): void => this.drainSome();

  constructor(
    private readonly sink: (x: T) => void,
    private readonly onFull: () => void,
    readonly max = 10_000,
    readonly batch = 64,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    if (this.length >= this.max) return this.onFull();
    this.items.push(x);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.turn);
    }
  }

  /** Infers everything waiting now (before a flush or a document). */
  drain(): void {
    while (this.head < this.items.length) this.take();
    this.reset();
  }

  private take(): void {
    const x = this.items[this.head]!;
    this.items[this.head++] = undefined as T; // let the exchange's buffers go
    this.sink(x);
  }

  private reset(): void {
    this.items = [];
    this.head = 0;
  }

  private drainSome(): void {
    for (let i = 0; i < this.batch && this.head < this.items.length; i++) this.take();
    if (this.head < this.items.length) setImmediate(this.turn);
    else {
      this.reset();
      this.scheduled = false;
    }
  }
}
