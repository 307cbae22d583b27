import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.ts';
import type { RampartEvent } from '../../core/events.ts';
import { DEFAULT_RULES } from './defaults.ts';
import { effectiveRules, RuleEngine, ruleErrors, type Alert } from './engine.ts';
import { DistinctWindow, SlidingCounter } from './window.ts';

const T0 = Date.UTC(2026, 0, 1);

function setup(rules = effectiveRules([])) {
  const clock = new ManualClock(T0);
  const engine = new RuleEngine(rules, () => clock.now());
  const changes: Alert[] = [];
  engine.onChange((a) => changes.push(a));
  const feed = (e: Partial<RampartEvent> & { type: RampartEvent['type'] }) =>
    engine.observe({ at: clock.now(), ...e } as RampartEvent);
  const fired = (rule: string) => changes.filter((c) => c.rule === rule && c.state === 'firing');
  return { clock, engine, changes, feed, fired };
}

const loginFailure = (ip: string, account = 'acct-' + ip) =>
  ({ type: 'auth', action: 'login', outcome: 'failure', reason: 'bad-password', ip, account }) as const;

describe('sliding windows (injected clock)', () => {
  it('counts the last window to within one bucket and forgets older events', () => {
    const w = new SlidingCounter(60_000);
    w.add(T0, 5);
    w.add(T0 + 30_000, 3);
    expect(w.sum(T0 + 30_000)).toBe(8);
    expect(w.sum(T0 + 59_000)).toBe(8);
    expect(w.sum(T0 + 61_000)).toBe(3); // the first bucket slid out
    expect(w.sum(T0 + 91_000)).toBe(0);
  });
  it('distinct values expire with the window and stay bounded', () => {
    const d = new DistinctWindow(10_000, 3);
    d.add('a', T0);
    d.add('b', T0 + 1000);
    d.add('a', T0 + 2000);
    expect(d.count(T0 + 2000)).toBe(2);
    expect(d.count(T0 + 11_500)).toBe(1); // b expired, a re-seen later
    for (const v of ['c', 'd', 'e', 'f']) d.add(v, T0 + 11_500);
    expect(d.count(T0 + 11_500)).toBe(3);
  });
});

