import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import type { Db } from '../../store/index.ts';
import type { Alert } from '../rules/engine.ts';
import { DeliveryError, type Notifier } from './types.ts';

export interface OutboxOptions {
  /** Attempts before a delivery is given up (kept with dead = 1). */
  maxAttempts: number;
  /** First retry delay in ms; doubles per attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How often the worker looks for due deliveries, in ms. */
  pollMs: number;
}

interface OutboxRow extends Record<string, unknown> {
  id: string;
  notifier: string;
  alert: string;
  attempts: number;
}

/**
 * Durable alert delivery: every (alert change, notifier) pair is a row in
 * `monitor_outbox` before it is sent, so an alert a receiver did not take yet survives
 * a restart and is retried. A background worker sends due rows, one at a time per
 * notifier (order kept), with exponential back-off. Nothing here runs on the request path.
 */
export class Outbox {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly byName: Map<string, Notifier>;
  private stopped = false;
  /** Deliveries by outcome, for metrics: (notifier, outcome) → count. */
  onOutcome: (notifier: string, outcome: 'delivered' | 'retry' | 'failed') => void = () => {};

  constructor(
    private readonly db: Db,
    notifiers: readonly Notifier[],
    private readonly opts: OutboxOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.byName = new Map(notifiers.map((n) => [n.name, n]));
  }

  start(): void {
    this.timer = setInterval(() => void this.run(), this.opts.pollMs);
    this.timer.unref();
    void this.run();
  }

  /** Queues an alert change for every notifier that wants it. */
  async enqueue(alert: Alert): Promise<void> {
    const now = this.clock.now();
    for (const n of this.byName.values()) {
      if (!n.wants(alert)) continue;
      await this.db.run(
        'INSERT INTO monitor_outbox (id, notifier, alert, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, 0, $4, $4)',
        [`${now.toString(36)}-${randomBytes(6).toString('hex')}`, n.name, JSON.stringify(alert), now],
      );
    }
    void this.run();
  }

  /** One pass over due deliveries (concurrent calls share it). Resolves when the pass ends. */
  run(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) return this.running;
    this.running = this.pass()
      .catch((err: unknown) => this.log.warn({ err }, 'alert outbox pass failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const rows = await this.db.query<OutboxRow>(
      'SELECT id, notifier, alert, attempts FROM monitor_outbox WHERE delivered_at IS NULL AND dead = 0 AND next_attempt_at <= $1 ORDER BY created_at, id LIMIT 100',
      [this.clock.now()],
    );
    const perNotifier = new Map<string, OutboxRow[]>();
    for (const r of rows) perNotifier.set(r.notifier, [...(perNotifier.get(r.notifier) ?? []), r]);
    await Promise.all(
      [...perNotifier].map(async ([name, list]) => {
        const n = this.byName.get(name);
        for (const row of list) {
          if (this.stopped) return;
          if (!n) {
            await this.db.run('UPDATE monitor_outbox SET dead = 1, last_error = $1 WHERE id = $2', [
              'notifier no longer configured',
              row.id,
            ]);
            continue;
          }
          const attempt = Number(row.attempts) + 1;
          try {
            await n.send(JSON.parse(row.alert) as Alert, { id: row.id, attempt });
            await this.db.run('UPDATE monitor_outbox SET delivered_at = $1, attempts = $2 WHERE id = $3', [
              this.clock.now(),
              attempt,
              row.id,
            ]);
            this.onOutcome(name, 'delivered');
          } catch (err) {
            const retry = !(err instanceof DeliveryError) || err.retry;
            const dead = !retry || attempt >= this.opts.maxAttempts;
            const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
            await this.db.run(
              'UPDATE monitor_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3, dead = $4 WHERE id = $5',
              [attempt, this.clock.now() + delay, (err as Error).message.slice(0, 300), dead ? 1 : 0, row.id],
            );
            this.onOutcome(name, dead ? 'failed' : 'retry');
            if (dead)
              this.log.error({ notifier: name, err: (err as Error).message }, 'alert delivery given up');
            // Later rows of this notifier wait for the next pass: keep the order.
            return;
          }
        }
      }),
    );
  }

  /** Deliveries still waiting (not delivered, not given up). */
  async pending(): Promise<number> {
    const r = await this.db.one<{ n: number }>(
      'SELECT COUNT(*) AS n FROM monitor_outbox WHERE delivered_at IS NULL AND dead = 0',
    );
    return Number(r?.n ?? 0);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    this.stopped = true;
  }
}
