import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MonitorMetrics } from '../../src/monitor/telemetry.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const RULES = resolve(ROOT, 'deploy/prometheus/rampart-alerts.yaml');
const DASHBOARD = resolve(ROOT, 'deploy/grafana/rampart-dashboard.json');

/** Metric names /metrics exposes (histograms with their _bucket/_count/_sum series). */
function exposed(): Set<string> {
  const names = new Set<string>();
  const text = new MonitorMetrics().registry.render();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(m[1]! + s);
  }
  return names;
}

const usedMetrics = (text: string) =>
  new Set([...text.matchAll(/\b((?:rampart|http_server)_[a-z_]+)\b/g)].map((m) => m[1]!));

describe('shipped Prometheus rules and Grafana dashboard', () => {
  it('the alerting rules pass promtool check rules', () => {
    const r = spawnSync('/usr/bin/promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/SUCCESS: 10 rules found/);
    expect(r.status).toBe(0);
  });
  it('rules and dashboard only use metrics /metrics exposes', () => {
    const names = exposed();
    const dashboard = readFileSync(DASHBOARD, 'utf8');
    JSON.parse(dashboard);
    for (const used of [...usedMetrics(readFileSync(RULES, 'utf8')), ...usedMetrics(dashboard)])
      expect(names, used).toContain(used);
  });
});
