import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Registry } from './metrics.ts';

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
});
