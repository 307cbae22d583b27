import { describe, expect, it } from 'vitest';
import { CronError, parseCron } from './cron.ts';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString().replace(':00.000Z', 'Z');
/** The next `n` runs after `from`. */
const runs = (expr: string, from: string, n: number, tz = 'UTC') => {
  const c = parseCron(expr, tz);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) out.push(iso((t = c.next(t))));
  return out;
};

describe('parseCron: next runs in UTC', () => {
  it.each<[string, string, string[]]>([
    ['* * * * *', '2026-01-01T00:00:30Z', ['2026-01-01T00:01Z', '2026-01-01T00:02Z']],
    ['0 * * * *', '2026-01-01T00:00:00Z', ['2026-01-01T01:00Z', '2026-01-01T02:00Z']],
    ['*/20 * * * *', '2026-01-01T00:05:00Z', ['2026-01-01T00:20Z', '2026-01-01T00:40Z', '2026-01-01T01:00Z']],
    [
      '5-15/5 8 * * *',
      '2026-01-01T08:06:00Z',
      ['2026-01-01T08:10Z', '2026-01-01T08:15Z', '2026-01-02T08:05Z'],
    ],
    ['0 9,17 * * *', '2026-01-01T10:00:00Z', ['2026-01-01T17:00Z', '2026-01-02T09:00Z']],
    // 2026-01-02 is a Friday: the next weekday runs are Friday, Monday, Tuesday.
    ['30 3 * * 1-5', '2026-01-02T00:00:00Z', ['2026-01-02T03:30Z', '2026-01-05T03:30Z', '2026-01-06T03:30Z']],
    ['0 0 * * MON-FRI', '2026-01-02T12:00:00Z', ['2026-01-05T00:00Z']],
    ['0 0 * * 7', '2026-01-01T00:00:00Z', ['2026-01-04T00:00Z']], // 7 = Sunday
    ['0 0 * * sun', '2026-01-01T00:00:00Z', ['2026-01-04T00:00Z']],
    ['0 0 1 */3 *', '2026-01-15T00:00:00Z', ['2026-04-01T00:00Z', '2026-07-01T00:00Z']],
    ['0 0 1 JAN,jul *', '2026-02-01T00:00:00Z', ['2026-07-01T00:00Z', '2027-01-01T00:00Z']],
    ['0 0 31 * *', '2026-01-31T00:00:00Z', ['2026-03-31T00:00Z', '2026-05-31T00:00Z']],
    ['0 0 29 2 *', '2026-01-01T00:00:00Z', ['2028-02-29T00:00Z']],
    // Both day fields restricted: either matches (Vixie cron). The 13th, or any Friday.
    ['0 12 13 * 5', '2026-02-01T00:00:00Z', ['2026-02-06T12:00Z', '2026-02-13T12:00Z', '2026-02-20T12:00Z']],
    ['@hourly', '2026-01-01T00:59:00Z', ['2026-01-01T01:00Z']],
    ['@daily', '2026-01-01T00:00:00Z', ['2026-01-02T00:00Z']],
    ['@weekly', '2026-01-01T00:00:00Z', ['2026-01-04T00:00Z']],
    ['@monthly', '2026-01-01T00:00:00Z', ['2026-02-01T00:00Z']],
    ['@yearly', '2026-01-01T00:00:00Z', ['2027-01-01T00:00Z']],
  ])('%s after %s', (expr, from, expected) => {
    expect(runs(expr, from, expected.length)).toEqual(expected);
  });

  it('is strictly after the instant, on a whole minute', () => {
    expect(iso(parseCron('0 3 * * *').next(at('2026-01-01T03:00:00Z')))).toBe('2026-01-02T03:00Z');
    expect(iso(parseCron('0 3 * * *').next(at('2026-01-01T02:59:59.999Z')))).toBe('2026-01-01T03:00Z');
  });
});

