import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { AnomalyDetector } from './anomaly.ts';
import type { Alert } from './rules/engine.ts';

const T0 = Date.UTC(2026, 0, 5);
const MIN = 60_000;

/** Deterministic PRNG and Poisson draws (Knuth), so the measured rate is reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const poisson = (lambda: number) => {
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= next();
    } while (p > l);
    return k - 1;
  };
  return { next, poisson };
}

/** The normal mix of `rampart simulate normal` (its route weights), with a day/night cycle. */
const ROUTES: Array<[string, number, number]> = [
  // route, share of traffic, typical latency ms
  ['/v2/health', 0.25, 3],
  ['/v2/doctors', 0.25, 8],
  ['/v2/records', 0.2, 12],
  ['/v2/users/me', 0.1, 6],
  ['/v2/records/{recordId}', 0.1, 10],
  ['/v2/auth/login', 0.1, 40],
];

function day(minuteOfDay: number): number {
  // 20 req/min at night to 120 at midday
  return 70 - 50 * Math.cos((2 * Math.PI * minuteOfDay) / 1440);
}

function run(days: number, burst?: { fromMinute: number; minutes: number; route: string; factor: number }) {
  const clock = new ManualClock(T0);
  const d = new AnomalyDetector({ warmupMs: 24 * 3_600_000, score: 6 }, () => clock.now());
  const alerts: Alert[] = [];
  d.onAlert((a) => alerts.push(a));
  const r = rng(7);
  const consumers = ['alice', 'bob', 'carol', 'dave', 'erin'];
  for (let m = 0; m < days * 1440; m++) {
    clock.set(T0 + m * MIN);
    d.tick();
    const perMinute = day(m % 1440);
    for (const [route, share, latency] of ROUTES) {
      let n = r.poisson(perMinute * share);
      if (burst && route === burst.route && m >= burst.fromMinute && m < burst.fromMinute + burst.minutes)
        n *= burst.factor;
      for (let i = 0; i < n; i++) {
        clock.set(T0 + m * MIN + Math.floor((i * MIN) / (n + 1)));
        d.observe({
          type: 'request',
          at: clock.now(),
          method: 'GET',
          route,
          status: r.next() < 0.002 ? 500 : 200,
          durationMs: latency * (0.5 + r.next()),
          bytesOut: 800 + Math.floor(r.next() * 400),
          principal: consumers[Math.floor(r.next() * consumers.length)]!,
        });
      }
    }
  }
  return { d, alerts };
}

describe('anomaly baselines (EWMA + robust deviation per hour of day, injected clock)', () => {
  it('the normal mix over three days: false-alarm rate below 0.1 % of scored minutes, nothing during warm-up', () => {
    const { d, alerts } = run(3);
    const rate = d.alerted / d.scored;
    // Measured (seed 7): see docs/monitoring.md for the figure this test pins.
    expect(d.scored).toBeGreaterThan(50_000);
    expect(rate).toBeLessThan(0.001);
    expect(alerts.filter((a) => a.startsAt < T0 + 24 * 3_600_000)).toEqual([]);
    console.info(
      `anomaly false alarms: ${d.alerted}/${d.scored} scored minutes (${(rate * 100).toFixed(3)} %)`,
    );
  });

  it('a scraping burst (10× the rate on one route for 5 minutes) alerts, explained, and resolves', () => {
    const { alerts } = run(2, { fromMinute: 1440 + 600, minutes: 5, route: '/v2/doctors', factor: 10 });
    const fired = alerts.find(
      (a) => a.state === 'firing' && a.labels.route === '/v2/doctors' && a.labels.metric === 'rate',
    );
    expect(fired).toBeDefined();
    expect(fired!.startsAt).toBe(T0 + (1440 + 600) * MIN);
    expect(fired!.explanation).toMatchObject({ metric: 'rate', window: '1m', hourOfDay: 10 });
    const ex = fired!.explanation as { observed: number; baseline: number; score: number };
    expect(ex.observed).toBeGreaterThan(ex.baseline * 5);
    expect(ex.score).toBeGreaterThanOrEqual(6);
    expect(fired!.summary).toMatch(/^route \/v2\/doctors: rate \d+ vs baseline [\d.]+ \(score [\d.]+\)$/);
    expect(alerts.find((a) => a.state === 'resolved' && a.fingerprint === fired!.fingerprint)).toBeDefined();
  });
});
