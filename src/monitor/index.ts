import type { Clock } from '../core/clock.ts';
import type { Resolve } from '../core/ssrf.ts';
import type { RampartEvent } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/index.ts';
import { AuditLog } from './audit-log.ts';
import type { MonitorConfig, NotifierConfig } from './config.ts';
import { LiveFeed } from './feed.ts';
import { AlertmanagerNotifier } from './notifiers/alertmanager.ts';
import { EmailNotifier, readCaFile, relayGuard } from './notifiers/email.ts';
import { receiverEgress } from './notifiers/http.ts';
import { Outbox } from './notifiers/outbox.ts';
import { OtlpExporter } from './otlp.ts';
import { SlackNotifier } from './notifiers/slack.ts';
import type { Notifier } from './notifiers/types.ts';
import { WebhookNotifier } from './notifiers/webhook.ts';
import { EventQueue } from './queue.ts';
import { effectiveRules, RuleEngine, type Alert } from './rules/engine.ts';
import { MonitorMetrics } from './telemetry.ts';
import { AnomalyDetector } from './anomaly.ts';
import { AlertDesk } from './alert-desk.ts';
import { ClusterHub, WorkerLink, type ClusterStatus, type Port } from './cluster.ts';
export { ClusterHub, type Port, type ClusterMessage, type ClusterStatus } from './cluster.ts';
export {
  AlertDesk,
  MAX_SILENCE_MS,
  type AlertView,
  type AlertStatus,
  type AlertAction,
} from './alert-desk.ts';