describe('parseCron: time zones', () => {
  it('reads the wall clock of the zone (Paris is UTC+1 in winter, UTC+2 in summer)', () => {
    expect(runs('0 3 * * *', '2026-01-10T00:00:00Z', 1, 'Europe/Paris')).toEqual(['2026-01-10T02:00Z']);
    expect(runs('0 3 * * *', '2026-07-10T00:00:00Z', 1, 'Europe/Paris')).toEqual(['2026-07-10T01:00Z']);
    expect(runs('0 9 * * 1', '2026-01-01T00:00:00Z', 1, 'Asia/Kolkata')).toEqual(['2026-01-05T03:30Z']);
  });

  it('runs a time skipped by spring-forward after the gap, once (Berlin, 29 March 2026)', () => {
    expect(runs('30 2 * * *', '2026-03-28T00:00:00Z', 3, 'Europe/Berlin')).toEqual([
      '2026-03-28T01:30Z', // 02:30 CET
      '2026-03-29T01:30Z', // 02:30 does not exist: 03:30 CEST
      '2026-03-30T00:30Z', // 02:30 CEST
    ]);
  });

  it('runs a fixed time repeated by fall-back once, at its first occurrence (Berlin, 25 October 2026)', () => {
    expect(runs('30 2 * * *', '2026-10-24T12:00:00Z', 2, 'Europe/Berlin')).toEqual([
      '2026-10-25T00:30Z', // 02:30 CEST; 02:30 CET (01:30Z) is not run again
      '2026-10-26T01:30Z',
    ]);
  });

  it('follows real time through a repeated hour when the hour is a wildcard (New York, 1 November 2026)', () => {
    expect(runs('*/30 * * * *', '2026-11-01T04:45:00Z', 6, 'America/New_York')).toEqual([
      '2026-11-01T05:00Z', // 01:00 EDT
      '2026-11-01T05:30Z', // 01:30 EDT
      '2026-11-01T06:00Z', // 01:00 EST
      '2026-11-01T06:30Z', // 01:30 EST
      '2026-11-01T07:00Z', // 02:00 EST
      '2026-11-01T07:30Z',
    ]);
  });
});

describe('parseCron: precise errors', () => {
  it.each([
    ['', 'expected 5 fields (minute hour day-of-month month day-of-week), got 0'],
    ['* * * *', 'expected 5 fields (minute hour day-of-month month day-of-week), got 4'],
    ['* * * * * *', 'expected 5 fields (minute hour day-of-month month day-of-week), got 6'],
    ['60 * * * *', "field 1 (minute) '60': 60 is out of range 0–59"],
    ['0 24 * * *', "field 2 (hour) '24': 24 is out of range 0–23"],
    ['0 0 0 * *', "field 3 (day of month) '0': 0 is out of range 1–31"],
    ['0 0 * 13 *', "field 4 (month) '13': 13 is out of range 1–12"],
    ['0 0 * * 8', "field 5 (day of week) '8': 8 is out of range 0–7"],
    ['0 0 * FOO *', "field 4 (month) 'FOO': 'FOO' is not a number or a name (JAN–DEC)"],
    ['x * * * *', "field 1 (minute) 'x': 'x' is not a number"],
    ['30-10 * * * *', "field 1 (minute) '30-10': range 30-10 runs backwards"],
    ['*/0 * * * *', "field 1 (minute) '*/0': step '0' must be a whole number of at least 1"],
    ['*/61 * * * *', "field 1 (minute) '*/61': step 61 is larger than the field's range 0–59"],
    ['1/2/3 * * * *', "field 1 (minute) '1/2/3': more than one '/' in '1/2/3'"],
    ['1,,2 * * * *', "field 1 (minute) '1,,2': empty list item"],
    ['1- * * * *', "field 1 (minute) '1-': '1-' is not a value or a range a-b"],
    ['0 0 30 2 *', 'day of month 30 never occurs in month 2: the schedule never runs'],
    ['0 0 31 4,6 *', 'day of month 31 never occurs in month 4,6: the schedule never runs'],
    ['@often', "unknown shorthand '@often'"],
  ])('%j → %s', (expr, message) => {
    expect(() => parseCron(expr)).toThrow(new CronError(message));
  });

  it('refuses an unknown time zone', () => {
    expect(() => parseCron('0 0 * * *', 'Europe/Pariss')).toThrow(
      "unknown time zone 'Europe/Pariss' (an IANA name such as Europe/Paris, or UTC)",
    );
  });
});
