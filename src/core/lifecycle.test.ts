import { parseItem } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import {
  lifecycleHeaders,
  lifecycleState,
  parseLifecycleDate,
  sunsetHeader,
  deprecationHeader,
} from './lifecycle.ts';

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

describe('lifecycle dates', () => {
  it('reads a date as 00:00:00 UTC and a date-time exactly; refuses impossible dates', () => {
    expect(parseLifecycleDate('2026-12-31')).toBe(Date.UTC(2026, 11, 31));
    expect(parseLifecycleDate('2026-12-31T23:59:59Z')).toBe(Date.UTC(2026, 11, 31, 23, 59, 59));
    expect(parseLifecycleDate('2026-12-31T23:59:59+01:00')).toBe(Date.UTC(2026, 11, 31, 22, 59, 59));
    for (const bad of ['2026-02-30', '2026-13-01', '31.12.2026', '2026-12-31T25:00:00Z', '', 'tomorrow'])
      expect(parseLifecycleDate(bad), bad).toBeUndefined();
  });

  it('moves active → deprecated → retired exactly at each instant', () => {
    const l = { deprecated: 1_000, sunset: 2_000 };
    expect(lifecycleState(l, 999)).toBe('active');
    expect(lifecycleState(l, 1_000)).toBe('deprecated');
    expect(lifecycleState(l, 1_999)).toBe('deprecated');
    expect(lifecycleState(l, 2_000)).toBe('retired');
    expect(lifecycleState({}, 5_000)).toBe('active');
  });
});

describe('lifecycle headers', () => {
  it('Deprecation is an RFC 9745 structured-field Date; Sunset an RFC 8594 IMF-fixdate', () => {
    const dep = Date.UTC(2023, 5, 30, 23, 59, 59);
    const [value, params] = parseItem(deprecationHeader(dep));
    expect(value).toBeInstanceOf(Date);
    expect((value as Date).getTime()).toBe(dep);
    expect(params.size).toBe(0);
    const sunset = sunsetHeader(Date.UTC(2026, 11, 31, 23, 59, 59));
    expect(sunset).toBe('Thu, 31 Dec 2026 23:59:59 GMT');
    expect(sunset).toMatch(IMF_FIXDATE);
    expect(Date.parse(sunset)).toBe(Date.UTC(2026, 11, 31, 23, 59, 59));
  });

  it('links the deprecation policy, the sunset notice and the successor (RFC 8288 / RFC 5829)', () => {
    const h = lifecycleHeaders({
      deprecated: Date.UTC(2026, 0, 1),
      sunset: Date.UTC(2027, 5, 30),
      successor: '/v2',
      deprecationLink: 'https://api.example.com/changelog#v1',
      sunsetLink: 'https://api.example.com/sunset/v1',
    });
    expect(h.deprecation).toBe('@1767225600');
    expect(h.links).toEqual([
      '<https://api.example.com/changelog#v1>; rel="deprecation"',
      '<https://api.example.com/sunset/v1>; rel="sunset"',
      '</v2>; rel="successor-version"',
    ]);
    expect(lifecycleHeaders({ successor: '/v2' })).toEqual({ links: [] });
    expect(() => lifecycleHeaders({ deprecated: 0, deprecationLink: 'https://x.example/a b' })).toThrow(
      /Link/,
    );
  });
});
