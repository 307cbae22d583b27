import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mergeExpositions, Registry } from './metrics.ts';

describe('Prometheus registry', () => {
  it('escapes label values, renders cumulative buckets, folds series beyond the bound into "other"', () => {
    const r = new Registry(3);
    const c = r.counter('rampart_test_total', 'A test counter.\nSecond line', ['reason']);
    c.inc(['quote " backslash \\ newline \n']);
    for (const v of ['a', 'b', 'c', 'd']) c.inc([v]);
    const h = r.histogram('rampart_test_seconds', 'A test histogram.', ['route'], [0.1, 1]);
    h.observe(['/x'], 0.05);
    h.observe(['/x'], 0.5);
    h.observe(['/x'], 5);
    const text = r.render();
    expect(text).toContain('rampart_test_total{reason="quote \\" backslash \\\\ newline \\n"} 1');
    expect(text).toContain('# HELP rampart_test_total A test counter.\\nSecond line');
    expect(text).toContain('rampart_test_total{reason="other"} 2'); // c and d folded
    expect(text).toContain('rampart_metrics_series_overflow_total 2');
    expect(text).toContain('rampart_test_seconds_bucket{route="/x",le="0.1"} 1');
    expect(text).toContain('rampart_test_seconds_bucket{route="/x",le="1"} 2');
    expect(text).toContain('rampart_test_seconds_bucket{route="/x",le="+Inf"} 3');
    expect(text).toContain('rampart_test_seconds_sum{route="/x"} 5.55');
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('merges the expositions of a cluster: counters and histograms summed, gauges at their largest, HELP and TYPE once', () => {
    const worker = (failures: number, latency: number[], expiry: number) => {
      const r = new Registry();
      r.counter('rampart_auth_failures_total', 'Failed authentications.', ['reason']).inc(
        ['bad-credentials'],
        failures,
      );
      const h = r.histogram('http_server_request_duration_seconds', 'Duration.', ['route'], [0.1, 1]);
      for (const v of latency) h.observe(['/x'], v);
      r.gauge('rampart_certificate_expiry_timestamp_seconds', 'Expiry.', ['subject']).set(['gw'], expiry);
      return r.render();
    };
    const primary = new Registry();
    primary.gauge('rampart_alerts_firing', 'Firing.', ['rule']).set(['failed-logins'], 1);
    const text = mergeExpositions([
      primary.render(),
      worker(30, [0.05, 2], 1_800_000_000),
      worker(25, [0.5], 1_800_000_000),
    ]);
    expect(text).toContain('rampart_auth_failures_total{reason="bad-credentials"} 55');
    expect(text).toContain('http_server_request_duration_seconds_bucket{route="/x",le="0.1"} 1');
    expect(text).toContain('http_server_request_duration_seconds_bucket{route="/x",le="1"} 2');
    expect(text).toContain('http_server_request_duration_seconds_bucket{route="/x",le="+Inf"} 3');
    expect(text).toContain('http_server_request_duration_seconds_count{route="/x"} 3');
    expect(text).toContain('rampart_certificate_expiry_timestamp_seconds{subject="gw"} 1800000000');
    expect(text).toContain('rampart_alerts_firing{rule="failed-logins"} 1');
    expect(text).toContain('rampart_metrics_series_overflow_total 0');
    expect(text.match(/^# TYPE rampart_auth_failures_total counter$/gm)).toHaveLength(1);
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
