import type { RampartEvent } from '../core/events.ts';
import type { Alert } from './rules/engine.ts';
import { routeOf } from './rules/fields.ts';

/**
 * Anomaly detection on per-minute statistics of each route and each consumer:
 * request rate, 5xx ratio, mean latency and mean response size.
 *
 * Method (docs/monitoring.md): for every key, metric and hour of day, an exponentially
 * weighted moving average `m` and an EWMA of the absolute deviation `d` (a robust
 * spread: unlike a variance, one outlier moves it linearly, not quadratically). A
 * finished minute with value x scores z = (x − m) / max(1.2533·d, floor), where
 * 1.2533·d estimates σ for normal data and the floor keeps quiet series from alerting
 * on tiny absolute changes. Until an hour-of-day slot has 30 minutes of history the
 * key's all-day baseline is used. A key alerts only after `warmupMs` of history, when
 * z ≥ `score` (upward only: more traffic, errors, latency or bytes than usual); the
 * alert says which baseline, what was observed, the score and the window. Anomalous
 * minutes update the baseline at a tenth of the weight, so an attack does not become
 * normal within minutes.
 */

const ALPHA = 0.05;
const MINUTE = 60_000;
const METRICS = ['rate', 'errorRatio', 'latencyMs', 'sizeBytes'] as const;
type MetricName = (typeof METRICS)[number];

/** Floors of the spread per metric (absolute + relative to the mean). */
const FLOOR: Record<MetricName, (m: number) => number> = {
  rate: (m) => Math.max(3, 0.25 * m),
  errorRatio: () => 0.05,
  latencyMs: (m) => Math.max(20, 0.25 * m),
  sizeBytes: (m) => Math.max(512, 0.25 * m),
};

class Ewma {
  m = 0;
  d = 0;
  n = 0;
  update(x: number, alpha: number): void {
    if (this.n === 0) {
      this.m = x;
      this.d = 0;
    } else {
      this.d = (1 - alpha) * this.d + alpha * Math.abs(x - this.m);
      this.m = (1 - alpha) * this.m + alpha * x;
    }
    this.n++;
  }
}

interface Minute {
  count: number;
  errors: number;
  latency: number;
  bytes: number;
  sized: number;
}

interface Series {
  key: string;
  labels: Record<string, string>;
  firstAt: number;
  /** Whether minutes without traffic count as a zero rate (routes yes, consumers no). */
  zeroFill: boolean;
  minute: number;
  cur: Minute;
  all: Record<MetricName, Ewma>;
  hourly: Record<MetricName, Ewma>[];
  firing: Set<MetricName>;
}

const fresh = (): Minute => ({ count: 0, errors: 0, latency: 0, bytes: 0, sized: 0 });
const ewmas = (): Record<MetricName, Ewma> => ({
  rate: new Ewma(),
  errorRatio: new Ewma(),
  latencyMs: new Ewma(),
  sizeBytes: new Ewma(),
});

export interface AnomalyOptions {
  warmupMs: number;
  score: number;
  /** Consumers tracked at most (LRU). */
  maxConsumers?: number;
}

export class AnomalyDetector {
  private readonly series = new Map<string, Series>();
  private readonly listeners = new Set<(a: Alert) => void>();
  /** Minutes scored (after warm-up) and minutes that alerted: the false-alarm rate's parts. */
  scored = 0;
  alerted = 0;

  constructor(
    private readonly o: AnomalyOptions,
    private readonly now: () => number,
  ) {}

  onAlert(l: (a: Alert) => void): void {
    this.listeners.add(l);
  }

  observe(e: RampartEvent): void {
    if (e.type !== 'request' || e.route === '(unmatched)') return;
    const now = this.now();
    const route = routeOf(e)!;
    this.add(route, { route }, true, e, now);
    const consumer = e.principal ?? e.apiKeyId;
    // Route keys start with '/', consumer keys with '@': one map, no clash.
    if (consumer !== undefined) this.add('@' + consumer, { consumer }, false, e, now);
  }

