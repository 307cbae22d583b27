import type { RampartEvent } from '../core/events.ts';
import { categoryOf } from './categories.ts';
import { routeOf, statusClass } from './rules/fields.ts';
import { Registry, type Counter, type Gauge, type Histogram, type HistogramSeries } from './metrics.ts';

/** OpenTelemetry's recommended boundaries for http.server.request.duration (seconds). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Body-size boundaries in bytes (powers of four from 64 B to 16 MiB). */
export const SIZE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];

/**
 * Every metric `/metrics` shows, fed from the event stream off the request path.
 * Labels are bounded: route templates (never raw paths), status classes, policy
 * names, OWASP categories and reason codes; never a user id, address or raw path.
 */
interface RequestSeries {
  duration: HistogramSeries;
  ttfb: HistogramSeries;
  reqSize: HistogramSeries;
  resSize: HistogramSeries;
}

const CLASS_INDEX = (status: number): number => {
  const i = Math.floor(status / 100);
  return i >= 1 && i <= 5 ? i : 0;
};

export class MonitorMetrics {
  /** route → method → status class index → the four series: no label array or key string per event. */
  private readonly requestSeries = new Map<string, Map<string, (RequestSeries | undefined)[]>>();
  readonly registry = new Registry();
  private readonly duration: Histogram;
  private readonly ttfb: Histogram;
  private readonly reqSize: Histogram;
  private readonly resSize: Histogram;
  private readonly authFailures: Counter;
  private readonly authSuccesses: Counter;
  private readonly denials: Counter;
  private readonly rateLimited: Counter;
  private readonly shadow: Counter;
  private readonly validation: Counter;
  private readonly upstream: Counter;
  private readonly deprecated: Counter;
  private readonly mfa: Counter;
  private readonly reloads: Counter;
  private readonly findings: Counter;
  readonly certExpiry: Gauge;
  readonly dropped: Counter;
  readonly alertsFiring: Gauge;
  readonly notifications: Counter;
  readonly auditWritten: Counter;

  constructor() {
    const r = this.registry;
    const http = ['http_request_method', 'http_route', 'http_response_status_class'];
    this.duration = r.histogram(
      'http_server_request_duration_seconds',
      'Duration of HTTP server requests through the gateway, to the last byte of the response.',
      http,
      DURATION_BUCKETS,
    );
    this.ttfb = r.histogram(
      'rampart_http_server_time_to_first_byte_seconds',
      'Time from the request to the response head.',
      http,
      DURATION_BUCKETS,
    );
    this.reqSize = r.histogram(
      'http_server_request_body_size_bytes',
      'Size of HTTP server request bodies.',
      ['http_request_method', 'http_route'],
      SIZE_BUCKETS,
    );
    this.resSize = r.histogram(
      'http_server_response_body_size_bytes',
      'Size of HTTP server response bodies.',
      ['http_request_method', 'http_route'],
      SIZE_BUCKETS,
    );
    this.authFailures = r.counter(
      'rampart_auth_failures_total',
      'Failed authentications by action (login, otp, refresh, …) and reason.',
      ['action', 'reason'],
    );
    this.authSuccesses = r.counter('rampart_auth_successes_total', 'Successful authentications by action.', [
      'action',
    ]);
    this.mfa = r.counter('rampart_mfa_events_total', 'MFA failures and step-up demands.', ['outcome']);
    this.denials = r.counter(
      'rampart_policy_denials_total',
      'Requests a gateway policy denied, by policy and OWASP API Top 10 2023 category.',
      ['policy', 'category'],
    );
    this.rateLimited = r.counter('rampart_rate_limited_total', 'Requests answered 429 by a limit.', [
      'policy',
    ]);
    this.shadow = r.counter(
      'rampart_shadow_endpoint_probes_total',
      'Requests to undocumented paths or undeclared methods (OWASP API9).',
      ['reason'],
    );
    this.validation = r.counter(
      'rampart_validation_failures_total',
      'Requests or responses that broke the OpenAPI contract.',
      ['direction'],
    );
    this.upstream = r.counter('rampart_upstream_errors_total', 'Upstream failures by API and reason.', [
      'api',
      'reason',
    ]);
    this.deprecated = r.counter(
      'rampart_deprecated_version_requests_total',
      'Requests to deprecated API versions.',
      ['api', 'version'],
    );
    this.reloads = r.counter('rampart_config_reloads_total', 'Configuration reloads by outcome.', [
      'outcome',
    ]);
    this.findings = r.counter('rampart_scan_findings_total', 'Scanner findings by severity.', ['severity']);
    this.certExpiry = r.gauge(
      'rampart_certificate_expiry_timestamp_seconds',
      'When the TLS certificate stops being valid (Unix seconds).',
      ['subject'],
    );
    this.dropped = r.counter(
      'rampart_monitor_events_dropped_total',
      'Events the monitor dropped: queue full, audit store unavailable, slow live-feed client.',
      ['stage'],
    );
    this.alertsFiring = r.gauge('rampart_alerts_firing', 'Alert instances currently firing.', [
      'rule',
      'severity',
    ]);
    this.notifications = r.counter(
      'rampart_alert_notifications_total',
      'Alert notification deliveries by notifier and outcome.',
      ['notifier', 'outcome'],
    );
    this.auditWritten = r.counter('rampart_audit_log_records_total', 'Records committed to the audit log.');
  }