describe('the shipped rules', () => {
  it('failed logins: 49 in a minute is quiet, the 50th fires global and per-IP; resolves after the window; cooldown holds', () => {
    const { clock, feed, fired, changes, engine } = setup();
    for (let i = 0; i < 49; i++) feed(loginFailure('10.0.0.1', 'acct-' + (i % 3)));
    expect(fired('failed-logins')).toHaveLength(0);
    feed(loginFailure('10.0.0.1', 'acct-1'));
    expect(fired('failed-logins')).toHaveLength(1);
    expect(fired('failed-logins-per-ip')[0]!.labels).toMatchObject({ ip: '10.0.0.1', severity: 'critical' });
    expect(fired('failed-logins-per-account')).toHaveLength(0); // spread over 3 accounts
    expect(fired('failed-logins')[0]!.summary).toBe('50 failed logins in 1m');
    clock.advance(61_000);
    engine.tick();
    expect(changes.filter((c) => c.rule === 'failed-logins' && c.state === 'resolved')).toHaveLength(1);
    for (let i = 0; i < 50; i++) feed(loginFailure('10.0.0.1'));
    expect(fired('failed-logins')).toHaveLength(1); // cooling down (10m)
    clock.advance(10 * 60_000);
    engine.tick();
    for (let i = 0; i < 50; i++) feed(loginFailure('10.0.0.1'));
    expect(fired('failed-logins')).toHaveLength(2);
  });

  it('failed logins per account fire on one account from many addresses', () => {
    const { feed, fired } = setup();
    for (let i = 0; i < 50; i++) feed(loginFailure(`10.0.${i}.1`, 'victim'));
    expect(fired('failed-logins-per-account')[0]!.labels.account).toBe('victim');
    expect(fired('failed-logins-per-ip')).toHaveLength(0);
  });

  it('credential stuffing: one address, 20 distinct accounts in 5 minutes', () => {
    const { clock, feed, fired } = setup();
    for (let i = 0; i < 19; i++) {
      feed(loginFailure('10.9.9.9', 'a' + i));
      clock.advance(10_000);
    }
    expect(fired('credential-stuffing')).toHaveLength(0);
    feed(loginFailure('10.9.9.9', 'a19'));
    expect(fired('credential-stuffing')[0]!.summary).toBe('10.9.9.9 tried 20 accounts in 5m');
  });

  it('5xx ratio on a route needs minEvents and the ratio', () => {
    const { feed, fired } = setup();
    const req = (status: number, route = '/v2/records') =>
      feed({ type: 'request', method: 'GET', route, status, durationMs: 1, ip: '1.1.1.1' });
    for (let i = 0; i < 10; i++) req(500);
    expect(fired('error-ratio-5xx')).toHaveLength(0); // 10 < minEvents
    for (let i = 0; i < 30; i++) req(200, '/v2/doctors');
    expect(fired('error-ratio-5xx')).toHaveLength(0);
    for (let i = 0; i < 30; i++) req(200);
    for (let i = 0; i < 3; i++) req(502);
    expect(fired('error-ratio-5xx')).toHaveLength(1);
    expect(fired('error-ratio-5xx')[0]!.labels.route).toBe('/v2/records');
  });

  it('object enumeration: 30 distinct ids of one route by one consumer', () => {
    const { feed, fired } = setup();
    for (let i = 0; i < 40; i++)
      feed({
        type: 'request',
        method: 'GET',
        route: '/v2/records/{recordId}',
        status: 200,
        durationMs: 1,
        principal: 'u1',
        objectId: '7',
      });
    expect(fired('object-enumeration')).toHaveLength(0); // the same object again and again
    for (let i = 0; i < 30; i++)
      feed({
        type: 'request',
        method: 'GET',
        route: '/v2/records/{recordId}',
        status: 404,
        durationMs: 1,
        principal: 'u1',
        objectId: String(100 + i),
      });
    expect(fired('object-enumeration')[0]!.labels).toMatchObject({
      consumer: 'u1',
      route: '/v2/records/{recordId}',
    });
  });

  it('new shadow endpoint: first probe of a path fires, repeats do not, resolves when quiet', () => {
    const { clock, feed, fired, engine, changes } = setup();
    const probe = (path: string) =>
      feed({ type: 'shadow-endpoint', method: 'GET', path, reason: 'unknown-path', ip: '1.2.3.4' });
    probe('/debug/vars');
    expect(fired('shadow-endpoint')).toHaveLength(1);
    expect(fired('shadow-endpoint')[0]!.summary).toContain('GET /debug/vars');
    clock.advance(11 * 60_000);
    engine.tick();
    expect(changes.at(-1)!.state).toBe('resolved');
    clock.advance(11 * 60_000);
    probe('/debug/vars');
    engine.tick();
    expect(fired('shadow-endpoint')).toHaveLength(1); // already known
  });

  it('certificate expiry: 30-day and 7-day rules', () => {
    const { feed, fired } = setup();
    feed({ type: 'cert-expiry', subject: 'CN=api', notAfter: '2026-01-20T00:00:00Z', daysLeft: 19 });
    expect(fired('cert-expiring-30d')).toHaveLength(1);
    expect(fired('cert-expiring-7d')).toHaveLength(0);
    feed({ type: 'cert-expiry', subject: 'CN=api', notAfter: '2026-01-06T00:00:00Z', daysLeft: 5 });
    expect(fired('cert-expiring-7d')[0]!.severity).toBe('critical');
  });

  it('credential replay: refresh reuse and OTP replay fire at once', () => {
    const { feed, fired } = setup();
    feed({ type: 'auth', action: 'refresh', outcome: 'reuse-detected', user: 'u9' });
    feed({ type: 'auth', action: 'otp', outcome: 'failure', reason: 'replayed', user: 'u8' });
    expect(fired('credential-replay').map((a) => a.labels.user)).toEqual(['u9', 'u8']);
  });

  it('429 flood per consumer and denial spike per OWASP category', () => {
    const { feed, fired } = setup();
    for (let i = 0; i < 50; i++)
      feed({
        type: 'request',
        method: 'GET',
        route: '/v2/doctors',
        status: 429,
        durationMs: 1,
        ip: '5.5.5.5',
      });
    expect(fired('rate-limit-flood')[0]!.labels.consumer).toBe('5.5.5.5');
    for (let i = 0; i < 50; i++) feed({ type: 'denied', policy: 'authenticate', problem: 'unauthenticated' });
    expect(fired('denial-spike')[0]!.labels.category).toBe('API2:2023');
  });

  it('`for` holds the alert pending until the condition lasted long enough', () => {
    const { clock, feed, changes, engine } = setup(
      effectiveRules(
        [
          {
            id: 'slow',
            kind: 'rate',
            match: { type: 'upstream-error' },
            window: '10s',
            threshold: 1,
            for: '5s',
          },
        ],
        false,
      ),
    );
    for (let i = 0; i < 10; i++) feed({ type: 'upstream-error', api: 'a', reason: 'x' });
    expect(changes.map((c) => c.state)).toEqual(['pending']);
    clock.advance(3000);
    for (let i = 0; i < 10; i++) feed({ type: 'upstream-error', api: 'a', reason: 'x' });
    clock.advance(2000);
    engine.tick();
    expect(changes.map((c) => c.state)).toEqual(['pending', 'firing']);
  });

  it('groups are bounded by maxGroups (idle groups evicted first)', () => {
    const { feed, engine } = setup(
      effectiveRules(
        [
          {
            id: 'per-ip',
            kind: 'threshold',
            match: { type: 'auth' },
            groupBy: ['ip'],
            window: '1m',
            threshold: 1,
            maxGroups: 5,
            cooldown: '1h',
          },
        ],
        false,
      ),
    );
    for (let i = 0; i < 8; i++) feed({ type: 'auth', action: 'login', outcome: 'failure', ip: `1.1.1.${i}` });
    expect(engine.active()).toHaveLength(5);
    expect(engine.overflow).toBe(3);
  });
});

