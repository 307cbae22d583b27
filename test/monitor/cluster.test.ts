/**
 * The cluster's alerting in one process (src/monitor/cluster.ts): a primary monitor and
 * worker monitors joined by channels that serialise every message as JSON, as node's IPC
 * does, with a ManualClock. test/e2e/cluster-alerts.test.ts runs the same over real
 * `rampart start --workers 2` processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/cli/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { summarise, WorkerLink, type ClusterMessage, type Port } from '../../src/monitor/cluster.ts';
import { Monitor } from '../../src/monitor/index.ts';
import { openStore, type Db } from '../../src/store/index.ts';

/** Two ends of a channel: delivery on a later turn, through JSON like node's IPC. */
function channel(): [Port, Port] {
  const listeners: [Array<(m: unknown) => void>, Array<(m: unknown) => void>] = [[], []];
  const end = (me: 0 | 1): Port => ({
    send(message, done) {
      const text = JSON.stringify(message);
      setImmediate(() => {
        for (const l of listeners[me === 0 ? 1 : 0]) l(JSON.parse(text));
        done?.(null);
      });
    },
    onMessage: (l) => void listeners[me].push(l),
  });
  return [end(0), end(1)];
}

/** Lets every message in flight arrive (each hop is one turn of the event loop). */
async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

const config = configFromObject(
  { monitor: { anomaly: { enabled: false }, auditLog: { enabled: false } } },
  '/tmp',
).monitor;

const failedLogin = (clock: ManualClock, account: string): RampartEvent => ({
  type: 'auth',
  at: clock.now(),
  ip: '203.0.113.7',
  action: 'login',
  outcome: 'failure',
  reason: 'bad-credentials',
  account,
});