  private seriesOf(method: string, route: string, status: number): RequestSeries {
    let byMethod = this.requestSeries.get(route);
    if (!byMethod) this.requestSeries.set(route, (byMethod = new Map()));
    let byClass = byMethod.get(method);
    if (!byClass) byMethod.set(method, (byClass = []));
    const i = CLASS_INDEX(status);
    let s = byClass[i];
    if (!s) {
      const labels = [method, route, statusClass(status)];
      const l2 = [method, route];
      s = {
        duration: this.duration.seriesFor(labels),
        ttfb: this.ttfb.seriesFor(labels),
        reqSize: this.reqSize.seriesFor(l2),
        resSize: this.resSize.seriesFor(l2),
      };
      // Bounded like the series themselves: past the bound everything lands in "other".
      if (this.requestSeries.size < 4000) byClass[i] = s;
    }
    return s;
  }

  observe(e: RampartEvent): void {
    switch (e.type) {
      case 'request': {
        const s = this.seriesOf(e.method, routeOf(e)!, e.status);
        this.duration.observeInto(s.duration, e.durationMs / 1000);
        if (e.ttfbMs !== undefined) this.ttfb.observeInto(s.ttfb, e.ttfbMs / 1000);
        if (e.bytesIn !== undefined) this.reqSize.observeInto(s.reqSize, e.bytesIn);
        if (e.bytesOut !== undefined) this.resSize.observeInto(s.resSize, e.bytesOut);
        return;
      }
      case 'auth':
        if (e.outcome === 'success') this.authSuccesses.inc([e.action]);
        else if (e.action !== 'logout') this.authFailures.inc([e.action, e.reason ?? e.outcome]);
        return;
      case 'mfa':
        this.mfa.inc([e.outcome]);
        return;
      case 'denied':
        this.denials.inc([e.policy, categoryOf(e.policy, e.owasp)]);
        return;
      case 'rate-limited':
        this.rateLimited.inc([e.policy]);
        return;
      case 'shadow-endpoint':
        this.shadow.inc([e.reason]);
        return;
      case 'validation-failed':
        this.validation.inc([e.direction]);
        return;
      case 'upstream-error':
        this.upstream.inc([e.api, e.reason]);
        return;
      case 'deprecated-version-used':
        this.deprecated.inc([e.api, e.version]);
        return;
      case 'config-reload':
        this.reloads.inc([e.outcome]);
        return;
      case 'scan-finding':
        this.findings.inc([e.severity]);
        return;
      case 'cert-expiry': {
        const t = Date.parse(e.notAfter);
        if (Number.isFinite(t)) this.certExpiry.set([e.subject], Math.floor(t / 1000));
        return;
      }
      default:
        return;
    }
  }
}