describe('rule validation', () => {
  it('every shipped rule is valid', () => {
    expect(
      ruleErrors(
        DEFAULT_RULES.map((r) => ({ ...r })),
        false,
      ),
    ).toEqual([]);
  });
  it('refuses impossible windows, unbounded grouping and unknown fields, with the position', () => {
    const errors = ruleErrors([
      { id: 'failed-logins', window: '500ms' },
      {
        id: 'x',
        kind: 'threshold',
        match: { type: 'request' },
        window: '1m',
        threshold: 1,
        groupBy: ['path'],
      },
      {
        id: 'y',
        kind: 'threshold',
        match: { stauts: 500 },
        window: '48h',
        threshold: 1,
        groupBy: ['x-api-key'],
      },
      { id: 'z', kind: 'ratio', match: { type: 'request' }, window: '1m', threshold: 2 },
    ]);
    expect(errors).toEqual([
      { segments: ['0', 'window'], message: expect.stringContaining('impossible') },
      { segments: ['1', 'groupBy'], message: expect.stringContaining("grouping by 'path' is unbounded") },
      { segments: ['2', 'window'], message: expect.stringContaining('impossible') },
      { segments: ['2', 'groupBy'], message: expect.stringContaining('request header') },
      { segments: ['2', 'match'], message: expect.stringContaining("did you mean 'status'") },
      { segments: ['3', 'denominator'], message: 'a ratio rule needs a denominator filter' },
      { segments: ['3', 'threshold'], message: 'a ratio threshold is 0..1, got 2' },
    ]);
  });
  it('refuses incomplete custom rules, long for, duplicate ids, object-id grouping and field-less distinct rules', () => {
    const errors = ruleErrors([
      { id: 'bare' },
      { id: 'slow', kind: 'threshold', match: { type: 'request' }, window: '5m', threshold: 1, for: '2h' },
      { id: 'slow', kind: 'event', match: { type: 'request' }, window: '1m' },
      {
        id: 'ids',
        kind: 'threshold',
        match: { type: 'request' },
        window: '1m',
        threshold: 3,
        groupBy: ['objectId'],
      },
      { id: 'many', kind: 'distinct', match: { type: 'request' }, window: '1m', threshold: 3 },
      { id: 'count', kind: 'threshold', match: { type: 'request' }, window: '1m' },
      { id: 'off', enabled: false },
    ]);
    expect(errors).toEqual([
      { segments: ['0', 'kind'], message: expect.stringContaining("custom rule 'bare' needs a kind") },
      { segments: ['0', 'match'], message: "custom rule 'bare' needs a match filter" },
      { segments: ['0', 'window'], message: "custom rule 'bare' needs a window (e.g. 1m)" },
      { segments: ['1', 'for'], message: expect.stringContaining('for 2h is longer than an hour') },
      { segments: ['2', 'id'], message: "duplicate rule id 'slow' (also rules/1)" },
      { segments: ['3', 'groupBy'], message: expect.stringContaining("grouping by 'objectId' is unbounded") },
      { segments: ['4', 'field'], message: 'a distinct rule needs the field whose values count' },
      { segments: ['5', 'threshold'], message: 'a threshold rule needs a threshold' },
    ]);
  });
  it('a rule with the id of a shipped rule overrides it; enabled: false removes it', () => {
    const rules = effectiveRules([
      { id: 'failed-logins', threshold: 5 },
      { id: 'shadow-endpoint', enabled: false },
    ]);
    expect(rules.find((r) => r.id === 'failed-logins')).toMatchObject({ threshold: 5, window: '1m' });
    expect(new RuleEngine(rules, () => 0).ruleIds).not.toContain('shadow-endpoint');
  });
});
