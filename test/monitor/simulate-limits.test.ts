/**
 * The two shipped rules whose signals only a policy that refuses produces: with the lab
 * document's rate limit on (test/monitor/simulate.test.ts turns it off so the other scenarios
 * reach the upstream), `scraping` past the limit sets off `rate-limit-flood` and the API4 `denial-spike`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_POLICIES } from '../../src/cli/demo.ts';
import { simulate } from '../../src/monitor/simulate.ts';
import { startMonitorStack, type MonitorStack } from '../helpers/monitor.ts';

let s: MonitorStack;
beforeAll(async () => {
  s = await startMonitorStack({
    policies: { 'rate-limit': (DEMO_POLICIES as Record<string, unknown>)['rate-limit'] ?? { enabled: true } },
  });
});
afterAll(() => s?.close());

describe('rampart simulate with the lab rate limit on', () => {
  it('scraping past the limit fires rate-limit-flood and denial-spike (and still shadow-endpoint)', async () => {
    const r = await simulate('scraping', {
      target: s.gatewayUrl,
      admin: s.adminUrl,
      adminToken: s.adminKey,
      insecure: true,
      requests: 220,
      maxMs: 30_000,
      waitMs: 3000,
    });
    expect(r.statuses['429']).toBeGreaterThanOrEqual(50);
    // 429s are API4:2023 (unrestricted resource consumption) denials: the category spike too.
    const fired = new Map(r.fired.map((f) => [f.rule, f]));
    expect([...fired.keys()].sort()).toEqual(['denial-spike', 'rate-limit-flood', 'shadow-endpoint']);
    expect(fired.get('rate-limit-flood')!.summary).toBe('127.0.0.1 got 50 × 429 in 1m');
    expect(fired.get('denial-spike')!.summary).toMatch(/^\d+ denials in API4:2023 in 1m$/);
  });
});
