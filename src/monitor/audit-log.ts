import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { RampartEvent } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Db, SqlValue } from '../store/index.ts';
import { categoryOf } from './categories.ts';
import { routeOf } from './rules/fields.ts';

export interface AuditLogOptions {
  /** Rows per INSERT transaction at most. */
  batchSize: number;
  /** How often pending records are written, in ms (the crash window). */
  flushIntervalMs: number;
  /** Records kept waiting for the store at most; beyond, new ones are dropped and counted. */
  maxPending: number;
  /** Rows older than this are deleted (ms; 0 = keep). */
  retentionMs: number;
  /** Rows kept at most (oldest deleted first; 0 = no bound). */
  maxRows: number;
  /** Which `request` events to keep: none, errors (status ≥ 400) or all. */
  requests: 'none' | 'errors' | 'all';
}

export interface AuditRecord {
  id: string;
  at: number;
  type: string;
  decision: string;
  category: string | null;
  principal: string | null;
  ip: string | null;
  route: string | null;
  method: string | null;
  status: number | null;
  policy: string | null;
  requestId: string | null;
  event: RampartEvent;
}

export interface AuditQuery {
  from?: number;
  to?: number;
  principal?: string;
  ip?: string;
  route?: string;
  decision?: string;
  category?: string;
  type?: string;
  limit?: number;
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string;
}

const COLUMNS = [
  'id',
  'boot',
  'seq',
  'at',
  'type',
  'decision',
  'category',
  'principal',
  'ip',
  'route',
  'method',
  'status',
  'policy',
  'request_id',
  'event',
] as const;
const ROWS_PER_INSERT = 100;

type Row = SqlValue[];

/** The decision an event records. */
function decisionOf(e: RampartEvent): string {
  switch (e.type) {
    case 'request':
      return e.status >= 500 ? 'error' : e.status >= 400 ? 'deny' : 'allow';
    case 'auth':
      return e.outcome === 'success' ? 'allow' : 'deny';
    case 'denied':
    case 'rate-limited':
    case 'shadow-endpoint':
    case 'mfa':
    case 'bad-request':
      return 'deny';
    case 'validation-failed':
      return e.direction === 'request' ? 'deny' : 'error';
    case 'upstream-error':
      return 'error';
    case 'alert':
      return 'alert';
    case 'admin-action':
      return e.outcome === 'success' ? 'allow' : 'deny';
    default:
      return 'info';
  }
}

