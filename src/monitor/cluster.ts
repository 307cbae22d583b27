/**
 * Alerting across the workers of one `rampart start --workers N` (node:cluster). Each worker
 * keeps its metrics, audit log and live feed of events; what rules and anomaly baselines
 * need travels to the primary, which evaluates them, keeps the alert desk and sends the
 * notifications exactly once, then tells every worker what changed. So "50 failed logins in
 * a minute" split over two workers fires once, and any worker's admin listener shows the
 * same alerts.
 *
 * Worker → primary: batches of event summaries (the fields rules and baselines read, never
 * a header, body or token), at most one message in flight, a bounded buffer whose overflow
 * is counted (`rampart_monitor_events_dropped_total{stage="cluster"}`); alerts a worker
 * raises about itself (its audit store); questions (status). Operators' desk actions do not
 * travel: the desk's marks are in the store every process shares (alert-desk.ts).
 * Primary → workers: the state on joining (alerts, recent changes), every alert
 * change, firing alerts' moving values, answers. A scrape of `/metrics` on any
 * worker asks the primary, which gathers every worker's exposition and its own (alerts firing,
 * notifications) and merges them: counters and histograms summed, gauges at their largest.
 *
 * The transport is a {@link Port} (process.send / cluster Worker.send in `cli/cluster.ts`):
 * messages are plain JSON, tagged `rampart: 'monitor'` so other IPC traffic passes by.
 */
import type { RampartEvent } from '../core/events.ts';
import type { Alert } from './rules/engine.ts';
import type { DeskSnapshot } from './alert-desk.ts';
import { mergeExpositions } from './metrics.ts';
import { MATCH_FIELDS } from './rules/fields.ts';

/** One end of an IPC channel. `send`'s callback runs once the message is handed to the OS. */
export interface Port {
  send(message: ClusterMessage, done?: (err: Error | null) => void): void;
  onMessage(listener: (message: unknown) => void): void;
}

export interface AlertChange {
  alert: Alert;
  changedAt: number;
}

export interface PrimaryState {
  desk: DeskSnapshot;
  history: AlertChange[];
  active: Alert[];
}

/** Per-worker counts the primary keeps (the admin listener's `/admin/monitor` shows them). */
export interface WorkerStatus {
  worker: number;
  pid: number | undefined;
  /** Event summaries received from this worker. */
  events: number;
  /** Summaries this worker reported dropped (its buffer was full). */
  dropped: number;
  /** True from the worker's hello (its monitor listens) until it exits. */
  connected: boolean;
}

export interface ClusterStatus {
  workers: WorkerStatus[];
  /** Summaries the primary's own queue refused. */
  primaryDropped: number;
}

type Body =
  | { t: 'events'; events: Summary[]; dropped: number }
  | { t: 'hello' }
  | { t: 'raise'; alert: Alert }
  | { t: 'ask'; id: number }
  | { t: 'metrics'; id: number }
  | { t: 'expose'; id: number }
  | { t: 'exposition'; id: number; text: string }
  | { t: 'metrics-answer'; id: number; text: string }
  | { t: 'state'; state: PrimaryState }
  | { t: 'change'; change: AlertChange }
  | { t: 'update'; fingerprint: string; value: number; summary: string }
  | { t: 'answer'; id: number; status: ClusterStatus };

export type ClusterMessage = Body & { rampart: 'monitor' };

const isMessage = (m: unknown): m is ClusterMessage =>
  typeof m === 'object' && m !== null && (m as { rampart?: unknown }).rampart === 'monitor';

/** An event reduced to what rules and anomaly baselines read: scalar fields only. */
export type Summary = Record<string, string | number | boolean>;

/** Raw fields the summary keeps: every field a rule may name, plus what derived labels need. */
const KEPT = new Set<string>([
  ...MATCH_FIELDS.filter((f) => f !== 'consumer' && f !== 'category' && f !== 'statusClass'),
  'type',
  'at',
  'owasp',
  'version',
  'ttfbMs',
]);
const MAX_STRING = 1024;

