/**
 * The declared-limit rules of `limits.ts` with their exact answers: window durations, the
 * default names, every `rampart check` problem of one level with its path and message, and
 * the merged limits of an operation (inner names replacing outer ones, fail mode and unit
 * defaults). Written for issue #19's mutation run (docs/testing.md).
 */
import { describe, expect, it } from 'vitest';
import { knownSelector } from './keys.ts';
import { asList, defaultName, levelProblems, mergeLevels, perList, windowSeconds } from './limits.ts';

describe('windowSeconds', () => {
  it('reads seconds and whole durations, NaN for anything else', () => {
    expect(windowSeconds(60)).toBe(60);
    expect(windowSeconds(1.5)).toBeNaN();
    expect(windowSeconds('90s')).toBe(90);
    expect(windowSeconds('15m')).toBe(900);
    expect(windowSeconds('12h')).toBe(43_200);
    expect(windowSeconds('30d')).toBe(2_592_000);
    for (const bad of ['x15m', '15mx', '015m', '0s', '15', 'm', '1.5h', ''])
      expect(windowSeconds(bad), bad).toBeNaN();
  });
});

describe('names and lists', () => {
  it('perList, defaultName and asList', () => {
    expect(perList('user')).toEqual(['user']);
    const per = ['user', 'path.id'];
    expect(perList(per)).toEqual(per);
    expect(perList(per)).not.toBe(per);
    expect(defaultName({ per, limit: 1, window: '1h' })).toBe('user+path.id-3600s');
    expect(defaultName({ per: 'ip', limit: 1, window: 60 })).toBe('ip-60s');
    expect(defaultName({ name: 'mine', per: 'ip', limit: 1, window: 60 })).toBe('mine');
    expect(asList(undefined)).toEqual([]);
    const one = { per: 'ip', limit: 1, window: 60 };
    expect(asList(one)).toEqual([one]);
    expect(asList([one, one])).toEqual([one, one]);
  });
});

describe('levelProblems', () => {
  it('finds nothing in sound limits (the same size twice under other names, a bytes burst above its limit)', () => {
    expect(
      levelProblems(
        [
          { per: 'user', limit: 10, window: 60 },
          { name: 'same-size', per: 'user', limit: 10, window: '1m' },
          { name: 'user-bytes', per: 'user', limit: 999, window: 60, unit: 'content-bytes' },
          { name: 'eq-burst', per: 'route', limit: 5, window: 60, burst: 5 },
          { name: 'bytes-burst', per: 'route', limit: 5, window: 90, burst: 9, unit: 'content-bytes' },
          { name: 'max-log', per: 'ip', limit: 10_000, window: 60, algorithm: 'sliding-window' },
          // Large limits are for GCRA, written out or by default.
          { name: 'big', per: 'user', limit: 50_000, window: '1d' },
          { name: 'big-gcra', per: 'user', limit: 20_000, window: 90, algorithm: 'gcra' },
          // Per lists are told apart by their selectors, not by their spelling run together.
          { name: 'x1', per: ['header.a', 'ip'], limit: 5, window: 30 },
          { name: 'x2', per: 'header.aip', limit: 6, window: 30 },
          // A bytes quota and a request limit of the same per and window do not contradict.
          { name: 'r45', per: 'client', limit: 7, window: 45, unit: 'requests' },
          { name: 'b45', per: 'client', limit: 8, window: 45, unit: 'content-bytes' },
        ],
        knownSelector,
      ),
    ).toEqual([]);
  });

  it('reports each problem of a list at its item and key', () => {
    expect(
      levelProblems(
        [
          { per: 'user', limit: 10, window: 60 },
          { per: ['user', 'nope'], limit: 10, window: 0 },
          { per: 'bogus', limit: 5, window: -60 },
          { per: 'user', limit: 20_000, window: 60, algorithm: 'sliding-window' },
          { name: 'sw', per: 'ip', limit: 5, window: 60, algorithm: 'sliding-window', burst: 2 },
          {
            name: 'swb',
            per: 'ip',
            limit: 5,
            window: 120,
            algorithm: 'sliding-window',
            unit: 'content-bytes',
          },
          { name: 'big-burst', per: 'client', limit: 5, window: 60, burst: 6 },
          // `unit: requests` written out is the default unit.
          { name: 'imp', per: 'api-key', limit: 3, window: 15 },
          { name: 'exp', per: 'api-key', limit: 4, window: 15, unit: 'requests' },
          // The first of a shape is the one named.
          { name: 'c0', per: 'username', limit: 10, window: 20 },
          { name: 'c1', per: 'username', limit: 10, window: 20 },
          { name: 'c2', per: 'username', limit: 20, window: 20 },
        ],
        knownSelector,
      ),
    ).toEqual([
      { path: ['1', 'window'], message: 'the window must be a positive duration' },
      { path: ['1', 'per', '1'], message: "unknown 'per' key 'nope'" },
      { path: ['2', 'window'], message: 'the window must be a positive duration' },
      { path: ['2', 'per'], message: "unknown 'per' key 'bogus'" },
      {
        path: ['3', 'limit'],
        message:
          'a sliding-window limit keeps one entry per admitted request: at most 10000 (use gcra for larger limits)',
      },
      { path: ['3'], message: "limit 'user-60s' is declared twice at this level (also item 0)" },
      {
        path: ['3', 'limit'],
        message: "contradicts item 0: the same 'per' and window with limit 10 vs 20000",
      },
      { path: ['4', 'algorithm'], message: 'sliding-window limits count requests and have no burst' },
      { path: ['5', 'algorithm'], message: 'sliding-window limits count requests and have no burst' },
      { path: ['6', 'burst'], message: 'burst 6 exceeds the limit 5 of its window' },
      { path: ['8', 'limit'], message: "contradicts item 7: the same 'per' and window with limit 3 vs 4" },
      { path: ['11', 'limit'], message: "contradicts item 9: the same 'per' and window with limit 10 vs 20" },
    ]);
  });

  it('a single limit (not a list): paths without an index', () => {
    expect(levelProblems({ per: ['ip', 'nope'], limit: 1, window: 0 }, knownSelector)).toEqual([
      { path: ['window'], message: 'the window must be a positive duration' },
      { path: ['per', '1'], message: "unknown 'per' key 'nope'" },
    ]);
    expect(levelProblems({ per: 'ip', limit: 1, window: 60 }, knownSelector)).toEqual([]);
    expect(levelProblems(undefined, knownSelector)).toEqual([]);
  });
});