export { monitorConfigSchema, type MonitorConfig } from './config.ts';
export { ruleErrors, effectiveRules, type Alert } from './rules/engine.ts';
export { queryAuditLog, BadCursor, type AuditQuery } from './audit-log.ts';
export { verifyWebhook, signWebhook } from './notifiers/webhook.ts';
export { readCaFile } from './notifiers/email.ts';
export { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
export { LiveFeed } from './feed.ts';

export interface MonitorOptions {
  config: MonitorConfig;
  db: Db;
  clock: Clock;
  log: Logger;
  /** Base URL receivers link to (Alertmanager generatorURL). */
  externalUrl?: string;
  /**
   * In a `--workers` cluster (src/monitor/cluster.ts): a `worker` keeps metrics, audit log and
   * the feed of its events and forwards summaries over `port`; the `primary` runs the rules,
   * baselines, desk and notifiers for all of them. Without it, one process does everything.
   */
  cluster?: { role: 'worker'; worker: number; port: Port } | { role: 'primary' };
}

/** An alert change as the admin API lists it. */
export interface AlertRecord extends Alert {
  changedAt: number;
}

/**
 * One notifier from its config. Receivers (HTTP and SMTP relays) go through the SSRF guard
 * (public addresses only, pinned at connect time) unless configured with `allowPrivate`;
 * `resolve` is the guard's DNS (tests play hostile answers). An e-mail notifier's `ca` file
 * is read here, once (an unusable one throws).
 */
export function buildNotifier(
  c: NotifierConfig,
  clock: Clock,
  externalUrl: string,
  resolve?: Resolve,
): Notifier {
  const now = () => clock.now();
  const minSeverity = c.minSeverity ?? 'warning';
  const timeoutMs = c.timeoutMs ?? 5000;
  const egress = () => (c.allowPrivate ? undefined : receiverEgress(resolve));
  switch (c.type) {
    case 'webhook': {
      const e = egress();
      return new WebhookNotifier(
        { name: c.name, url: c.url, secret: c.secret, minSeverity, timeoutMs, ...(e ? { egress: e } : {}) },
        now,
      );
    }
    case 'slack':
      return new SlackNotifier(c.name, c.url, minSeverity, timeoutMs, egress());
    case 'alertmanager':
      return new AlertmanagerNotifier(c.name, c.url, externalUrl, minSeverity, timeoutMs, egress());
    case 'email': {
      let ca: string | undefined;
      if (c.ca !== undefined) {
        const read = readCaFile(c.ca);
        if ('error' in read) throw new Error(`notifier '${c.name}': ${read.error}`);
        ca = read.pem;
      }
      return new EmailNotifier(
        {
          name: c.name,
          host: c.host,
          port: c.port ?? 587,
          security: c.security ?? 'starttls',
          from: c.from,
          to: c.to,
          minSeverity,
          timeoutMs,
          ...(c.username !== undefined ? { username: c.username, password: c.password ?? '' } : {}),
          ...(ca !== undefined ? { ca } : {}),
          ...(c.allowPrivate ? {} : { guard: relayGuard(resolve) }),
        },
        now,
      );
    }
  }
}

/**
 * The monitor: subscribes to the event bus through a bounded queue (the request path
 * only stores a reference), and off the request path feeds metrics, alert rules,
 * anomaly baselines, the audit log and the live feed. Alert changes go to the
 * notifiers' durable outbox, the audit log, the feed and `rampart_alerts_firing`.
 */
export class Monitor {
  readonly queue: EventQueue;
  readonly metrics = new MonitorMetrics();
  readonly engine: RuleEngine;
  readonly anomaly: AnomalyDetector | undefined;
  readonly audit: AuditLog | undefined;
  readonly feed = new LiveFeed();
  readonly outbox: Outbox;
  /** Operators' acknowledge / resolve / silence on top of the rule engine's alerts. */
  readonly desk: AlertDesk;
  readonly otlp: OtlpExporter | undefined;
  /** A worker's channel to the primary. */
  readonly link: WorkerLink | undefined;
  /** The primary's channels to its workers. */
  readonly hub: ClusterHub | undefined;
  private readonly role: 'single' | 'worker' | 'primary';
  private history: AlertRecord[] = [];
  /** A worker's copy of the primary's pending and firing alerts. */
  private readonly mirrored = new Map<string, Alert>();
  /** The primary: value and summary last told to the workers, per firing alert. */
  private readonly told = new Map<string, string>();

  private ticker: NodeJS.Timeout | undefined;
  private detach: (() => void) | undefined;

  constructor(private readonly o: MonitorOptions) {
    const c = o.config;
    const now = () => o.clock.now();
    this.role = o.cluster?.role ?? 'single';
    this.desk = new AlertDesk(now, o.db);
    this.queue = new EventQueue(c.queueSize, (batch) => this.consume(batch));
    this.engine = new RuleEngine(effectiveRules(c.rules, c.defaultRules), now);
    this.anomaly =
      c.anomaly.enabled && this.role !== 'worker'
        ? new AnomalyDetector({ warmupMs: c.anomaly.warmupHours * 3_600_000, score: c.anomaly.score }, now)
        : undefined;
    this.anomaly?.onAlert((a) => this.engine.external(a));
    if (c.auditLog.enabled) {
      this.audit = new AuditLog(
        o.db,
        {
          batchSize: c.auditLog.batchSize,
          flushIntervalMs: c.auditLog.flushIntervalMs,
          maxPending: c.auditLog.maxPending,
          retentionMs: c.auditLog.retentionDays * 86_400_000,
          maxRows: c.auditLog.maxRows,
          requests: c.auditLog.requests,
        },
        o.clock,
        o.log.child({ component: 'audit-log' }),
        (healthy, detail) => this.storeHealth(healthy, detail),
      );
    }
    const externalUrl = c.externalUrl ?? o.externalUrl ?? 'http://127.0.0.1';
    this.outbox = new Outbox(
      o.db,
      // A worker's alerts are notified by the primary, exactly once for the cluster.
      this.role === 'worker' ? [] : c.notifiers.map((n) => buildNotifier(n, o.clock, externalUrl)),
      {
        maxAttempts: c.delivery.maxAttempts,
        baseDelayMs: c.delivery.baseDelayMs,
        maxDelayMs: c.delivery.maxDelayMs,
        pollMs: 1000,
      },
      o.clock,
      o.log.child({ component: 'alerts' }),
    );
    this.outbox.onOutcome = (n, outcome) => this.metrics.notifications.inc([n, outcome]);
    this.otlp = c.otlp ? new OtlpExporter(c.otlp, this.metrics.registry, now) : undefined;
    if (o.cluster?.role === 'worker') {
      const link = new WorkerLink(o.cluster.port, {
        state: (s) => {
          this.desk.restore(s.desk);
          this.history = s.history.map((h) => ({ ...h.alert, changedAt: h.changedAt }));
          this.mirrored.clear();
          for (const a of s.active) {
            this.mirrored.set(a.fingerprint, a);
            if (a.state === 'firing') this.metrics.alertsFiring.inc([a.rule, a.severity]);
          }
        },
        change: (ch) => this.recordChange(ch.alert, ch.changedAt),
        update: (fp, value, summary) => {
          this.desk.update(fp, value, summary);
          const a = this.mirrored.get(fp);
          if (a) Object.assign(a, { value, summary });
        },
        expose: () => {
          this.queue.drain();
          return this.metricsText();
        },
      });
      this.link = link;
    } else this.engine.onChange((a) => this.alertChanged(a));
    if (this.role === 'primary') {
      this.hub = new ClusterHub({
        events: (summaries) => {
          const before = this.queue.dropped;
          // A summary carries the fields rules and baselines read, under the events' own names.
          for (const e of summaries) this.queue.push(e as unknown as RampartEvent);
          return this.queue.dropped - before;
        },
        raise: (a) => this.engine.external(a),
        state: () => ({
          desk: this.desk.snapshot(),
          history: this.history.map(({ changedAt, ...alert }) => ({ alert, changedAt })),
          active: this.engine.active(),
        }),
        expose: () => this.metricsText(),
      });
    }
  }

  /** Subscribes to an event bus; returns nothing (stop() detaches). */
  attach(bus: { on(l: (e: RampartEvent) => void): () => void }): void {
    this.detach = bus.on(this.queue.push);
  }

  start(): void {
    this.audit?.start();
    this.outbox.start();
    this.otlp?.start();
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
  }

  /** Re-evaluates time-based rule state (the 1-second ticker calls it; tests call it with a manual clock). */
  tick(): void {
    this.queue.drain();
    if (this.role === 'worker') return;
    this.engine.tick();
    this.anomaly?.tick();
    if (this.hub) {
      // Firing alerts' counts move without a state change: the workers' copies follow.
      const live = new Set<string>();
      for (const a of this.engine.active()) {
        if (a.state !== 'firing') continue;
        live.add(a.fingerprint);
        const now = `${a.value}\u0000${a.summary}`;
        if (this.told.get(a.fingerprint) === now) continue;
        this.told.set(a.fingerprint, now);
        this.hub.update(a.fingerprint, a.value, a.summary);
      }
      for (const fp of this.told.keys()) if (!live.has(fp)) this.told.delete(fp);
    }
  }

  private consume(batch: RampartEvent[]): void {
    const { metrics, engine, audit, feed, anomaly, link } = this;
    // A cluster's primary only evaluates (its workers' summaries); a worker forwards what the
    // primary evaluates and keeps its own metrics, audit log and feed; one process does both.
    const local = this.role !== 'primary';
    for (const e of batch) {
      if (local) metrics.observe(e);
      if (link) link.forward(e);
      else {
        engine.observe(e);
        anomaly?.observe(e);
      }
      if (!local) continue;
      audit?.append(e);
      feed.publish(e.type, e, e);
      this.otlp?.record(e);
    }
  }

  /** What every process does with an alert change: gauge, desk, recent changes, feed. */
  private recordChange(a: Alert, changedAt: number): AlertRecord {
    const labels = [a.rule, a.severity];
    if (a.state === 'firing') this.metrics.alertsFiring.inc(labels);
    if (a.state === 'resolved') this.metrics.alertsFiring.inc(labels, -1);
    this.desk.observe(a);
    if (a.state === 'resolved') this.mirrored.delete(a.fingerprint);
    else this.mirrored.set(a.fingerprint, a);
    const rec: AlertRecord = { ...a, changedAt };
    this.history.push(rec);
    if (this.history.length > 1000) this.history.shift();
    this.feed.publish('alert', rec, undefined, a.labels);
    return rec;
  }

  /** An alert change of this process's rule engine (one process, or the cluster's primary). */
  private alertChanged(a: Alert): void {
    const rec = this.recordChange(a, this.o.clock.now());
    this.hub?.change({ alert: a, changedAt: rec.changedAt });
    if (a.state === 'pending') return;
    this.audit?.append({
      type: 'alert',
      at: rec.changedAt,
      rule: a.rule,
      state: a.state,
      severity: a.severity,
      labels: a.labels,
      summary: a.summary,
    });
    // A silenced alert is still recorded and shown; only its notifications wait (the silence
    // is read from the store: set on any worker, kept across restarts).
    this.desk
      .silenced(a.fingerprint)
      .catch((err: unknown) => {
        this.o.log.warn({ err, rule: a.rule }, 'could not read the alert desk; notifying anyway');
        return false;
      })
      .then((silenced) => (silenced ? undefined : this.outbox.enqueue(a)))
      .catch((err: unknown) =>
        this.o.log.error({ err, rule: a.rule }, 'could not queue an alert notification'),
      );
  }

  private storeHealth(healthy: boolean, detail: string): void {
    const labels = { alertname: 'audit-store-unavailable', severity: 'critical' };
    const now = this.o.clock.now();
    // A worker's store trouble is raised by the primary, once for the cluster.
    (this.link ? (a: Alert) => this.link!.raise(a) : (a: Alert) => this.engine.external(a))({
      fingerprint: 'audit-store-unavailable',
      rule: 'audit-store-unavailable',
      severity: 'critical',
      state: healthy ? 'resolved' : 'firing',
      labels,
      summary: healthy ? 'the audit store accepts writes again' : `the audit store refuses writes: ${detail}`,
      value: healthy ? 0 : 1,
      startsAt: now,
      ...(healthy ? { endsAt: now } : {}),
    });
  }

  /** Active alerts and the recent changes (newest last), optionally since a time. */
  alerts(since = 0): { active: Alert[]; recent: AlertRecord[] } {
    return {
      active: this.link ? [...this.mirrored.values()] : this.engine.active(),
      recent: this.history.filter((h) => h.changedAt >= since),
    };
  }

  /** In a cluster worker: this worker's forwarding counts and the primary's view of all workers. */
  async clusterStatus(): Promise<
    { worker: number; forwarded: number; dropped: number; primary: ClusterStatus | null } | undefined
  > {
    const c = this.o.cluster;
    if (!this.link || c?.role !== 'worker') return undefined;
    this.queue.drain();
    this.link.flush();
    return {
      worker: c.worker,
      forwarded: this.link.sent,
      dropped: this.link.dropped,
      primary: (await this.link.status()) ?? null,
    };
  }

  /**
   * What `/metrics` serves: this process's exposition, or in a cluster worker the whole
   * cluster's (merged by the primary; this worker's alone when the primary does not answer).
   */
  async exposition(): Promise<string> {
    this.queue.drain();
    if (!this.link) return this.metricsText();
    this.link.flush();
    return (await this.link.metrics()) ?? this.metricsText();
  }

  /** This process's Prometheus exposition text. */
  metricsText(): string {
    const m = this.metrics;
    m.dropped.setTotal(['queue'], this.queue.dropped);
    m.dropped.setTotal(['audit'], this.audit?.dropped ?? 0);
    m.dropped.setTotal(['feed'], this.feed.dropped);
    m.dropped.setTotal(['rules'], this.engine.overflow);
    if (this.link) m.dropped.setTotal(['cluster'], this.link.dropped);
    m.auditWritten.setTotal([], this.audit?.written ?? 0);
    return m.registry.render();
  }

  /** Stops taking events, hands over what is queued and flushes the audit log. */
  async stop(): Promise<void> {
    this.detach?.();
    clearInterval(this.ticker);
    this.queue.drain();
    this.link?.close();
    await this.audit?.close();
    await this.outbox.stop();
    await this.otlp?.stop(); // the last metrics and events
    this.feed.close();
  }
}
