import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromObject } from '../../src/cli/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { diffFindings } from '../../src/scanner/history.ts';
import { ScanScheduler, type ScansConfig } from '../../src/scanner/schedule.ts';
import { LIBRARY_KEYS, LIBRARY_SPEC, startLibrary, type Library } from '../fixtures/scanner/library.ts';

// Scheduled scans (`scans:` in rampart.yaml): run on their interval by an injected
// clock, results stored as JSON reports, each run compared with the previous one
// (new / fixed / still open) and new findings emitted as events.

let vulnerable: Library;
let fixed: Library;
const dir = mkdtempSync(join(tmpdir(), 'rampart-scans-'));

beforeAll(async () => {
  [vulnerable, fixed] = await Promise.all([startLibrary(false), startLibrary(true)]);
  writeFileSync(
    join(dir, 'auth.yaml'),
    `identities:\n  ann: { role: member, header: 'X-Library-Key: ${LIBRARY_KEYS.ann}' }\n  ben: { role: member, header: 'X-Library-Key: ${LIBRARY_KEYS.ben}' }\n`,
  );
});

afterAll(async () => {
  await Promise.all([vulnerable?.close(), fixed?.close()]);
});

const job = (target: string): ScansConfig => ({
  results: 'results',
  jobs: [
    {
      name: 'library',
      spec: [LIBRARY_SPEC],
      target,
      auth: 'auth.yaml',
      interval: 3600,
      timezone: 'UTC',
      unsafe: false,
      maxRequests: 2000,
      maxDuration: 60,
      rate: 0,
      checks: ['bola-identity-swap', 'data-exposure', 'unbounded-page-size'],
    },
  ],
});

