/**
 * OTLP/HTTP export with the JSON encoding (OpenTelemetry protocol 1.x, protobuf JSON mapping:
 * int64 as decimal strings, enums as numbers, lowerCamelCase field names). Every
 * `intervalMs` (and at stop) the exporter POSTs the metrics registry, cumulative since the
 * process started, to `<endpoint>/v1/metrics` as an `ExportMetricsServiceRequest`, and the
 * security events buffered since the last export to `<endpoint>/v1/logs` as an
 * `ExportLogsServiceRequest` (one log record per event: body = the event JSON, attributes =
 * its type, decision and the fields the audit log indexes). Nothing of this runs on the request
 * path: events are appended to a bounded buffer (over `maxBuffered`, counted as dropped); an
 * export is one background request with a deadline; a failed export keeps its events for the
 * next one (still bounded) and is counted.
 */
import { hostname } from 'node:os';
import { request } from 'undici';
import type { RampartEvent } from '../core/events.ts';
import type { OtlpKeyValue, Registry } from './metrics.ts';

export interface OtlpOptions {
  /** Base URL of an OTLP/HTTP receiver (a collector), e.g. http://127.0.0.1:4318. */
  endpoint: string;
  intervalMs: number;
  timeoutMs: number;
  /** Extra request headers (e.g. an authorization header for a hosted collector). */
  headers: Record<string, string>;
  /** Export events as log records too (default true). */
  events: boolean;
  maxBuffered: number;
  serviceName: string;
}

const SCOPE = { name: 'rampart', version: '0.1.0' };

/** SeverityNumber (logs data model): INFO 9, WARN 13, ERROR 17. */
function severity(e: RampartEvent): { severityNumber: number; severityText: string } {
  const d = (e as { decision?: string }).decision;
  if (e.type === 'upstream-error') return { severityNumber: 17, severityText: 'ERROR' };
  if (d === 'deny' || e.type === 'denied' || e.type === 'rate-limited' || e.type === 'shadow-endpoint')
    return { severityNumber: 13, severityText: 'WARN' };
  return { severityNumber: 9, severityText: 'INFO' };
}

const attr = (key: string, v: unknown): OtlpKeyValue | undefined =>
  typeof v === 'string'
    ? { key, value: { stringValue: v } }
    : typeof v === 'number' && Number.isFinite(v)
      ? Number.isInteger(v)
        ? { key, value: { intValue: String(v) } }
        : { key, value: { doubleValue: v } }
      : typeof v === 'boolean'
        ? { key, value: { boolValue: v } }
        : undefined;

const ms = (t: number): string => (BigInt(Math.round(t)) * 1_000_000n).toString();

export function resource(serviceName: string): { attributes: OtlpKeyValue[] } {
  return {
    attributes: [
      { key: 'service.name', value: { stringValue: serviceName } },
      // One process, one set of cumulative streams: each worker of a --workers cluster (and its
      // primary, which exports the alert metrics) is an instance of its own.
      { key: 'service.instance.id', value: { stringValue: `${hostname()}:${process.pid}` } },
      { key: 'telemetry.sdk.name', value: { stringValue: 'rampart' } },
      { key: 'telemetry.sdk.language', value: { stringValue: 'nodejs' } },
    ],
  };
}

/** An `ExportMetricsServiceRequest` of the registry, cumulative from `startMs` to `nowMs`. */
export function metricsRequest(registry: Registry, serviceName: string, startMs: number, nowMs: number) {
  return {
    resourceMetrics: [
      {
        resource: resource(serviceName),
        scopeMetrics: [{ scope: SCOPE, metrics: registry.otlp(ms(startMs), ms(nowMs)) }],
      },
    ],
  };
}

/** An `ExportLogsServiceRequest` of security events (one record each). */
export function logsRequest(events: readonly RampartEvent[], serviceName: string, nowMs: number) {
  return {
    resourceLogs: [
      {
        resource: resource(serviceName),
        scopeLogs: [
          {
            scope: SCOPE,
            logRecords: events.map((e) => {
              const fields = e as unknown as Record<string, unknown>;
              const attributes = [
                attr('event.name', `rampart.${e.type}`),
                ...[
                  'route',
                  'method',
                  'status',
                  'ip',
                  'principal',
                  'policy',
                  'category',
                  'reason',
                  'action',
                  'outcome',
                ].map((k) => attr(`rampart.${k}`, fields[k])),
              ].filter((a): a is OtlpKeyValue => a !== undefined);
              return {
                timeUnixNano: ms(e.at),
                observedTimeUnixNano: ms(nowMs),
                ...severity(e),
                body: { stringValue: JSON.stringify(e) },
                attributes,
              };
            }),
          },
        ],
      },
    ],
  };
}

export class OtlpExporter {
  private buffer: RampartEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly startedAt: number;
  dropped = 0;
  failures = 0;
  exports = 0;

  constructor(
    private readonly o: OtlpOptions,
    private readonly registry: Registry,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
  }

  /** Called per event by the monitor's consumer (off the request path): O(1), bounded. */
  record(e: RampartEvent): void {
    if (!this.o.events) return;
    if (this.buffer.length >= this.o.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.push(e);
  }

  start(): void {
    this.timer = setInterval(() => void this.export(), this.o.intervalMs);
    this.timer.unref();
  }

  /** One export of metrics and buffered events; concurrent calls share the run. */
  export(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const now = this.now();
    const events = this.buffer;
    this.buffer = [];
    const base = this.o.endpoint.replace(/\/+$/, '');
    try {
      if (events.length) await this.post(`${base}/v1/logs`, logsRequest(events, this.o.serviceName, now));
    } catch {
      this.failures++;
      // Kept for the next export, within the bound.
      this.buffer = events.slice(0, this.o.maxBuffered).concat(this.buffer).slice(0, this.o.maxBuffered);
    }
    try {
      await this.post(
        `${base}/v1/metrics`,
        metricsRequest(this.registry, this.o.serviceName, this.startedAt, now),
      );
      this.exports++;
    } catch {
      this.failures++;
    }
  }

  private async post(url: string, body: unknown): Promise<void> {
    const r = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.o.headers },
      body: JSON.stringify(body),
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
    });
    await r.body.text();
    if (r.statusCode < 200 || r.statusCode >= 300) throw new Error(`OTLP receiver answered ${r.statusCode}`);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.export();
  }
}
