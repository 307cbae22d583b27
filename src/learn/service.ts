import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ExchangeObserver, ObservedExchange } from '../core/observe.ts';
import type { Db } from '../store/types.ts';
import { learnedDocument } from './document.ts';
import { DEFAULT_LEARN_LIMITS, Learner, type LearnLimits } from './learner.ts';
import { ObserveQueue } from './queue.ts';
import { absorb, restore, snapshot, type LearnSnapshot } from './snapshot.ts';

/**
 * Learning inside `rampart start` (`mode: learn`, `learn: true`): the gateway's exchange
 * observer. Each API version that learns has a learner fed from a bounded queue drained off
 * the request path; every `flushMs` (and on stop) what it learned since the last flush is
 * merged into the store's snapshot of that version (read, absorb, write — in one
 * transaction, so several processes add up) and the learner starts afresh. The store holds
 * only snapshots (snapshot.ts: shapes, counts, redacted exemplars), bounded by `maxSnapshotBytes`.
 */
export interface LearningTarget {
  api: string;
  base: string;
  upstream: string;
}

export interface LearnServiceOptions {
  db: Db;
  clock: Clock;
  log: Logger;
  targets: LearningTarget[];
  /** Flush interval (default 30 s; 0 = only on demand and on stop). */
  flushMs?: number;
  /** A merged snapshot larger than this is not written (logged; the stored one stays). Default 8 MiB. */
  maxSnapshotBytes?: number;
  maxQueue?: number;
  limits?: LearnLimits;
}

interface Entry {
  target: LearningTarget;
  learner: Learner;
  queue: ObserveQueue<ObservedExchange>;
}

export interface StoredLearning {
  api: string;
  base: string;
  updatedAt: number;
  exchanges: number;
  operations: number;
}

/** The stored snapshot of one API version, if anything was learned. */
export async function readSnapshot(db: Db, api: string, base: string): Promise<LearnSnapshot | undefined> {
  const row = await db.one<{ snapshot: string }>(
    'SELECT snapshot FROM learn_snapshot WHERE api = $1 AND base = $2',
    [api, base],
  );
  return row && row.snapshot ? (JSON.parse(row.snapshot) as LearnSnapshot) : undefined;
}

/** Which API versions have something learned in the store. */
export async function listLearned(db: Db): Promise<StoredLearning[]> {
  const rows = await db.query<{
    api: string;
    base: string;
    updated_at: number;
    exchanges: number;
    operations: number;
  }>(
    "SELECT api, base, updated_at, exchanges, operations FROM learn_snapshot WHERE snapshot <> '' ORDER BY api, base",
  );
  return rows.map((r) => ({
    api: r.api,
    base: r.base,
    updatedAt: Number(r.updated_at),
    exchanges: Number(r.exchanges),
    operations: Number(r.operations),
  }));
}

/** The learned OpenAPI 3.1 document of a snapshot (`rampart learn export`, the admin API). */
export function snapshotDocument(
  snap: LearnSnapshot,
  target: { api: string; base: string; upstream?: string },
): Record<string, unknown> {
  const doc = learnedDocument(restore(snap), {
    title: `${target.api} (learned)`,
    ...(target.upstream ? { upstream: target.upstream } : {}),
  });
  // The gateway serves the version under its base: the document's paths are relative to it.
  if (target.base !== '/') doc.servers = [{ url: target.base }];
  return doc;
}

export class LearnService implements ExchangeObserver {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxBytes: number;

