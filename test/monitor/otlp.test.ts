/**
 * OTLP/HTTP JSON export, end to end: the monitoring stack (gateway, identity, monitor) with
 * `monitor.otlp` pointed at a real HTTP receiver in this test; requests through the gateway;
 * at stop (and every interval) the receiver gets `POST /v1/metrics` and `POST /v1/logs` whose
 * payloads have the OTLP protobuf-JSON shape: resource with service.name, scope, cumulative
 * sums and histograms (int64 as strings, bucketCounts = bounds + 1), log records per event.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/gateway.ts';
import { startMonitorStack, type MonitorStack } from '../helpers/monitor.ts';

interface Seen {
  path: string;
  type: string | undefined;
  auth: string | undefined;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
/* eslint-disable @typescript-eslint/no-explicit-any -- OTLP JSON read back as parsed */
const seen: Seen[] = [];
let rx: http.Server;
let s: MonitorStack;

beforeAll(async () => {
  rx = http.createServer((req, res) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (b += c));
    req.on('end', () => {
      seen.push({
        path: req.url ?? '',
        type: req.headers['content-type'],
        auth: req.headers.authorization,
        body: JSON.parse(b),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(rx.address() as AddressInfo).port}`;
  s = await startMonitorStack({
    monitor: {
      otlp: { endpoint, intervalMs: 60_000, headers: { authorization: 'Bearer collector-token' } },
    },
  });
});
afterAll(async () => {
  await new Promise<void>((r) => rx.close(() => r()));
});

describe('OTLP/HTTP JSON export', () => {
  it('exports metrics and events to a real receiver in the OTLP JSON shape', async () => {
    for (let i = 0; i < 3; i++) expect((await call(`${s.gatewayUrl}/v2/health`)).status).toBe(200);
    expect((await call(`${s.gatewayUrl}/phpmyadmin`)).status).toBe(404);
    await s.close(); // stop flushes: the last export
    const metrics = seen.find((x) => x.path === '/v1/metrics')!;
    const logs = seen.find((x) => x.path === '/v1/logs')!;
    expect(metrics.type).toBe('application/json');
    expect(metrics.auth).toBe('Bearer collector-token');

    const rm = metrics.body.resourceMetrics[0];
    expect(rm.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'rampart' } });
    expect(rm.resource.attributes).toContainEqual({
      key: 'service.instance.id',
      value: { stringValue: expect.stringMatching(new RegExp(`:${process.pid}$`)) },
    });
    const list = rm.scopeMetrics[0].metrics as any[];
    expect(rm.scopeMetrics[0].scope.name).toBe('rampart');
    const duration = list.find((m) => m.name === 'http_server_request_duration_seconds');
    expect(duration.unit).toBe('s');
    expect(duration.histogram.aggregationTemporality).toBe(2);
    const health = duration.histogram.dataPoints.find((p: any) =>
      p.attributes.some((a: any) => a.key === 'http_route' && a.value.stringValue === '/v2/health'),
    );
    expect(health.count).toBe('3');
    expect(health.bucketCounts).toHaveLength(health.explicitBounds.length + 1);
    expect(health.bucketCounts.reduce((a: number, b: string) => a + Number(b), 0)).toBe(3);
    expect(health.startTimeUnixNano).toMatch(/^\d{19}$/);
    expect(BigInt(health.timeUnixNano)).toBeGreaterThanOrEqual(BigInt(health.startTimeUnixNano));
    const probes = list.find((m) => m.name === 'rampart_shadow_endpoint_probes_total');
    expect(probes.sum).toMatchObject({ aggregationTemporality: 2, isMonotonic: true });
    expect(probes.sum.dataPoints[0]).toMatchObject({
      asDouble: 1,
      attributes: [{ key: 'reason', value: { stringValue: 'unknown-path' } }],
    });

    const records = logs.body.resourceLogs[0].scopeLogs[0].logRecords as any[];
    const shadow = records.find((r) => JSON.parse(r.body.stringValue).type === 'shadow-endpoint');
    expect(shadow).toMatchObject({ severityNumber: 13, severityText: 'WARN' });
    expect(shadow.attributes).toContainEqual({
      key: 'event.name',
      value: { stringValue: 'rampart.shadow-endpoint' },
    });
    expect(shadow.timeUnixNano).toMatch(/^\d{19}$/);
    expect(
      records.filter((r) => JSON.parse(r.body.stringValue).type === 'request').length,
    ).toBeGreaterThanOrEqual(4);
  });
});