function auditCategory(e: RampartEvent): string | null {
  switch (e.type) {
    case 'denied':
      return categoryOf(e.policy, e.owasp);
    case 'shadow-endpoint':
    case 'deprecated-version-used':
      return 'API9:2023';
    case 'rate-limited':
      return 'API4:2023';
    case 'auth':
    case 'mfa':
      return e.type === 'mfa' || e.outcome !== 'success' ? 'API2:2023' : null;
    case 'scan-finding':
      return e.owasp ?? null;
    default:
      return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The audit log: security decisions written to the store in batches, off the request
 * path. A record is *acknowledged* once the transaction holding it committed
 * (`acknowledgedSeq`); graceful shutdown flushes everything pending, a crash loses at
 * most what arrived after the last commit (≤ flushIntervalMs of events). When the store
 * fails, records wait (bounded by maxPending, then dropped and counted) and writes are
 * retried with back-off; `onHealth` reports the store unavailable/recovered.
 */
export class AuditLog {
  readonly boot = Date.now().toString(36) + randomBytes(4).toString('hex');
  private seq = 0;
  private pending: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  /** Highest sequence number committed to the store. */
  acknowledgedSeq = 0;
  acknowledgedAt = 0;
  /** Records dropped because the store was unavailable and too many were waiting. */
  dropped = 0;
  written = 0;

  constructor(
    private readonly db: Db,
    private readonly opts: AuditLogOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onHealth: (healthy: boolean, detail: string) => void = () => {},
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.opts.flushIntervalMs);
    this.timer.unref();
    if (this.opts.retentionMs > 0 || this.opts.maxRows > 0) {
      void this.prune().catch((err: unknown) => this.log.warn({ err }, 'audit log retention failed'));
      this.pruneTimer = setInterval(
        () => void this.prune().catch((err: unknown) => this.log.warn({ err }, 'audit log retention failed')),
        60_000,
      );
      this.pruneTimer.unref();
    }
  }

  /** Whether an event belongs in the audit log. */
  wants(e: RampartEvent): boolean {
    if (e.type !== 'request') return true;
    return this.opts.requests === 'all' || (this.opts.requests === 'errors' && e.status >= 400);
  }

  append(e: RampartEvent): void {
    if (this.closed || !this.wants(e)) return;
    if (this.pending.length >= this.opts.maxPending) {
      this.dropped++;
      return;
    }
    const seq = ++this.seq;
    const r = e as unknown as Partial<Record<string, unknown>>;
    this.pending.push([
      `${this.boot}-${seq.toString(36).padStart(8, '0')}`,
      this.boot,
      seq,
      e.at,
      e.type,
      decisionOf(e),
      auditCategory(e),
      str(r.principal) ?? str(r.user),
      e.ip ?? null,
      routeOf(e) ?? null,
      str(r.method),
      typeof r.status === 'number' ? r.status : null,
      str(r.policy) ?? (e.type === 'alert' ? e.rule : null),
      e.requestId ?? null,
      JSON.stringify(e),
    ]);
    if (this.pending.length >= this.opts.batchSize && !this.flushing)
      void this.flush().catch(() => undefined);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Writes what is pending now (one transaction per batch). Concurrent calls share the run. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.length === 0 || this.clock.now() < this.retryAt) return Promise.resolve();
    this.flushing = this.writeAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.opts.batchSize);
      try {
        await this.db.transaction(async (tx) => {
          for (let i = 0; i < batch.length; i += ROWS_PER_INSERT) {
            const rows = batch.slice(i, i + ROWS_PER_INSERT);
            const params: SqlValue[] = [];
            const tuples = rows.map((row) => {
              const base = params.length;
              params.push(...row);
              return `(${row.map((_, j) => `$${base + j + 1}`).join(', ')})`;
            });
            await tx.run(`INSERT INTO audit_log (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, params);
          }
        });
      } catch (err) {
        // Put the batch back in front (order kept) and retry later with back-off.
        this.pending = batch.concat(this.pending);
        if (this.pending.length > this.opts.maxPending) {
          const over = this.pending.length - this.opts.maxPending;
          this.pending.splice(this.opts.maxPending);
          this.dropped += over;
        }
        this.failures++;
        this.retryAt = this.clock.now() + Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
        if (this.failures === 1 || this.failures % 20 === 0)
          this.log.error(
            { err, pending: this.pending.length },
            'audit log: the store refused a batch; retrying',
          );
        if (this.failures === 3) this.onHealth(false, (err as Error).message.slice(0, 200));
        throw err;
      }
      const last = batch[batch.length - 1]!;
      this.acknowledgedSeq = last[2] as number;
      this.acknowledgedAt = this.clock.now();
      this.written += batch.length;
      if (this.failures >= 3) this.onHealth(true, 'audit store writable again');
      this.failures = 0;
      this.retryAt = 0;
    }
  }

  /** Stops the timers and writes everything pending (retrying a few times). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    for (let attempt = 0; attempt < 5 && (this.pending.length > 0 || this.flushing); attempt++) {
      this.retryAt = 0;
      try {
        await this.flushing;
        await this.flush();
      } catch {
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
      }
    }
    if (this.pending.length > 0) {
      this.log.error(
        { lost: this.pending.length },
        'audit log: records could not be written before shutdown',
      );
      this.dropped += this.pending.length;
      this.pending = [];
    }
  }

  /** Retention: by age, then by row count (oldest first). Returns rows deleted. */
  async prune(): Promise<number> {
    let deleted = 0;
    if (this.opts.retentionMs > 0) {
      const r = await this.db.run('DELETE FROM audit_log WHERE at < $1', [
        this.clock.now() - this.opts.retentionMs,
      ]);
      deleted += r.changes;
    }
    if (this.opts.maxRows > 0) {
      const row = await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM audit_log');
      const over = Number(row?.n ?? 0) - this.opts.maxRows;
      if (over > 0) {
        const r = await this.db.run(
          'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY at, id LIMIT $1)',
          [over],
        );
        deleted += r.changes;
      }
    }
    return deleted;
  }
}

/** Newest first, filtered, paged with an opaque cursor. Used by the admin API and `rampart audit-log`. */
export async function queryAuditLog(db: Db, q: AuditQuery): Promise<{ items: AuditRecord[]; next?: string }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (sql: string, v: SqlValue) => {
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.from !== undefined) add('at >= ?', q.from);
  if (q.to !== undefined) add('at < ?', q.to);
  if (q.principal) add('principal = ?', q.principal);
  if (q.ip) add('ip = ?', q.ip);
  if (q.route) add('route = ?', q.route);
  if (q.decision) add('decision = ?', q.decision);
  if (q.category) add('category = ?', q.category);
  if (q.type) add('type = ?', q.type);
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    params.push(c.at, c.at, c.id);
    const n = params.length;
    where.push(`(at < $${n - 2} OR (at = $${n - 1} AND id < $${n}))`);
  }
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  params.push(limit + 1);
  const rows = await db.query<Record<string, unknown>>(
    `SELECT id, at, type, decision, category, principal, ip, route, method, status, policy, request_id, event FROM audit_log` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map((r): AuditRecord => ({
    id: r.id as string,
    at: Number(r.at),
    type: r.type as string,
    decision: r.decision as string,
    category: (r.category as string | null) ?? null,
    principal: (r.principal as string | null) ?? null,
    ip: (r.ip as string | null) ?? null,
    route: (r.route as string | null) ?? null,
    method: (r.method as string | null) ?? null,
    status: r.status === null || r.status === undefined ? null : Number(r.status),
    policy: (r.policy as string | null) ?? null,
    requestId: (r.request_id as string | null) ?? null,
    event: JSON.parse(r.event as string) as RampartEvent,
  }));
  const last = items[items.length - 1];
  return more && last ? { items, next: encodeCursor(last.at, last.id) } : { items };
}

function encodeCursor(at: number, id: string): string {
  return Buffer.from(`${at}.${id}`).toString('base64url');
}

export class BadCursor extends Error {}

function decodeCursor(c: string): { at: number; id: string } {
  const text = Buffer.from(c, 'base64url').toString();
  const m = /^(\d{1,16})\.([0-9a-z-]{1,64})$/.exec(text);
  if (!m) throw new BadCursor('cursor is not one this server issued');
  return { at: Number(m[1]), id: m[2]! };
}