describe('mergeLevels', () => {
  it('every level applies; an inner name replaces an outer one and moves last; defaults filled in', () => {
    expect(
      mergeLevels(
        [
          {
            level: 'default',
            scope: '*',
            value: [
              { per: 'ip', limit: 1000, window: '1h' },
              { name: 'minute', per: 'user', limit: 100, window: 60 },
            ],
          },
          { level: 'document', scope: 'shop/v1', value: undefined },
          {
            level: 'path',
            scope: 'shop/v1/orders',
            value: { name: 'minute', per: 'user', limit: 10, window: '1m', failMode: 'open' },
          },
          {
            level: 'operation',
            scope: 'shop/v1 GET /orders',
            value: [
              { name: 'bytes', per: ['user', 'ip'], limit: 5000, window: '1d', unit: 'content-bytes' },
              { name: 'burst', per: 'user', limit: 20, window: 1, burst: 5 },
            ],
          },
        ],
        'closed',
      ),
    ).toEqual([
      {
        name: 'ip-3600s',
        per: ['ip'],
        limit: 1000,
        windowMs: 3_600_000,
        burst: undefined,
        failMode: 'closed',
        unit: 'requests',
        algorithm: 'sliding-window',
        level: 'default',
        scope: '*',
      },
      {
        name: 'minute',
        per: ['user'],
        limit: 10,
        windowMs: 60_000,
        burst: undefined,
        failMode: 'open',
        unit: 'requests',
        algorithm: 'sliding-window',
        level: 'path',
        scope: 'shop/v1/orders',
      },
      {
        name: 'bytes',
        per: ['user', 'ip'],
        limit: 5000,
        windowMs: 86_400_000,
        burst: undefined,
        failMode: 'closed',
        unit: 'content-bytes',
        algorithm: 'gcra',
        level: 'operation',
        scope: 'shop/v1 GET /orders',
      },
      {
        name: 'burst',
        per: ['user'],
        limit: 20,
        windowMs: 1000,
        burst: 5,
        failMode: 'closed',
        unit: 'requests',
        algorithm: 'gcra',
        level: 'operation',
        scope: 'shop/v1 GET /orders',
      },
    ]);
  });
});
