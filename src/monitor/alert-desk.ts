/**
 * What operators do with alerts: acknowledge (someone is on it), resolve (handled), silence
 * (no notifications until a time), each with who, when and an optional note. The rule engine
 * still decides whether an alert fires; the desk adds the human status on top. A new firing of
 * the same fingerprint that starts after the acknowledgement or resolution reopens the alert;
 * a silence holds until it expires. The marks are kept in the store (`alert_marks`,
 * migration 0610): every worker sees them and they survive a restart, so actions never travel
 * between processes. The alerts themselves are the rule engine's: in memory, and in a
 * `--workers` cluster the primary's, mirrored to every worker (src/monitor/cluster.ts:
 * {@link AlertDesk.snapshot}, {@link AlertDesk.observe}, {@link AlertDesk.update}). The actions
 * also go to the audit log.
 */
import type { Db } from '../store/index.ts';
import type { Alert } from './rules/engine.ts';

export type AlertStatus = 'open' | 'acknowledged' | 'silenced' | 'resolved';
export type AlertAction = 'acknowledge' | 'resolve' | 'silence';

export interface AlertAnnotation {
  at: number;
  by: string;
  action: AlertAction;
  note?: string;
}

/** An alert as the admin API lists it. */
export interface AlertView {
  id: string;
  rule: string;
  severity: Alert['severity'];
  state: Alert['state'];
  status: AlertStatus;
  labels: Record<string, string>;
  summary: string;
  value: number;
  startsAt: number;
  endsAt?: number;
  silencedUntil?: number;
  annotations: AlertAnnotation[];
}

interface Mark {
  status?: 'acknowledged' | 'resolved';
  /** When the status was set: a firing starting later reopens the alert. */
  markedAt?: number;
  silencedUntil?: number;
  annotations: AlertAnnotation[];
  version: number;
}

type MarkRow = {
  fingerprint: string;
  status: string | null;
  marked_at: number | null;
  silenced_until: number | null;
  annotations: string;
  version: number;
};

/** Annotations kept per alert at most (oldest dropped first). */
export const MAX_ANNOTATIONS = 100;
/** Longest silence, in ms. */
export const MAX_SILENCE_MS = 30 * 86_400_000;
const MAX_ALERTS = 1000;
/** Marks untouched this long (and no longer silencing) are dropped. */
const MARK_RETENTION_MS = 90 * 86_400_000;
/** Compare-and-set attempts of one action against concurrent writers. */
const ATTEMPTS = 8;

const markOf = (r: MarkRow): Mark => ({
  ...(r.status === 'acknowledged' || r.status === 'resolved' ? { status: r.status } : {}),
  ...(r.marked_at !== null ? { markedAt: r.marked_at } : {}),
  ...(r.silenced_until !== null ? { silencedUntil: r.silenced_until } : {}),
  annotations: JSON.parse(r.annotations) as AlertAnnotation[],
  version: r.version,
});

/** What a process joining a cluster copies: the known alerts (the marks are in the store). */
export interface DeskSnapshot {
  alerts: Alert[];
}

export class AlertDesk {
  private readonly alerts = new Map<string, Alert>();

  constructor(
    private readonly now: () => number,
    private readonly db: Db,
  ) {}

  snapshot(): DeskSnapshot {
    return { alerts: [...this.alerts.values()] };
  }

  restore(s: DeskSnapshot): void {
    this.alerts.clear();
    for (const a of s.alerts) this.alerts.set(a.fingerprint, a);
  }

  /** A firing alert's moving value and summary (the rule engine updates them in place). */
  update(fingerprint: string, value: number, summary: string): void {
    const a = this.alerts.get(fingerprint);
    if (!a) return;
    a.value = value;
    a.summary = summary;
  }

  /** Every alert change from the rule engine (pending ones included). */
  observe(a: Alert): void {
    this.alerts.delete(a.fingerprint);
    this.alerts.set(a.fingerprint, a);
    if (this.alerts.size > MAX_ALERTS) this.alerts.delete(this.alerts.keys().next().value as string);
  }

  /** True while a silence of this alert holds (read from the store): its notifications are not sent. */
  async silenced(fingerprint: string): Promise<boolean> {
    const until = (await this.mark(fingerprint))?.silencedUntil;
    return until !== undefined && until > this.now();
  }

  async get(fingerprint: string): Promise<AlertView | undefined> {
    const a = this.alerts.get(fingerprint);
    return a && this.view(a, await this.mark(fingerprint));
  }

