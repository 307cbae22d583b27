import { expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { AuditLog, queryAuditLog, type AuditLogOptions } from '../../src/monitor/audit-log.ts';
import type { Db } from '../../src/store/index.ts';
import { forEachStore } from '../helpers/stores.ts';

const T0 = Date.UTC(2026, 0, 1);
const OPTS: AuditLogOptions = {
  batchSize: 50,
  flushIntervalMs: 1000,
  maxPending: 1000,
  retentionMs: 0,
  maxRows: 0,
  requests: 'errors',
};

const denied = (i: number, over: Partial<RampartEvent> = {}): RampartEvent =>
  ({
    type: 'denied',
    at: T0 + i,
    policy: 'authenticate',
    problem: 'unauthenticated',
    route: '/items',
    principal: `u${i % 3}`,
    ip: `10.0.0.${i % 2}`,
    ...over,
  }) as RampartEvent;

forEachStore('audit log', (getDb) => {
  it('writes in batches; queries filter by time, principal, IP, route, decision and category, newest first, with paging', async () => {
    const clock = new ManualClock(T0);
    const log = new AuditLog(getDb(), OPTS, clock, silentLogger);
    for (let i = 0; i < 120; i++) log.append(denied(i));
    log.append({ type: 'request', at: T0 + 500, method: 'GET', route: '/items', status: 200, durationMs: 1 }); // not a decision worth keeping
    log.append({ type: 'request', at: T0 + 501, method: 'GET', route: '/items', status: 503, durationMs: 1 });
    log.append({
      type: 'auth',
      at: T0 + 502,
      action: 'login',
      outcome: 'success',
      user: 'u1',
      ip: '10.0.0.1',
    });
    await log.flush();
    expect(log.acknowledgedSeq).toBe(122);
    const db = getDb();
    const all = await queryAuditLog(db, { limit: 1000 });
    expect(all.items).toHaveLength(122);
    expect(all.items[0]!.type).toBe('auth');
    expect((await queryAuditLog(db, { decision: 'error' })).items.map((r) => r.status)).toEqual([503]);
    expect((await queryAuditLog(db, { decision: 'allow' })).items[0]!.principal).toBe('u1');
    const u1 = await queryAuditLog(db, {
      principal: 'u1',
      ip: '10.0.0.1',
      category: 'API2:2023',
      from: T0 + 10,
      to: T0 + 100,
      limit: 1000,
    });
    expect(
      u1.items.every(
        (r) => r.principal === 'u1' && r.ip === '10.0.0.1' && r.at >= T0 + 10 && r.at < T0 + 100,
      ),
    ).toBe(true);
    expect(u1.items.length).toBe(15);
    // Paging walks everything exactly once.
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryAuditLog(db, { route: '/items', limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.next;
    } while (cursor);
    expect(new Set(seen).size).toBe(121);
    await log.close();
  });

  it('retention deletes by age, then by size (oldest first)', async () => {
    const db = getDb();
    await db.run('DELETE FROM audit_log');
    const clock = new ManualClock(T0 + 10 * 86_400_000);
    const log = new AuditLog(db, { ...OPTS, retentionMs: 7 * 86_400_000, maxRows: 5 }, clock, silentLogger);
    for (let i = 0; i < 4; i++) log.append(denied(i)); // 10 days old
    for (let i = 0; i < 8; i++) log.append(denied(i, { at: T0 + 9 * 86_400_000 + i }));
    await log.flush();
    expect(await log.prune()).toBe(4 + 3);
    const left = await queryAuditLog(db, { limit: 100 });
    expect(left.items.map((r) => r.at - (T0 + 9 * 86_400_000))).toEqual([7, 6, 5, 4, 3]);
    await log.close();
  });

  it('a store that refuses writes: records wait (bounded, then dropped and counted), an alert is raised and resolved', async () => {
    const db = getDb();
    let fail = true;
    const flaky: Db = {
      dialect: db.dialect,
      query: (s, p) => db.query(s, p),
      one: (s, p) => db.one(s, p),
      run: (s, p) => db.run(s, p),
      transaction: (fn) => (fail ? Promise.reject(new Error('disk full')) : db.transaction(fn)),
      close: () => Promise.resolve(),
    };
    const clock = new ManualClock(T0);
    const health: boolean[] = [];
    const log = new AuditLog(flaky, { ...OPTS, maxPending: 10 }, clock, silentLogger, (ok) =>
      health.push(ok),
    );
    for (let i = 0; i < 15; i++) log.append(denied(i, { at: T0 + 10_000 + i }));
    expect(log.dropped).toBe(5);
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(log.flush()).rejects.toThrow('disk full');
      clock.advance(60_000);
    }
    expect(health).toEqual([false]);
    expect(log.pendingCount).toBe(10);
    fail = false;
    await log.flush();
    expect(health).toEqual([false, true]);
    expect(log.acknowledgedSeq).toBe(10);
    expect((await queryAuditLog(db, { from: T0 + 10_000, to: T0 + 20_000 })).items).toHaveLength(10);
    await log.close();
  });
});
