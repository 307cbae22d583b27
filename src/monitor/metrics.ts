/**
 * A small Prometheus registry (text exposition format 0.0.4) with bounded label
 * cardinality: each metric keeps at most `maxSeries` label sets; further ones are
 * folded into one series whose labels all read `other` (and counted in
 * `rampart_metrics_series_overflow_total`). Names follow Prometheus conventions
 * (base units, counters end in `_total`) and, for HTTP, the OpenTelemetry semantic
 * conventions (`http.server.request.duration` → `http_server_request_duration_seconds`).
 */

type Labels = readonly string[];

/** OTLP/JSON shapes (opentelemetry-proto metrics/v1, common/v1; int64 as decimal strings). */
export interface OtlpKeyValue {
  key: string;
  value: { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
}
export type OtlpMetric = { name: string; description: string; unit?: string } & Record<string, unknown>;
/** AGGREGATION_TEMPORALITY_CUMULATIVE: every export carries the totals since the process started. */
const CUMULATIVE = 2;

const OTHER = 'other';

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function fmt(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}

abstract class Metric<S> {
  protected readonly series = new Map<string, { labels: string[]; value: S }>();
  overflowed = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: Labels,
    protected readonly maxSeries: number,
  ) {}
  protected abstract fresh(): S;
  /** The series for these label values (created on first use, folded when over the bound). */
  protected at(values: readonly string[]): S {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    let s = this.series.get(key);
    if (s) return s.value;
    if (this.series.size >= this.maxSeries) {
      this.overflowed++;
      const okey = this.labelNames.map(() => OTHER).join('\u0000');
      s = this.series.get(okey);
      if (s) return s.value;
      s = { labels: this.labelNames.map(() => OTHER), value: this.fresh() };
      this.series.set(okey, s);
      return s.value;
    }
    s = { labels: [...values], value: this.fresh() };
    this.series.set(key, s);
    return s.value;
  }
  protected labelText(labels: readonly string[], extra?: string): string {
    const parts = labels.map((v, i) => `${this.labelNames[i]}="${escapeLabel(v)}"`);
    if (extra) parts.push(extra);
    return parts.length ? `{${parts.join(',')}}` : '';
  }
  abstract readonly kind: 'counter' | 'gauge' | 'histogram';
  abstract render(out: string[]): void;
  /** This metric as an OTLP `Metric` (protobuf JSON mapping), cumulative since `startNs`. */
  abstract otlp(startNs: string, nowNs: string): OtlpMetric;
  protected attributes(labels: readonly string[]): OtlpKeyValue[] {
    return labels.map((v, i) => ({ key: this.labelNames[i]!, value: { stringValue: v } }));
  }
  protected header(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`);
  }
}

/** One number per series (counters and gauges): the same series and exposition line. */
abstract class ScalarMetric extends Metric<{ v: number }> {
  protected fresh(): { v: number } {
    return { v: 0 };
  }
  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values())
      out.push(`${this.name}${this.labelText(s.labels)} ${fmt(s.value.v)}`);
  }
}

export class Counter extends ScalarMetric {
  readonly kind = 'counter';
  inc(values: readonly string[] = [], by = 1): void {
    this.at(values).v += by;
  }
  /** Mirrors a total kept elsewhere (a drop counter of another component). */
  setTotal(values: readonly string[], total: number): void {
    this.at(values).v = total;
  }
  get(values: readonly string[] = []): number {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    return this.series.get(key)?.value.v ?? 0;
  }
  otlp(startNs: string, nowNs: string): OtlpMetric {
    return {
      name: this.name,
      description: this.help,
      sum: {
        aggregationTemporality: CUMULATIVE,
        isMonotonic: true,
        dataPoints: [...this.series.values()].map((x) => ({
          attributes: this.attributes(x.labels),
          startTimeUnixNano: startNs,
          timeUnixNano: nowNs,
          asDouble: x.value.v,
        })),
      },
    };
  }
}

export class Gauge extends ScalarMetric {
  readonly kind = 'gauge';
  set(values: readonly string[], v: number): void {
    this.at(values).v = v;
  }
  inc(values: readonly string[] = [], by = 1): void {
    this.at(values).v += by;
  }
  /** Removes a series (an alert that resolved). */
  delete(values: readonly string[]): void {
    this.series.delete(values.length === 1 ? values[0]! : values.join('\u0000'));
  }
  otlp(_startNs: string, nowNs: string): OtlpMetric {
    return {
      name: this.name,
      description: this.help,
      gauge: {
        dataPoints: [...this.series.values()].map((x) => ({
          attributes: this.attributes(x.labels),
          timeUnixNano: nowNs,
          asDouble: x.value.v,
        })),
      },
    };
  }
}

export interface HistogramSeries {
  counts: Float64Array;
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramSeries> {
  readonly kind = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: Labels,
    maxSeries: number,
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames, maxSeries);
  }
  protected fresh(): HistogramSeries {
    return { counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
  }
  /** The series of these label values, to observe into without a lookup (hot callers cache it). */
  seriesFor(values: readonly string[]): HistogramSeries {
    return this.at(values);
  }
  observe(values: readonly string[], v: number): void {
    this.observeInto(this.at(values), v);
  }
  observeInto(s: HistogramSeries, v: number): void {
    const b = this.buckets;
    // Non-cumulative per bucket here; rendered cumulatively.
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    if (i < b.length) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }
  otlp(startNs: string, nowNs: string): OtlpMetric {
    return {
      name: this.name,
      description: this.help,
      unit: this.name.endsWith('_seconds') ? 's' : '1',
      histogram: {
        aggregationTemporality: CUMULATIVE,
        dataPoints: [...this.series.values()].map((x) => {
          const inBounds = x.value.counts.reduce((a, b) => a + b, 0);
          return {
            attributes: this.attributes(x.labels),
            startTimeUnixNano: startNs,
            timeUnixNano: nowNs,
            count: String(x.value.count),
            sum: x.value.sum,
            // One count per bucket, the last one above every bound (length = bounds + 1).
            bucketCounts: [...Array.from(x.value.counts, String), String(x.value.count - inBounds)],
            explicitBounds: [...this.buckets],
          };
        }),
      },
    };
  }
  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.value.counts[i]!;
        out.push(`${this.name}_bucket${this.labelText(s.labels, `le="${fmt(this.buckets[i]!)}"`)} ${acc}`);
      }
      out.push(`${this.name}_bucket${this.labelText(s.labels, 'le="+Inf"')} ${s.value.count}`);
      out.push(`${this.name}_sum${this.labelText(s.labels)} ${fmt(s.value.sum)}`);
      out.push(`${this.name}_count${this.labelText(s.labels)} ${s.value.count}`);
    }
  }
}

export class Registry {
  private readonly metrics: Metric<unknown>[] = [];
  constructor(private readonly maxSeries = 2000) {}
  counter(name: string, help: string, labels: Labels = []): Counter {
    return this.add(new Counter(name, help, labels, this.maxSeries));
  }
  gauge(name: string, help: string, labels: Labels = []): Gauge {
    return this.add(new Gauge(name, help, labels, this.maxSeries));
  }
  histogram(name: string, help: string, labels: Labels, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labels, this.maxSeries, buckets));
  }
  private add<
    M extends { render(out: string[]): void; otlp(s: string, n: string): OtlpMetric; overflowed: number },
  >(m: M): M {
    this.metrics.push(m as unknown as Metric<unknown>);
    return m;
  }
  /** Series folded into `other` across all metrics. */
  get overflowed(): number {
    let n = 0;
    for (const m of this.metrics) n += m.overflowed;
    return n;
  }
  /** Every metric as OTLP metrics, cumulative since `startNs` (nanoseconds as decimal strings). */
  otlp(startNs: string, nowNs: string): OtlpMetric[] {
    return this.metrics.map((m) => m.otlp(startNs, nowNs));
  }
  /** The exposition text (`text/plain; version=0.0.4`). */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) m.render(out);
    out.push(
      '# HELP rampart_metrics_series_overflow_total Label sets folded into "other" because a metric reached its series bound.',
      '# TYPE rampart_metrics_series_overflow_total counter',
      `rampart_metrics_series_overflow_total ${this.overflowed}`,
    );
    return out.join('\n') + '\n';
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * One exposition from several (the workers of a cluster and its primary): the families in
 * the order first seen, each with its HELP and TYPE once; a series present in several texts
 * is summed when the family is a counter or a histogram (each process counted its own
 * share) and takes the largest value when it is a gauge (what every process reports alike,
 * e.g. a certificate's expiry). Sample lines are `name{labels} value` as {@link Registry}
 * renders them.
 */
export function mergeExpositions(texts: readonly string[]): string {
  interface Family {
    head: string[];
    type: string;
    samples: Map<string, number>;
  }
  const families = new Map<string, Family>();
  const familyOf = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { head: [], type: 'untyped', samples: new Map() }));
    return f;
  };
  for (const text of texts) {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (meta) {
        const f = familyOf(meta[2]!);
        if (!f.head.some((h) => h.startsWith(`# ${meta[1]} `))) f.head.push(line);
        if (meta[1] === 'TYPE') f.type = meta[3] ?? 'untyped';
        current = f;
        continue;
      }
      const space = line.lastIndexOf(' ');
      if (space < 0 || !current) continue;
      const key = line.slice(0, space);
      const raw = line.slice(space + 1);
      const v = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
      const had = current.samples.get(key);
      current.samples.set(key, had === undefined ? v : current.type === 'gauge' ? Math.max(had, v) : had + v);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    out.push(...f.head);
    for (const [key, v] of f.samples) out.push(`${key} ${fmt(v)}`);
  }
  return out.join('\n') + '\n';
}