export function summarise(e: RampartEvent): Summary {
  const src = e as unknown as Record<string, unknown>;
  const out: Summary = {};
  // The event's own keys (a dozen), not every keepable name (three dozen).
  for (const k in src) {
    if (!KEPT.has(k)) continue;
    const v = src[k];
    if (typeof v === 'string') out[k] = v.length > MAX_STRING ? v.slice(0, MAX_STRING) : v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

export interface WorkerLinkOptions {
  /** Summaries waiting to be sent at most; more are dropped and counted. */
  maxPending?: number;
  /** Summaries per message at most. */
  maxBatch?: number;
  /** How long a small batch waits for company, in ms. */
  lingerMs?: number;
}

/** What a worker's monitor does with what the primary says. */
export interface WorkerHandlers {
  state(s: PrimaryState): void;
  change(c: AlertChange): void;
  update(fingerprint: string, value: number, summary: string): void;
  /** This worker's own metrics exposition (the primary merges every worker's). */
  expose(): string;
}

/**
 * The worker's end: `forward` (called from the monitor's drain, a batch at a time, never on
 * the request path) appends summaries to a bounded buffer sent in batches, one message in
 * flight at a time.
 */
export class WorkerLink {
  private buffer: Summary[] = [];
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private asked = 0;
  private readonly questions = new Map<number, (answer: unknown) => void>();
  /** Summaries dropped because the buffer was full (the channel to the primary is slow or gone). */
  dropped = 0;
  private droppedReported = 0;
  /** Summaries handed to the channel. */
  sent = 0;

  constructor(
    private readonly port: Port,
    handlers: WorkerHandlers,
    o: WorkerLinkOptions = {},
  ) {
    this.maxPending = o.maxPending ?? 65_536;
    this.maxBatch = o.maxBatch ?? 2048;
    this.lingerMs = o.lingerMs ?? 10;
    port.onMessage((m) => {
      if (!isMessage(m)) return;
      switch (m.t) {
        case 'state':
          return handlers.state(m.state);
        case 'change':
          return handlers.change(m.change);
        case 'update':
          return handlers.update(m.fingerprint, m.value, m.summary);
        case 'answer':
        case 'metrics-answer': {
          const q = this.questions.get(m.id);
          this.questions.delete(m.id);
          return q?.(m.t === 'answer' ? m.status : m.text);
        }
        case 'expose':
          return this.send({ t: 'exposition', id: m.id, text: handlers.expose() });
        default:
          return;
      }
    });
    this.send({ t: 'hello' });
  }

  private send(body: Body, done?: (err: Error | null) => void): void {
    try {
      this.port.send({ rampart: 'monitor', ...body }, done);
    } catch (err) {
      // The channel is closed (the primary is gone): the worker is stopping anyway.
      done?.(err as Error);
    }
  }

  forward(e: RampartEvent): void {
    if (this.buffer.length >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.buffer.push(summarise(e));
    if (this.buffer.length >= this.maxBatch) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.lingerMs);
      this.timer.unref();
    }
  }

  /** Sends the next batch unless one is in flight (then it goes when that one is handed over). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight || (this.buffer.length === 0 && this.dropped === this.droppedReported)) return;
    const events = this.buffer.length <= this.maxBatch ? this.buffer : this.buffer.slice(0, this.maxBatch);
    this.buffer = this.buffer.length <= this.maxBatch ? [] : this.buffer.slice(this.maxBatch);
    const dropped = this.dropped - this.droppedReported;
    this.droppedReported = this.dropped;
    this.inFlight = true;
    this.send({ t: 'events', events, dropped }, (err) => {
      this.inFlight = false;
      if (err) this.dropped += events.length;
      else this.sent += events.length;
      if (this.buffer.length > 0) this.flush();
    });
  }

  raise(alert: Alert): void {
    this.send({ t: 'raise', alert });
  }

  /** The primary's per-worker counts; undefined when it does not answer within `timeoutMs`. */
  status(timeoutMs = 2000): Promise<ClusterStatus | undefined> {
    return this.ask<ClusterStatus>((id) => ({ t: 'ask', id }), timeoutMs);
  }

  /** Every worker's metrics and the primary's, merged by the primary; undefined without an answer. */
  metrics(timeoutMs = 3000): Promise<string | undefined> {
    return this.ask<string>((id) => ({ t: 'metrics', id }), timeoutMs);
  }

  private ask<T>(body: (id: number) => Body, timeoutMs: number): Promise<T | undefined> {
    const id = ++this.asked;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.questions.delete(id);
        resolve(undefined);
      }, timeoutMs);
      timer.unref();
      this.questions.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      this.send(body(id));
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.flush();
  }
}