  constructor(private readonly opts: LearnServiceOptions) {
    this.maxBytes = opts.maxSnapshotBytes ?? 8 * 1024 * 1024;
    this.setTargets(opts.targets);
    const every = opts.flushMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.flush().catch((err: unknown) =>
          this.opts.log.warn({ err: (err as Error).message }, 'learn: flush failed'),
        );
      }, every);
      this.timer.unref();
    }
  }

  /** The API versions that learn (a reload may add or remove some; removed ones are flushed first). */
  setTargets(targets: LearningTarget[]): void {
    const wanted = new Set(targets.map((t) => `${t.api} ${t.base}`));
    for (const [api, bases] of this.entries)
      for (const [base, e] of bases)
        if (!wanted.has(`${api} ${base}`)) {
          bases.delete(base);
          const snap = this.take(e);
          if (snap) this.flushing = this.flushing.then(() => this.merge(e.target, snap));
        }
    for (const t of targets) {
      let bases = this.entries.get(t.api);
      if (!bases) this.entries.set(t.api, (bases = new Map()));
      const known = bases.get(t.base);
      if (known) known.target = t;
      else bases.set(t.base, this.entry(t));
    }
  }

  get targets(): LearningTarget[] {
    return [...this.entries.values()].flatMap((b) => [...b.values()].map((e) => e.target));
  }

  private entry(target: LearningTarget): Entry {
    const learner = new Learner(this.opts.limits ?? DEFAULT_LEARN_LIMITS, () => this.opts.clock.now());
    return {
      target,
      learner,
      queue: new ObserveQueue(
        (x) => learner.observe(x),
        () => learner.skip('queue-full'),
        this.opts.maxQueue ?? 10_000,
      ),
    };
  }

  /** ExchangeObserver: on the request path — a map lookup and a push. */
  observe(x: ObservedExchange): void {
    this.entries.get(x.api)?.get(x.base)?.queue.push(x);
  }

  upstreamDown(api: string, base: string, message: string): void {
    this.entries.get(api)?.get(base)?.learner.upstreamDown(message);
  }

  /** Swaps the entry's learner for a fresh one and returns what the old one learned (undefined: nothing). */
  private take(e: Entry): LearnSnapshot | undefined {
    e.queue.drain();
    if (e.learner.stats.exchanges === 0) return undefined;
    const snap = snapshot(e.learner);
    const fresh = this.entry(e.target);
    e.learner = fresh.learner;
    e.queue = fresh.queue;
    return snap;
  }

  /** Merges what was learned since the last flush into the store. */
  flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      for (const bases of this.entries.values())
        for (const e of bases.values()) {
          const snap = this.take(e);
          if (!snap) continue;
          try {
            await this.merge(e.target, snap);
          } catch (err) {
            // Not lost: the next flush retries it with what comes meanwhile.
            absorb(e.learner, snap);
            throw err;
          }
        }
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async merge(target: LearningTarget, snap: LearnSnapshot): Promise<void> {
    const { db, clock, log } = this.opts;
    await db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO learn_snapshot (api, base, updated_at, exchanges, operations, snapshot)
         VALUES ($1, $2, $3, 0, 0, '') ON CONFLICT (api, base) DO NOTHING`,
        [target.api, target.base, clock.now()],
      );
      const row = await tx.one<{ snapshot: string }>(
        `SELECT snapshot FROM learn_snapshot WHERE api = $1 AND base = $2${db.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
        [target.api, target.base],
      );
      const merged = new Learner(this.opts.limits ?? DEFAULT_LEARN_LIMITS);
      if (row?.snapshot) absorb(merged, JSON.parse(row.snapshot) as LearnSnapshot);
      absorb(merged, snap);
      const out = snapshot(merged);
      const text = JSON.stringify(out);
      if (text.length > this.maxBytes) {
        log.warn(
          { api: target.api, base: target.base, bytes: text.length, max: this.maxBytes },
          'learn: the learned snapshot is over its size bound; not written (the stored one stays)',
        );
        return;
      }
      await tx.run(
        'UPDATE learn_snapshot SET updated_at = $3, exchanges = $4, operations = $5, snapshot = $6 WHERE api = $1 AND base = $2',
        [target.api, target.base, clock.now(), out.stats.exchanges, out.operations.length, text],
      );
    });
  }

  /** The learned document of one version now: the store's snapshot plus what is not flushed yet. */
  async document(api: string, base: string): Promise<Record<string, unknown> | undefined> {
    await this.flushing;
    const e = this.entries.get(api)?.get(base);
    const stored = await readSnapshot(this.opts.db, api, base);
    const learner = new Learner(this.opts.limits ?? DEFAULT_LEARN_LIMITS);
    if (stored) absorb(learner, stored);
    if (e) {
      e.queue.drain();
      if (e.learner.stats.exchanges > 0) absorb(learner, snapshot(e.learner));
    }
    if (learner.stats.exchanges === 0) return undefined;
    return snapshotDocument(snapshot(learner), { api, base, ...(e ? { upstream: e.target.upstream } : {}) });
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