describe('scheduled scans', () => {
  it('runs when due, stores results, emits new findings, then reports fixed ones', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const events: RampartEvent[] = [];
    const first = new ScanScheduler(job(vulnerable.url), {
      baseDir: dir,
      clock,
      emit: (e) => events.push(e),
    });
    expect(await first.tick()).toEqual([]); // not due before one interval
    clock.advance(3600_000);
    const [run1] = await first.tick();
    expect(run1!.error).toBeUndefined();
    expect(run1!.diff!.new.length).toBeGreaterThanOrEqual(3);
    expect(events.filter((e) => e.type === 'scan-finding')).toHaveLength(run1!.diff!.new.length);
    expect(events.find((e) => e.type === 'scan')).toMatchObject({
      outcome: 'completed',
      api: 'library',
      new: run1!.diff!.new.length,
    });
    expect(await first.tick()).toEqual([]); // the next run is an interval away

    clock.advance(3600_000);
    const [run2] = await first.tick();
    expect(run2!.diff!.new).toEqual([]);
    expect(run2!.diff!.open.map((f) => f.id).sort()).toEqual(run1!.diff!.new.map((f) => f.id).sort());

    // The API is fixed: the next run against it reports every finding as fixed.
    const later = new ScanScheduler(job(fixed.url), { baseDir: dir, clock, emit: (e) => events.push(e) });
    clock.advance(3600_000);
    const [run3] = await later.tick();
    expect(run3!.diff!.fixed.length).toBe(run1!.diff!.new.length);
    expect(readdirSync(join(dir, 'results', 'library')).filter((f) => f.endsWith('.json'))).toHaveLength(3);
  }, 60_000);

  it('reports a job that cannot run as a failed scan event, not a crash', async () => {
    const clock = new ManualClock();
    const events: RampartEvent[] = [];
    const s = new ScanScheduler(job('http://127.0.0.1:1'), {
      baseDir: dir,
      clock,
      emit: (e) => events.push(e),
    });
    clock.advance(3600_000);
    const [r] = await s.tick();
    expect(r!.error).toMatch(/does not answer/);
    expect(events).toEqual([expect.objectContaining({ type: 'scan', outcome: 'failed', api: 'library' })]);
  });

  it('diffs by finding id', () => {
    const f = (id: string) => ({ id }) as never;
    const d = diffFindings([f('a'), f('b')], [f('b'), f('c')]);
    expect([
      d.new.map((x: { id: string }) => x.id),
      d.open.map((x: { id: string }) => x.id),
      d.fixed.map((x: { id: string }) => x.id),
    ]).toEqual([['c'], ['b'], ['a']]);
  });

  it('validates scans: in rampart.yaml', () => {
    const base = {
      apis: [],
      scans: { jobs: [{ name: 'x', spec: ['a.yaml'], target: 'http://h', interval: 10 }] },
    };
    expect(() => configFromObject(base, dir)).toThrow(/interval/);
    const ok = configFromObject(
      { ...base, scans: { jobs: [{ ...base.scans.jobs[0], interval: 600 }] } },
      dir,
    );
    expect(ok.scans!.jobs[0]).toMatchObject({ interval: 600, rate: 20, maxDuration: 300, unsafe: false });
  });

  it('runs a cron job at its cron times by the injected clock, in its time zone', async () => {
    // Mondays to Fridays at 03:15 Paris time; 2026-12-04 is a Friday (UTC+1 in winter).
    const clock = new ManualClock(Date.parse('2026-12-04T01:00:00Z'));
    const events: RampartEvent[] = [];
    const base = job('http://127.0.0.1:1').jobs[0]!;
    const cronJob = { ...base, interval: undefined };
    const s = new ScanScheduler(
      { results: 'results-cron', jobs: [{ ...cronJob, cron: '15 3 * * MON-FRI', timezone: 'Europe/Paris' }] },
      { baseDir: dir, clock, emit: (e) => events.push(e) },
    );
    expect(s.nextRuns()).toEqual({ library: Date.parse('2026-12-04T02:15:00Z') });
    clock.set(Date.parse('2026-12-04T02:14:59Z'));
    expect(await s.tick()).toEqual([]); // one second early: not due
    clock.set(Date.parse('2026-12-04T02:15:00Z'));
    const [r] = await s.tick();
    expect(r!.name).toBe('library');
    expect(events).toEqual([expect.objectContaining({ type: 'scan', api: 'library', outcome: 'failed' })]);
    // Friday's run done: the next is Monday 03:15 Paris, not Saturday.
    expect(s.nextRuns()).toEqual({ library: Date.parse('2026-12-07T02:15:00Z') });
    clock.set(Date.parse('2026-12-06T12:00:00Z'));
    expect(await s.tick()).toEqual([]);
  });

  it('validates cron schedules at config load, at their pointer', () => {
    const jobOf = (extra: object) => ({ name: 'x', spec: ['a.yaml'], target: 'http://h', ...extra });
    const load = (jobs: object[]) => () => configFromObject({ apis: [], scans: { jobs } }, dir);
    expect(load([jobOf({ cron: '0 25 * * *' })])).toThrow(
      /\/scans\/jobs\/0\/cron {2}invalid cron expression '0 25 \* \* \*': field 2 \(hour\) '25': 25 is out of range 0–23/,
    );
    expect(load([jobOf({ cron: '0 0 30 2 *' })])).toThrow(/\/scans\/jobs\/0\/cron .*never runs/);
    expect(load([jobOf({})])).toThrow(
      /\/scans\/jobs\/0\/name {2}scan 'x' needs a schedule: set interval or cron/,
    );
    expect(load([jobOf({ cron: '@daily', interval: 600 })])).toThrow(
      /\/scans\/jobs\/0\/cron {2}set interval or cron, not both/,
    );
    expect(load([jobOf({ cron: '@daily', timezone: 'Mars/Olympus' })])).toThrow(
      /\/scans\/jobs\/0\/timezone {2}unknown time zone 'Mars\/Olympus'/,
    );
    expect(load([jobOf({ interval: 600, timezone: 'Europe/Paris' })])).toThrow(
      /\/scans\/jobs\/0\/timezone {2}timezone applies to cron only/,
    );
    // The scheduler refuses the same things when built from an unchecked object.
    expect(
      () =>
        new ScanScheduler(
          {
            results: 'r',
            jobs: [
              {
                ...jobOf({ cron: '* * *' }),
                timezone: 'UTC',
                unsafe: false,
                maxRequests: 1,
                maxDuration: 1,
                rate: 0,
              },
            ],
          },
          { baseDir: dir, clock: new ManualClock(), emit: () => {} },
        ),
    ).toThrow(/\/scans\/jobs\/0\/cron: invalid cron expression/);
    const ok = configFromObject(
      { apis: [], scans: { jobs: [jobOf({ cron: '0 3 * * 1-5', timezone: 'Europe/Paris' })] } },
      dir,
    );
    expect(ok.scans!.jobs[0]).toMatchObject({ cron: '0 3 * * 1-5', timezone: 'Europe/Paris' });
    expect(ok.scans!.jobs[0]!.interval).toBeUndefined();
  });
});