  /** Known alerts, most recently started first. */
  async list(status?: AlertStatus): Promise<AlertView[]> {
    const known = [...this.alerts.values()].filter((a) => a.state !== 'pending');
    const marks = await this.marks(known.map((a) => a.fingerprint));
    const out = known
      .map((a) => this.view(a, marks.get(a.fingerprint)))
      .sort((x, y) => y.startsAt - x.startsAt || (x.id < y.id ? -1 : 1));
    return status ? out.filter((v) => v.status === status) : out;
  }

  /**
   * Records an operator's action; undefined when the alert is unknown. `until` (epoch ms) is
   * required for `silence` and must lie in the future, at most {@link MAX_SILENCE_MS} ahead.
   * Written with compare-and-set on the row's version, so concurrent actions (another worker)
   * are all kept.
   */
  async act(
    fingerprint: string,
    action: AlertAction,
    by: string,
    opts: { note?: string; until?: number } = {},
  ): Promise<AlertView | undefined> {
    const a = this.alerts.get(fingerprint);
    if (!a || a.state === 'pending') return undefined;
    const now = this.now();
    if (action === 'silence') {
      const until = opts.until;
      if (until === undefined || until <= now || until - now > MAX_SILENCE_MS)
        throw new RangeError('a silence needs an end in the future, at most 30 days ahead');
    }
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const old = await this.mark(fingerprint);
      const m: Mark = old ? { ...old, annotations: [...old.annotations] } : { annotations: [], version: 0 };
      if (action === 'silence') m.silencedUntil = opts.until!;
      else {
        m.status = action === 'acknowledge' ? 'acknowledged' : 'resolved';
        m.markedAt = now;
      }
      m.annotations.push({ at: now, by, action, ...(opts.note !== undefined ? { note: opts.note } : {}) });
      if (m.annotations.length > MAX_ANNOTATIONS) m.annotations.shift();
      const values = [
        fingerprint,
        m.status ?? null,
        m.markedAt ?? null,
        m.silencedUntil ?? null,
        JSON.stringify(m.annotations),
        now,
        m.version + 1,
      ];
      const r = old
        ? await this.db.run(
            `UPDATE alert_marks SET status = $2, marked_at = $3, silenced_until = $4, annotations = $5,
               updated_at = $6, version = $7 WHERE fingerprint = $1 AND version = $8`,
            [...values, m.version],
          )
        : await this.db.run(
            `INSERT INTO alert_marks (fingerprint, status, marked_at, silenced_until, annotations, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (fingerprint) DO NOTHING`,
            values,
          );
      if (r.changes === 1) {
        if (!old) await this.prune(now);
        return this.view(a, { ...m, version: m.version + 1 });
      }
    }
    throw new Error('the alert was changed concurrently too often; try again');
  }

  private async mark(fingerprint: string): Promise<Mark | undefined> {
    const r = await this.db.one<MarkRow>(
      'SELECT fingerprint, status, marked_at, silenced_until, annotations, version FROM alert_marks WHERE fingerprint = $1',
      [fingerprint],
    );
    return r && markOf(r);
  }

  private async marks(fingerprints: string[]): Promise<Map<string, Mark>> {
    const out = new Map<string, Mark>();
    if (fingerprints.length === 0) return out;
    // Only the known alerts' marks (at most MAX_ALERTS placeholders).
    const rows = await this.db.query<MarkRow>(
      `SELECT fingerprint, status, marked_at, silenced_until, annotations, version FROM alert_marks
       WHERE fingerprint IN (${fingerprints.map((_, i) => `$${i + 1}`).join(', ')})`,
      fingerprints,
    );
    for (const r of rows) out.set(r.fingerprint, markOf(r));
    return out;
  }

  private async prune(now: number): Promise<void> {
    await this.db.run(
      'DELETE FROM alert_marks WHERE updated_at < $1 AND (silenced_until IS NULL OR silenced_until < $2)',
      [now - MARK_RETENTION_MS, now],
    );
  }

  private view(a: Alert, m: Mark | undefined): AlertView {
    const silenced = m?.silencedUntil !== undefined && m.silencedUntil > this.now();
    // An acknowledgement or resolution holds for the firing it was made on, not a later one.
    const marked = m?.status !== undefined && (m.markedAt ?? 0) >= a.startsAt ? m.status : undefined;
    const status: AlertStatus = silenced
      ? 'silenced'
      : (marked ?? (a.state === 'resolved' ? 'resolved' : 'open'));
    return {
      id: a.fingerprint,
      rule: a.rule,
      severity: a.severity,
      state: a.state,
      status,
      labels: a.labels,
      summary: a.summary,
      value: a.value,
      startsAt: a.startsAt,
      ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
      ...(silenced ? { silencedUntil: m!.silencedUntil! } : {}),
      annotations: m ? [...m.annotations] : [],
    };
  }
}
