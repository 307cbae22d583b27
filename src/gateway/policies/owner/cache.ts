import type { Clock } from '../../../core/clock.ts';

/**
 * A short, bounded cache of object owners read by ownership lookups: key → the owner
 * values of one object (`GET /records/{recordId}` + `recordId=7` → `['3', '5']`).
 *
 * - entries live `ttlMs` (a write the gateway did not see — another client, a job — is
 *   honoured at most that late);
 * - at most `max` entries, least recently used evicted first;
 * - a write to the same object through the gateway invalidates its entry (`invalidate`);
 * - concurrent misses for one key share one lookup (`inflight`), so a cold cache under load
 *   sends one sub-request per object, not one per request.
 */
export class OwnerCache<V> {
  private readonly map = new Map<string, { value: V; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<V>>();
  hits = 0;
  misses = 0;

  constructor(
    readonly max: number,
    readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (this.clock.now() >= e.expiresAt) {
      this.map.delete(key);
      return undefined;
    }
    // Most recently used goes last (Map keeps insertion order).
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V): void {
    if (this.max <= 0 || this.ttlMs <= 0) return;
    this.map.delete(key);
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, { value, expiresAt: this.clock.now() + this.ttlMs });
  }

  invalidate(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /**
   * The cached value, or the one `load` produces — shared by concurrent callers of the
   * same key. A rejected load is not cached (the next request tries again); `keep` says
   * whether a loaded value may be cached (e.g. not "object not found").
   */
  through(key: string, load: () => Promise<V>, keep: (v: V) => boolean): V | Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const running = this.pending.get(key);
    if (running) return running;
    const p = load().then(
      (v) => {
        this.pending.delete(key);
        if (keep(v)) this.set(key, v);
        return v;
      },
      (err: unknown) => {
        this.pending.delete(key);
        throw err;
      },
    );
    this.pending.set(key, p);
    return p;
  }
}
