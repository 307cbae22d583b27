/**
 * The dashboard's server-side aggregation: one message per second whatever the rate,
 * exact counts, percentiles from a bounded sample, quiet seconds as zeros, top lists
 * over the last minute, and the Server-Sent Events stream a real HTTP client reads.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { categoryOf } from '../../src/monitor/categories.ts';
import { LiveSummary, type LiveMessage } from '../../src/console/summary.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

const req = (at: number, durationMs: number, extra: Partial<RampartEvent> = {}): RampartEvent =>
  ({
    type: 'request',
    at,
    method: 'GET',
    route: '/v2/health',
    status: 200,
    durationMs,
    ...extra,
  }) as RampartEvent;

function collect(s: LiveSummary): LiveMessage[] {
  return s.recent() as LiveMessage[];
}

describe('LiveSummary', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
  });

  it('5,000 events in a second become one message with exact counts and bounded latency samples', () => {
    const clock = new ManualClock(T0);
    const s = new LiveSummary(clock, { category: categoryOf });
    for (let i = 0; i < 5000; i++) {
      s.observe(
        req(clock.now(), (i % 100) + 1, {
          status: i % 50 === 0 ? 503 : 200,
          principal: i % 4 === 0 ? 'alice' : 'bob',
        } as Partial<RampartEvent>),
      );
    }
    for (let i = 0; i < 7; i++)
      s.observe({ type: 'denied', at: clock.now(), policy: 'rate-limit', problem: 'x', ip: '203.0.113.9' });
    s.observe({
      type: 'denied',
      at: clock.now(),
      policy: 'owner',
      problem: 'x',
      ip: '198.51.100.1',
      owasp: 'API1:2023',
    });
    s.observe({ type: 'rate-limited', at: clock.now(), policy: 'rate-limit', ip: '203.0.113.9' });
    s.tick();
    expect(collect(s)).toEqual([]); // the second is not over yet
    clock.advance(1000);
    s.tick();
    const [m] = collect(s);
    expect(collect(s)).toHaveLength(1);
    expect(m!.second).toMatchObject({ t: T0, requests: 5000, errors: 100, rateLimited: 1 });
    // Durations 1..100 uniformly: the sampled percentiles sit close to 50, 95 and 99.
    expect(m!.second.p50!).toBeGreaterThanOrEqual(45);
    expect(m!.second.p50!).toBeLessThanOrEqual(55);
    expect(m!.second.p95!).toBeGreaterThanOrEqual(92);
    expect(m!.second.p99!).toBeGreaterThanOrEqual(97);
    // A denial without a category counts under its policy's (the monitor's table).
    expect(m!.second.denied).toEqual({ 'API4:2023': 7, 'API1:2023': 1 });
    expect(m!.topConsumers).toEqual([
      ['bob', 3750],
      ['alice', 1250],
    ]);
    expect(m!.topDeniedIps).toEqual([
      ['203.0.113.9', 8],
      ['198.51.100.1', 1],
    ]);
  });

  it('quiet seconds are sent as zeros; the top lists cover the last minute only', () => {
    const clock = new ManualClock(T0);
    const s = new LiveSummary(clock);
    s.observe(req(clock.now(), 5, { principal: 'old' } as Partial<RampartEvent>));
    clock.advance(3000);
    s.tick();
    expect(collect(s).map((m) => [m.second.t - T0, m.second.requests, m.second.p50])).toEqual([
      [0, 1, 5],
      [1000, 0, null],
      [2000, 0, null],
    ]);
    expect(collect(s).at(-1)!.topConsumers).toEqual([['old', 1]]);
    clock.advance(61_000);
    s.observe(req(clock.now(), 5, { principal: 'new' } as Partial<RampartEvent>));
    clock.advance(1000);
    s.tick();
    expect(collect(s).at(-1)!.topConsumers).toEqual([['new', 1]]);
    // A jump of the clock sends at most the five minutes of history, not every second since.
    clock.advance(86_400_000);
    s.tick();
    expect(collect(s)).toHaveLength(300);
  });

  it('streams the history, then one `second` message per tick, as Server-Sent Events', async () => {
    const clock = new ManualClock(T0);
    const s = new LiveSummary(clock, { maxClients: 1 });
    s.observe(req(clock.now(), 2));
    clock.advance(1000);
    s.tick();
    server = createServer((rq, rs) => {
      if (!s.attach(rq, rs)) {
        rs.writeHead(429);
        rs.end();
      }
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const res = await request(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const second = await request(url); // over maxClients
    expect(second.statusCode).toBe(429);
    await second.body.dump();
    let text = '';
    const it = res.body[Symbol.asyncIterator]();
    const next = async () =>
      (text += Buffer.from(((await it.next()).value as Buffer) ?? []).toString('utf8'));
    while (!text.includes('event: history')) await next();
    s.observe(req(clock.now(), 3));
    s.observe(req(clock.now(), 3));
    clock.advance(1000);
    s.tick();
    while (!/event: second\ndata: .*\n\n/.test(text)) await next();
    const data = /event: second\ndata: (.*)\n\n/.exec(text)![1]!;
    expect((JSON.parse(data) as LiveMessage).second).toMatchObject({ t: T0 + 1000, requests: 2, p50: 3 });
    const history = /event: history\ndata: (.*)\n\n/.exec(text)![1]!;
    expect((JSON.parse(history) as LiveMessage[]).map((m) => m.second.requests)).toEqual([1]);
    s.stop();
    res.body.destroy();
  });
});
