/**
 * What operators do with alerts: acknowledge (someone is on it), resolve (handled), silence
 * (no notifications until a time), each with who, when and an optional note. The rule engine
 * still decides whether an alert fires; the desk adds the human status on top. A new firing of
 * the same fingerprint (a later `startsAt`) reopens an acknowledged or resolved alert; a
 * silence holds until it expires. Kept in memory (the actions themselves go to the audit log).
 */
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
  startsAt: number;
  status?: 'acknowledged' | 'resolved';
  silencedUntil?: number;
  annotations: AlertAnnotation[];
}

/** Annotations kept per alert at most (oldest dropped first). */
export const MAX_ANNOTATIONS = 100;
/** Longest silence, in ms. */
export const MAX_SILENCE_MS = 30 * 86_400_000;
const MAX_ALERTS = 1000;

/** An operator's action as it travels between cluster processes (`at` from where it was taken). */
export interface DeskAction {
  fingerprint: string;
  action: AlertAction;
  by: string;
  at: number;
  note?: string;
  until?: number;
}

/** What a process joining a cluster copies: the known alerts and the operators' marks. */
export interface DeskSnapshot {
  alerts: Alert[];
  marks: Array<[string, Mark]>;
}

export class AlertDesk {
  private readonly alerts = new Map<string, Alert>();
  private readonly marks = new Map<string, Mark>();
  /** Called with every action taken here through {@link act} (a cluster worker forwards it). */
  onAct: (a: DeskAction) => void = () => {};

  constructor(private readonly now: () => number) {}

  snapshot(): DeskSnapshot {
    return { alerts: [...this.alerts.values()], marks: [...this.marks] };
  }

  restore(s: DeskSnapshot): void {
    this.alerts.clear();
    this.marks.clear();
    for (const a of s.alerts) this.alerts.set(a.fingerprint, a);
    for (const [fp, m] of s.marks) this.marks.set(fp, m);
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
    if (this.alerts.size > MAX_ALERTS) {
      const oldest = this.alerts.keys().next().value as string;
      this.alerts.delete(oldest);
      this.marks.delete(oldest);
    }
    const m = this.marks.get(a.fingerprint);
    if (m && a.state === 'firing' && a.startsAt !== m.startsAt) {
      m.startsAt = a.startsAt;
      delete m.status;
    }
  }

  /** True while a silence of this alert holds: its notifications are not sent. */
  silenced(fingerprint: string): boolean {
    const until = this.marks.get(fingerprint)?.silencedUntil;
    return until !== undefined && until > this.now();
  }

  get(fingerprint: string): AlertView | undefined {
    const a = this.alerts.get(fingerprint);
    return a && this.view(a);
  }

  /** Known alerts, most recently started first. */
  list(status?: AlertStatus): AlertView[] {
    const out = [...this.alerts.values()]
      .filter((a) => a.state !== 'pending')
      .map((a) => this.view(a))
      .sort((x, y) => y.startsAt - x.startsAt || (x.id < y.id ? -1 : 1));
    return status ? out.filter((v) => v.status === status) : out;
  }

  /**
   * Records an operator's action; undefined when the alert is unknown. `until` (epoch ms) is
   * required for `silence` and must lie in the future, at most {@link MAX_SILENCE_MS} ahead.
   */
  act(
    fingerprint: string,
    action: AlertAction,
    by: string,
    opts: { note?: string; until?: number } = {},
  ): AlertView | undefined {
    const a = this.alerts.get(fingerprint);
    if (!a || a.state === 'pending') return undefined;
    const now = this.now();
    if (action === 'silence') {
      const until = opts.until;
      if (until === undefined || until <= now || until - now > MAX_SILENCE_MS)
        throw new RangeError('a silence needs an end in the future, at most 30 days ahead');
    }
    const done: DeskAction = { fingerprint, action, by, at: now, ...opts };
    this.apply(done);
    this.onAct(done);
    return this.view(a);
  }

  /** Records an action already validated where it was taken (another cluster process). */
  apply(d: DeskAction): AlertView | undefined {
    const { fingerprint, action, by } = d;
    const a = this.alerts.get(fingerprint);
    if (!a || a.state === 'pending') return undefined;
    let m = this.marks.get(fingerprint);
    if (!m) {
      m = { startsAt: a.startsAt, annotations: [] };
      this.marks.set(fingerprint, m);
    }
    if (action === 'silence') m.silencedUntil = d.until!;
    else m.status = action === 'acknowledge' ? 'acknowledged' : 'resolved';
    m.annotations.push({ at: d.at, by, action, ...(d.note !== undefined ? { note: d.note } : {}) });
    if (m.annotations.length > MAX_ANNOTATIONS) m.annotations.shift();
    return this.view(a);
  }

  private view(a: Alert): AlertView {
    const m = this.marks.get(a.fingerprint);
    const silenced = m?.silencedUntil !== undefined && m.silencedUntil > this.now();
    const status: AlertStatus = silenced
      ? 'silenced'
      : (m?.status ?? (a.state === 'resolved' ? 'resolved' : 'open'));
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
