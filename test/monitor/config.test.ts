import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { FIXTURES } from '../helpers/gateway.ts';

async function check(monitor: string): Promise<{ code: number; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-monitor-config-'));
  const file = join(dir, 'rampart.yaml');
  await writeFile(
    file,
    `apis:
  - name: shop
    upstream: http://127.0.0.1:1
    versions:
      - { base: /v2, spec: ${join(FIXTURES, 'gateway/shop-v2.yaml')} }
monitor:
${monitor}`,
  );
  const lines: string[] = [];
  const code = await main(['check', '-c', file], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  await rm(dir, { recursive: true, force: true });
  return { code, out: lines.join('\n') };
}

describe('alert rules in rampart.yaml are checked with their position', () => {
  it('accepts overrides of shipped rules and a custom rule', async () => {
    const r = await check(`  rules:
    - { id: failed-logins, threshold: 100 }
    - { id: shadow-endpoint, enabled: false }
    - { id: upstream-errors, kind: rate, match: { type: upstream-error }, window: 1m, threshold: 2, groupBy: [api], for: 30s, severity: critical }
  notifiers:
    - { type: slack, name: chat, url: 'https://hooks.slack.example/T000' }
`);
    expect(r.out).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });
  it('refuses unknown fields, impossible windows and unbounded grouping, naming line and pointer', async () => {
    const r = await check(`  rules:
    - { id: failed-logins, window: 100ms }
    - { id: per-path, kind: threshold, match: { type: request }, window: 1m, threshold: 5, groupBy: [path] }
    - { id: per-header, kind: threshold, match: { type: request }, window: 1m, threshold: 5, groupBy: [x-api-key] }
    - { id: bad-field, kind: threshold, match: { stauts: 500 }, window: 1m, threshold: 5 }
  notifiers:
    - { type: webhook, name: a, url: 'https://x.example', secret: a-secret-long-enough }
    - { type: slack, name: a, url: 'https://x.example' }
`);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/rampart\.yaml:8:\d+\s+\/monitor\/rules\/0\/window.*impossible/);
    expect(r.out).toMatch(
      /rampart\.yaml:9:\d+\s+\/monitor\/rules\/1\/groupBy.*grouping by 'path' is unbounded/,
    );
    expect(r.out).toMatch(/rampart\.yaml:10:\d+\s+\/monitor\/rules\/2\/groupBy.*request header/);
    expect(r.out).toMatch(/rampart\.yaml:11:\d+\s+\/monitor\/rules\/3\/match.*did you mean 'status'/);
    expect(r.out).toMatch(
      /rampart\.yaml:14:\d+\s+\/monitor\/notifiers\/1\/name.*duplicate notifier name 'a'/,
    );
  });
  it('refuses unknown keys and too-short webhook secrets (schema errors, with did-you-mean)', async () => {
    const r = await check(`  rules:
    - { id: typo, kind: threshold, match: { type: request }, window: 1m, threshold: 5, treshold: 4 }
  notifiers:
    - { type: webhook, name: a, url: 'https://x.example', secret: short }
`);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/rampart\.yaml:8:\d+\s+\/monitor\/rules\/0\/treshold.*did you mean 'threshold'/);
    expect(r.out).toMatch(/rampart\.yaml:10:\d+\s+\/monitor\/notifiers\/0\/secret.*at least 16/);
  });
});
