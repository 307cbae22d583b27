import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostureReport } from '../../src/posture/types.ts';
import { main } from '../../src/cli/main.ts';
import { SCENARIOS, simulate } from '../../src/monitor/simulate.ts';
import { startMonitorStack, type MonitorStack } from '../helpers/monitor.ts';

/**
 * Each shipped rule fires on its scenario, and none fires on the normal mix: the lab
 * behind the gateway, the identity service under /auth, the monitor reading the events.
 * One stack; the normal mix runs first, each later scenario looks only at alerts that
 * fired after it began.
 */
let s: MonitorStack;
beforeAll(async () => {
  s = await startMonitorStack();
});
afterAll(() => s?.close());

const run = (name: string) =>
  simulate(name, {
    target: s.gatewayUrl,
    admin: s.adminUrl,
    adminToken: s.adminKey,
    insecure: true,
    maxMs: 20_000,
    waitMs: 3000,
  });

describe('rampart simulate against the lab', () => {
  it('the normal mix fires no rule', async () => {
    const r = await run('normal');
    expect(r.sent).toBe(SCENARIOS.normal!.requests);
    expect(r.errors).toBe(0);
    expect(Object.keys(r.statuses)).toEqual(['200']);
    expect(r.fired).toEqual([]);
  });

  for (const name of ['brute-force', 'credential-stuffing', 'scraping', '5xx-storm', 'slow-upstream']) {
    it(`${name} fires ${SCENARIOS[name]!.expects.join(', ')}`, async () => {
      const r = await run(name);
      expect(r.missing).toEqual([]);
      for (const f of r.fired) expect(f.afterSeconds).toBeLessThan(20);
    });
  }

  it('bola through the CLI: prints the fired alert and exits 0; an unknown scenario is a usage error', async () => {
    const data = mkdtempSync(join(tmpdir(), 'rampart-simulate-'));
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const code = await main(
      [
        'simulate',
        'bola',
        '--target',
        s.gatewayUrl,
        '--admin',
        s.adminUrl,
        '--admin-token',
        s.adminKey,
        '-k',
        '--requests',
        '40',
        '--wait-seconds',
        '3',
        '--record',
        join(data, 'simulations'),
      ],
      io,
    );
    expect(out.join('\n')).toMatch(/^bola: 40 requests in [\d.]+ s/m);
    expect(out.join('\n')).toMatch(/fired {2}object-enumeration\s+after \d+\.\d s/);
    expect(code).toBe(0);
    // The record is what rampart posture reads: the demo's object-enumeration rule is now tested.
    const [file] = readdirSync(join(data, 'simulations'));
    expect(file).toMatch(/^\d{4}-\d\d-\d\dT[\d-]+Z-bola\.json$/);
    const record = JSON.parse(readFileSync(join(data, 'simulations', file!), 'utf8'));
    expect(record).toMatchObject({
      format: 'rampart-simulation',
      scenario: 'bola',
      expected: ['object-enumeration'],
    });
    expect(record.fired.map((f: { rule: string }) => f.rule)).toContain('object-enumeration');
    out.length = 0;
    expect(
      await main(['posture', '--data', data, '--format', 'json', '--no-record', '--no-traffic'], io),
    ).toBe(0);
    const posture = JSON.parse(out.join('\n')) as PostureReport;
    const api1 = posture.owasp
      .find((i) => i.id === 'API1:2023')!
      .criteria.find((c) => c.id === 'monitored-API1:2023')!;
    expect(api1.value).toBe(1);
    expect(api1.evidence).toContain('object-enumeration ← bola');
    out.length = 0;
    expect(await main(['simulate', 'ddos', '--target', s.gatewayUrl], io)).toBe(2);
    expect(out.join('\n')).toContain("unknown scenario 'ddos'");
    out.length = 0;
    expect(
      await main(['simulate', 'bola', '--target', s.gatewayUrl, '--no-admin', '--record', data], io),
    ).toBe(2);
    expect(out.join('\n')).toContain('--record needs the alerts: drop --no-admin');
    rmSync(data, { recursive: true, force: true });
  });
});