describe('alerting across cluster workers', () => {
  const dbs: Db[] = [];
  const monitors: Monitor[] = [];
  afterEach(async () => {
    for (const m of monitors.splice(0)) await m.stop();
    for (const d of dbs.splice(0)) await d.close();
  });

  async function cluster(clock: ManualClock) {
    const db = await openStore('sqlite::memory:');
    dbs.push(db);
    const primary = new Monitor({ config, db, clock, log: silentLogger, cluster: { role: 'primary' } });
    monitors.push(primary);
    let n = 0;
    const join = async () => {
      const [toWorker, toPrimary] = channel();
      const id = ++n;
      primary.hub!.connect(id, 1000 + id, toWorker);
      // One store for the cluster, as the workers of `rampart start --workers` share one.
      const w = new Monitor({
        config,
        db,
        clock,
        log: silentLogger,
        cluster: { role: 'worker', worker: id, port: toPrimary },
      });
      monitors.push(w);
      await settle();
      return w;
    };
    return { primary, join };
  }

  const send = async (w: Monitor, events: RampartEvent[]) => {
    for (const e of events) w.queue.push(e);
    w.queue.drain();
    w.link!.flush();
    await settle();
  };

  it('failed logins split over two workers fire one alert, which every worker shows; desk actions (in the shared store) reach all', async () => {
    const clock = new ManualClock();
    const { primary, join } = await cluster(clock);
    const [w1, w2] = [await join(), await join()];
    await send(
      w1,
      Array.from({ length: 25 }, () => failedLogin(clock, 'acct-1')),
    );
    await send(
      w2,
      Array.from({ length: 24 }, () => failedLogin(clock, 'acct-1')),
    );
    // 49 across the cluster: nothing yet, and neither worker evaluates rules of its own.
    expect(primary.alerts().active.filter((a) => a.state === 'firing')).toEqual([]);
    expect(w1.engine.active()).toEqual([]);
    await send(w2, [failedLogin(clock, 'acct-1')]);

    const firing = (m: Monitor, rule: string) =>
      m.alerts().recent.filter((r) => r.rule === rule && r.state === 'firing');
    expect(firing(primary, 'failed-logins')).toHaveLength(1);
    const fp = firing(primary, 'failed-logins')[0]!.fingerprint;
    for (const w of [w1, w2]) {
      expect(firing(w, 'failed-logins').map((r) => r.fingerprint)).toEqual([fp]);
      expect(w.alerts().active.map((a) => a.fingerprint)).toContain(fp);
      expect(await w.desk.get(fp)).toMatchObject({ rule: 'failed-logins', status: 'open', value: 50 });
      expect(w.metricsText()).toMatch(
        /^rampart_alerts_firing\{rule="failed-logins",severity="critical"\} 1$/m,
      );
    }
    // The same account over both workers: one per-account group (the account reference agrees).
    expect(firing(primary, 'failed-logins-per-account')).toHaveLength(1);

    // A firing alert's moving count follows on the workers after the primary's tick.
    await send(
      w1,
      Array.from({ length: 5 }, () => failedLogin(clock, 'acct-1')),
    );
    clock.advance(1000);
    primary.tick();
    await settle();
    expect((await w2.desk.get(fp))!.value).toBe(55);
    expect(w2.alerts().active.find((a) => a.fingerprint === fp)!.value).toBe(55);

    // An operator silences it through one worker: the primary holds the notifications, the
    // other worker shows it silenced, and the annotation exists once everywhere.
    await w1.desk.act(fp, 'silence', 'ops@example', { until: clock.now() + 60_000, note: 'on it' });
    await settle();
    expect(await primary.desk.silenced(fp)).toBe(true);
    for (const m of [primary, w1, w2]) {
      expect(await m.desk.get(fp)).toMatchObject({ status: 'silenced' });
      expect((await m.desk.get(fp))!.annotations).toEqual([
        { at: clock.now(), by: 'ops@example', action: 'silence', note: 'on it' },
      ]);
    }

    // A worker that joins later (a replacement) starts with the cluster's state.
    const w3 = await join();
    expect(firing(w3, 'failed-logins').map((r) => r.fingerprint)).toEqual([fp]);
    expect(await w3.desk.get(fp)).toMatchObject({ status: 'silenced', value: 55 });
    expect(w3.metricsText()).toMatch(
      /^rampart_alerts_firing\{rule="failed-logins",severity="critical"\} 1$/m,
    );

    // Resolution reaches every worker too.
    clock.advance(61_000);
    primary.tick();
    await settle();
    for (const w of [w1, w2, w3]) {
      expect(w.alerts().active.map((a) => a.fingerprint)).not.toContain(fp);
      expect(w.metricsText()).toMatch(
        /^rampart_alerts_firing\{rule="failed-logins",severity="critical"\} 0$/m,
      );
    }
    // A scrape of any worker shows the cluster: every worker's counts summed, alerts from the primary.
    const metrics = await w3.exposition();
    expect(metrics).toMatch(/^rampart_auth_failures_total\{action="login",reason="bad-credentials"\} 55$/m);
    expect(metrics).toMatch(/^rampart_alerts_firing\{rule="failed-logins",severity="critical"\} 0$/m);
    expect(metrics.match(/^# TYPE rampart_auth_failures_total counter$/gm)).toHaveLength(1);
    const status = await w2.clusterStatus();
    expect(status).toMatchObject({ worker: 2, forwarded: 24 + 1, dropped: 0 });
    expect(status!.primary!.workers.map((w) => [w.worker, w.events, w.connected])).toEqual([
      [1, 30, true],
      [2, 25, true],
      [3, 0, true],
    ]);
  });
});

describe('the worker link', () => {
  it('keeps at most maxPending summaries while the channel is busy, counts the rest and reports them', () => {
    const sent: ClusterMessage[] = [];
    const done: Array<(err: Error | null) => void> = [];
    const port: Port = {
      send(m, cb) {
        sent.push(m);
        if (cb) done.push(cb);
      },
      onMessage: () => undefined,
    };
    const noop = () => undefined;
    const link = new WorkerLink(
      port,
      { state: noop, change: noop, update: noop, expose: () => '' },
      { maxPending: 4, maxBatch: 2, lingerMs: 60_000 },
    );
    expect(sent.map((m) => m.t)).toEqual(['hello']);
    const clock = new ManualClock();
    for (let i = 0; i < 10; i++) link.forward(failedLogin(clock, `a${i}`));
    // Two went at once (a full batch); the channel has not taken them: four wait, four dropped.
    expect(sent.filter((m) => m.t === 'events')).toHaveLength(1);
    expect(link.dropped).toBe(4);
    done.shift()!(null); // the first batch is handed over: the next goes, with the drop count
    const second = sent.at(-1)!;
    expect(second).toMatchObject({ t: 'events', dropped: 4 });
    expect((second as { events: unknown[] }).events).toHaveLength(2);
    expect(link.sent).toBe(2);
    done.shift()!(new Error('channel closed')); // a batch the channel refused counts as dropped
    expect(link.dropped).toBe(6);
    link.close();
  });

  it('summaries carry the fields rules read, bounded, and nothing else', () => {
    const s = summarise({
      type: 'request',
      at: 1,
      method: 'GET',
      route: '/records/{id}',
      version: '/v2',
      status: 200,
      durationMs: 3,
      ip: '198.51.100.1',
      path: '/v2/records/' + 'x'.repeat(5000),
      requestId: 'req-1',
      headers: { authorization: 'Bearer secret' },
    } as unknown as RampartEvent);
    expect(Object.keys(s).sort()).toEqual(
      ['at', 'durationMs', 'ip', 'method', 'path', 'route', 'status', 'type', 'version'].sort(),
    );
    expect(String(s.path)).toHaveLength(1024);
  });
});