/** What the primary's monitor provides to the hub. */
export interface HubHandlers {
  /** Feeds a worker's event summaries to the rules and baselines (returns how many were refused). */
  events(events: Summary[]): number;
  raise(alert: Alert): void;
  state(): PrimaryState;
  /** The primary's own metrics (alerts firing, notifications, rule overflow). */
  expose(): string;
}

/** How long the primary waits for the workers' metrics before answering with those it has. */
const EXPOSE_WAIT_MS = 1000;

/** The primary's end: one {@link Port} per worker. */
export class ClusterHub {
  private readonly ports = new Map<number, { port: Port; status: WorkerStatus }>();
  private readonly gone: WorkerStatus[] = [];
  private primaryDropped = 0;
  private gathering = 0;
  private readonly gathers = new Map<number, { waiting: Set<number>; texts: string[]; done: () => void }>();

  constructor(private readonly h: HubHandlers) {}

  /** Asks every connected worker for its metrics; answers `reply` with them merged with the primary's. */
  private gather(reply: (text: string) => void): void {
    const id = ++this.gathering;
    const waiting = new Set([...this.ports].filter(([, p]) => p.status.connected).map(([w]) => w));
    const texts = [this.h.expose()];
    const done = () => {
      clearTimeout(timer);
      this.gathers.delete(id);
      reply(mergeExpositions(texts));
    };
    const timer = setTimeout(done, EXPOSE_WAIT_MS);
    timer.unref();
    this.gathers.set(id, { waiting, texts, done });
    if (waiting.size === 0) return done();
    for (const w of waiting) this.sendTo(this.ports.get(w)!.port, { t: 'expose', id });
  }

  /** A new worker's channel; the worker says hello once its monitor listens. */
  connect(worker: number, pid: number | undefined, port: Port): void {
    const status: WorkerStatus = { worker, pid, events: 0, dropped: 0, connected: false };
    this.ports.set(worker, { port, status });
    port.onMessage((m) => {
      if (!isMessage(m)) return;
      switch (m.t) {
        case 'hello':
          status.connected = true;
          return this.sendTo(port, { t: 'state', state: this.h.state() });
        case 'events':
          status.events += m.events.length;
          status.dropped += m.dropped;
          this.primaryDropped += this.h.events(m.events);
          return;
        case 'raise':
          return this.h.raise(m.alert);
        case 'ask':
          return this.sendTo(port, { t: 'answer', id: m.id, status: this.status() });
        case 'metrics':
          return this.gather((text) => this.sendTo(port, { t: 'metrics-answer', id: m.id, text }));
        case 'exposition': {
          const g = this.gathers.get(m.id);
          if (!g || !g.waiting.delete(worker)) return;
          g.texts.push(m.text);
          if (g.waiting.size === 0) g.done();
          return;
        }
        default:
          return;
      }
    });
  }

  disconnect(worker: number): void {
    const p = this.ports.get(worker);
    if (!p) return;
    for (const g of [...this.gathers.values()])
      if (g.waiting.delete(worker) && g.waiting.size === 0) g.done();
    this.ports.delete(worker);
    p.status.connected = false;
    this.gone.push(p.status);
    if (this.gone.length > 20) this.gone.shift();
  }

  status(): ClusterStatus {
    return {
      workers: [...this.gone, ...[...this.ports.values()].map((p) => p.status)].map((s) => ({ ...s })),
      primaryDropped: this.primaryDropped,
    };
  }

  change(change: AlertChange): void {
    this.broadcast({ t: 'change', change });
  }

  update(fingerprint: string, value: number, summary: string): void {
    this.broadcast({ t: 'update', fingerprint, value, summary });
  }

  private sendTo(port: Port, body: Body): void {
    try {
      // With a callback, a closed channel reports to it instead of an 'error' event.
      port.send({ rampart: 'monitor', ...body }, () => {});
    } catch {
      // The worker is exiting; the primary forks its replacement, which asks for the state.
    }
  }

  private broadcast(body: Body, except?: number): void {
    for (const [id, p] of this.ports) if (id !== except) this.sendTo(p.port, body);
  }
}
