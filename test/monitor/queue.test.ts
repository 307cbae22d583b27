/**
 * The request path's hand-off (src/monitor/queue.ts): bounded, counting what it drops, in
 * order, a batch per turn of the event loop — and the drops on /metrics.
 */
import { describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/cli/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Monitor } from '../../src/monitor/index.ts';
import { EventQueue } from '../../src/monitor/queue.ts';
import { openStore } from '../../src/store/index.ts';

const event = (i: number): RampartEvent => ({
  type: 'shadow-endpoint',
  at: i,
  method: 'GET',
  path: `/probe/${i}`,
  reason: 'unknown-path',
  ip: '192.0.2.1',
});

describe('EventQueue', () => {
  it('keeps at most its capacity, drops and counts the rest, hands over in order in bounded batches', async () => {
    const batches: number[][] = [];
    const q = new EventQueue(8, (b) => batches.push(b.map((e) => e.at!)), 3);
    for (let i = 0; i < 11; i++) q.push(event(i));
    expect(q.pending).toBe(8);
    expect(q.accepted).toBe(8);
    expect(q.dropped).toBe(3);
    expect(batches).toEqual([]); // nothing runs on the pushing turn
    await new Promise((r) => setImmediate(r));
    // One batch of at most 3 per turn, so I/O keeps flowing between them.
    expect(batches).toEqual([[0, 1, 2]]);
    q.drain(); // an explicit drain (shutdown, a scrape) takes everything at once
    expect(batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(batches).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
    await new Promise((r) => setImmediate(r)); // the turn scheduled for the rest finds nothing
    expect(batches).toHaveLength(3);
    expect(q.pending).toBe(0);
    q.push(event(20)); // room again
    q.drain();
    expect(batches.at(-1)).toEqual([20]);
    expect(q.dropped).toBe(3);
  });

  it('a monitor whose queue overflows says so on /metrics (stage="queue")', async () => {
    const db = await openStore('sqlite::memory:');
    const config = configFromObject(
      { monitor: { queueSize: 1024, auditLog: { enabled: false } } },
      '/tmp',
    ).monitor;
    const m = new Monitor({ config, db, clock: new ManualClock(), log: silentLogger });
    try {
      for (let i = 0; i < 1100; i++) m.queue.push(event(i));
      const text = await m.exposition(); // what /metrics serves: the queue handed over first
      expect(text).toMatch(/^rampart_monitor_events_dropped_total\{stage="queue"\} 76$/m);
      expect(text).toMatch(/^rampart_shadow_endpoint_probes_total\{reason="unknown-path"\} 1024$/m);
    } finally {
      await m.stop();
      await db.close();
    }
  });
});