  private add(
    key: string,
    labels: Record<string, string>,
    zeroFill: boolean,
    e: Extract<RampartEvent, { type: 'request' }>,
    now: number,
  ): void {
    let s = this.series.get(key);
    const minute = Math.floor(now / MINUTE);
    if (!s) {
      if (!zeroFill && this.consumers() >= (this.o.maxConsumers ?? 10_000)) this.evictConsumer();
      s = {
        key,
        labels,
        firstAt: now,
        zeroFill,
        minute,
        cur: fresh(),
        all: ewmas(),
        hourly: Array.from({ length: 24 }, ewmas),
        firing: new Set(),
      };
      this.series.set(key, s);
      if (!zeroFill) this.consumerCount++;
    } else if (!zeroFill) {
      this.series.delete(key);
      this.series.set(key, s);
    }
    this.roll(s, minute);
    const c = s.cur;
    c.count++;
    if (e.status >= 500) c.errors++;
    c.latency += e.durationMs;
    if (e.bytesOut !== undefined) {
      c.bytes += e.bytesOut;
      c.sized++;
    }
  }

  private consumerCount = 0;

  private consumers(): number {
    return this.consumerCount;
  }

  private evictConsumer(): void {
    for (const [k, s] of this.series) {
      if (!s.zeroFill && s.firing.size === 0) {
        this.series.delete(k);
        this.consumerCount--;
        return;
      }
    }
  }

  /** Finishes every minute that has passed (call about once a second). */
  tick(): void {
    const minute = Math.floor(this.now() / MINUTE);
    for (const s of this.series.values()) this.roll(s, minute);
  }

  private roll(s: Series, minute: number): void {
    if (minute <= s.minute) return;
    // The minute that ended, then (for routes) the empty minutes in between, at most an hour.
    this.finish(s, s.minute, s.cur);
    if (s.zeroFill)
      for (let m = s.minute + 1; m < minute && m < s.minute + 60; m++) this.finish(s, m, fresh());
    s.minute = minute;
    s.cur = fresh();
  }

  private finish(s: Series, minute: number, c: Minute): void {
    if (!s.zeroFill && c.count === 0) return;
    const at = minute * MINUTE;
    const hour = new Date(at).getUTCHours();
    const values: Partial<Record<MetricName, number>> = { rate: c.count };
    if (c.count > 0) {
      values.errorRatio = c.errors / c.count;
      values.latencyMs = c.latency / c.count;
    }
    if (c.sized > 0) values.sizeBytes = c.bytes / c.sized;
    const warm = at - s.firstAt >= this.o.warmupMs;
    for (const metric of METRICS) {
      const x = values[metric];
      const slot = s.hourly[hour]![metric];
      const all = s.all[metric];
      if (x === undefined) continue;
      // Error ratio, latency and size need some traffic to mean anything.
      const enough = metric === 'rate' || c.count >= 20;
      const base = slot.n >= 30 ? slot : all;
      let anomalous = false;
      if (warm && enough && base.n >= 30) {
        const spread = Math.max(1.2533 * base.d, FLOOR[metric](base.m));
        const z = (x - base.m) / spread;
        this.scored++;
        anomalous = z >= this.o.score;
        if (anomalous) {
          this.alerted++;
          if (!s.firing.has(metric)) {
            s.firing.add(metric);
            this.emit(s, metric, 'firing', at, {
              metric,
              observed: round(x),
              baseline: round(base.m),
              deviation: round(1.2533 * base.d),
              score: round(z),
              window: '1m',
              hourOfDay: slot.n >= 30 ? hour : 'all',
            });
          }
        } else if (s.firing.has(metric)) {
          s.firing.delete(metric);
          this.emit(s, metric, 'resolved', at, {
            metric,
            observed: round(x),
            baseline: round(base.m),
            score: round(z),
          });
        }
      }
      const alpha = anomalous ? ALPHA / 10 : ALPHA;
      if (enough) {
        slot.update(x, alpha);
        all.update(x, alpha);
      }
    }
  }

  private emit(
    s: Series,
    metric: MetricName,
    state: 'firing' | 'resolved',
    at: number,
    explanation: Record<string, unknown>,
  ): void {
    const labels = { alertname: 'anomaly', severity: 'warning', metric, ...s.labels };
    const who = s.labels.route ? `route ${s.labels.route}` : `consumer ${s.labels.consumer}`;
    const a: Alert = {
      fingerprint: `anomaly-${metric}-${s.key}`.slice(0, 200),
      rule: 'anomaly',
      severity: 'warning',
      state,
      labels,
      summary:
        state === 'firing'
          ? `${who}: ${metric} ${explanation.observed} vs baseline ${explanation.baseline} (score ${explanation.score})`
          : `${who}: ${metric} back to normal`,
      value: explanation.observed as number,
      startsAt: at,
      ...(state === 'resolved' ? { endsAt: at + MINUTE } : {}),
      explanation,
    };
    for (const l of this.listeners) l(a);
  }
}

const round = (x: number): number => Math.round(x * 100) / 100;
