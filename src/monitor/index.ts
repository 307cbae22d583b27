import type { Clock } from '../core/clock.ts';
import type { Resolve } from '../core/ssrf.ts';
import type { RampartEvent } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/index.ts';
import { AuditLog } from './audit-log.ts';
import type { MonitorConfig, NotifierConfig } from './config.ts';
import { LiveFeed } from './feed.ts';
import { AlertmanagerNotifier } from './notifiers/alertmanager.ts';
import { EmailNotifier } from './notifiers/email.ts';
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
export { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
export { LiveFeed } from './feed.ts';

export interface MonitorOptions {
  config: MonitorConfig;
  db: Db;
  clock: Clock;
  log: Logger;
  /** Base URL receivers link to (Alertmanager generatorURL). */
  externalUrl?: string;
}

/** An alert change as the admin API lists it. */
export interface AlertRecord extends Alert {
  changedAt: number;
}

/**
 * One notifier from its config. HTTP receivers go through the SSRF guard (public addresses
 * only, pinned at connect time) unless configured with `allowPrivate`; `resolve` is the
 * guard's DNS (tests play hostile answers).
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
  const egress = () => (c.type !== 'email' && c.allowPrivate ? undefined : receiverEgress(resolve));
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
    case 'email':
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
        },
        now,
      );
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
  private readonly history: AlertRecord[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private detach: (() => void) | undefined;

  constructor(private readonly o: MonitorOptions) {
    const c = o.config;
    const now = () => o.clock.now();
    this.desk = new AlertDesk(now, o.db);
    this.queue = new EventQueue(c.queueSize, (batch) => this.consume(batch));
    this.engine = new RuleEngine(effectiveRules(c.rules, c.defaultRules), now);
    this.anomaly = c.anomaly.enabled
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
      c.notifiers.map((n) => buildNotifier(n, o.clock, externalUrl)),
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
    this.engine.onChange((a) => this.alertChanged(a));
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
    this.engine.tick();
    this.anomaly?.tick();
  }

  private consume(batch: RampartEvent[]): void {
    const { metrics, engine, audit, feed, anomaly } = this;
    for (const e of batch) {
      metrics.observe(e);
      engine.observe(e);
      anomaly?.observe(e);
      audit?.append(e);
      feed.publish(e.type, e, e);
      this.otlp?.record(e);
    }
  }

  private alertChanged(a: Alert): void {
    const labels = [a.rule, a.severity];
    if (a.state === 'firing') this.metrics.alertsFiring.inc(labels);
    if (a.state === 'resolved') this.metrics.alertsFiring.inc(labels, -1);
    this.desk.observe(a);
    const rec: AlertRecord = { ...a, changedAt: this.o.clock.now() };
    this.history.push(rec);
    if (this.history.length > 1000) this.history.shift();
    this.feed.publish('alert', rec, undefined, a.labels);
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
    this.engine.external({
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
    return { active: this.engine.active(), recent: this.history.filter((h) => h.changedAt >= since) };
  }

  /** The Prometheus exposition text. */
  metricsText(): string {
    const m = this.metrics;
    m.dropped.setTotal(['queue'], this.queue.dropped);
    m.dropped.setTotal(['audit'], this.audit?.dropped ?? 0);
    m.dropped.setTotal(['feed'], this.feed.dropped);
    m.dropped.setTotal(['rules'], this.engine.overflow);
    m.auditWritten.setTotal([], this.audit?.written ?? 0);
    return m.registry.render();
  }

  /** Stops taking events, hands over what is queued and flushes the audit log. */
  async stop(): Promise<void> {
    this.detach?.();
    clearInterval(this.ticker);
    this.queue.drain();
    await this.audit?.close();
    await this.outbox.stop();
    await this.otlp?.stop(); // the last metrics and events
    this.feed.close();
  }
}
