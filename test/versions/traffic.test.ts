import { expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { readTraffic, TrafficRecorder } from '../../src/versions/traffic.ts';
import { forEachStore } from '../helpers/stores.ts';

const req = (at: number, route: string, base = '/v2'): RampartEvent => ({
  type: 'request',
  at,
  method: 'GET',
  route,
  api: 'lab',
  version: base,
  status: 200,
  durationMs: 1,
});

forEachStore('inventory traffic', (getDb) => {
  it('aggregates in memory and upserts in batches: counts add up across flushes, first/last seen kept', async () => {
    const db = getDb();
    const clock = new ManualClock(1_000_000);
    const rec = new TrafficRecorder({ db, clock, log: silentLogger, flushMs: 0 });
    for (let i = 0; i < 500; i++) rec.observe(req(1_000_000 + i, '/records/{recordId}'));
    rec.observe(req(1_000_100, '/health'));
    // Nothing is written per request.
    expect(await db.query('SELECT * FROM inventory_operation_traffic')).toEqual([]);
    await rec.flush();
    for (let i = 0; i < 10; i++) rec.observe(req(900_000 + i, '/records/{recordId}'));
    rec.observe(req(2_000_000, '/records/{recordId}'));
    await rec.close();
    const t = await readTraffic(db);
    const records = t.operations.find((o) => o.route === '/records/{recordId}')!;
    expect(records).toMatchObject({
      api: 'lab',
      base: '/v2',
      method: 'GET',
      calls: 511,
      firstSeen: 900_000,
      lastSeen: 2_000_000,
    });
    expect(t.operations.find((o) => o.route === '/health')!.calls).toBe(1);
  });

  it('records shadow probes with a sample, bounded source addresses, and deprecated usage per consumer', async () => {
    const db = getDb();
    const rec = new TrafficRecorder({
      db,
      clock: new ManualClock(),
      log: silentLogger,
      flushMs: 0,
      maxShadowPaths: 3,
    });
    for (let i = 0; i < 30; i++)
      rec.observe({
        type: 'shadow-endpoint',
        at: 10 + i,
        ip: `198.51.100.${i}`,
        method: 'GET',
        path: '/debug/vars',
        reason: 'unknown-path',
      });
    for (const p of ['/.env', '/actuator', '/admin.php', '/wp-login.php'])
      rec.observe({
        type: 'shadow-endpoint',
        at: 50,
        ip: '203.0.113.9',
        method: 'GET',
        path: p,
        reason: 'unknown-path',
      });
    expect(rec.overflow).toBe(2);
    const used = (consumer: string | undefined, at: number): RampartEvent => ({
      type: 'deprecated-version-used',
      at,
      api: 'lab',
      version: '/v1',
      method: 'GET',
      route: '/users/{userId}',
      state: 'deprecated',
      ...(consumer ? { consumer, consumerKind: 'user' as const } : { ip: '192.0.2.1' }),
    });
    rec.observe(used('alice', 5));
    rec.observe(used('alice', 9));
    rec.observe(used('bob', 7));
    rec.observe(used(undefined, 8));
    await rec.close();
    const t = await readTraffic(db);
    const debug = t.shadow.find((s) => s.path === '/debug/vars')!;
    expect(debug).toMatchObject({
      hits: 30,
      sample: 'GET /debug/vars',
      reason: 'unknown-path',
      firstSeen: 10,
      lastSeen: 39,
    });
    expect(debug.ips).toHaveLength(20);
    expect(t.shadow).toHaveLength(3);
    expect(t.deprecatedUsage.map((u) => [u.consumerKind, u.consumer, u.calls])).toEqual([
      ['user', 'alice', 2],
      ['user', 'bob', 1],
      ['anonymous', 'ip:192.0.2.1', 1],
    ]);
  });

  it('keeps the counts when a flush fails and writes them with the next one', async () => {
    const db = getDb();
    const rec = new TrafficRecorder({ db, clock: new ManualClock(), log: silentLogger, flushMs: 0 });
    rec.observe(req(1, '/a'));
    await db.run('ALTER TABLE inventory_operation_traffic RENAME TO inventory_operation_traffic_away');
    await rec.flush();
    await db.run('ALTER TABLE inventory_operation_traffic_away RENAME TO inventory_operation_traffic');
    rec.observe(req(2, '/a'));
    await rec.close();
    const t = await readTraffic(db);
    expect(t.operations.find((o) => o.route === '/a')!.calls).toBe(2);
  });
});
