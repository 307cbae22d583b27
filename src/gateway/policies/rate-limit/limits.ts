/**
 * Declared limits → the limits of one operation. A limit can be declared in rampart.yaml
 * (`policies.rate-limit.defaults`, shared by every operation of every API), at document
 * level (shared by the version's operations), at path level (shared by the path's methods)
 * or on the operation. All levels apply together; an inner level's limit with the same
 * `name` replaces the outer one for that operation (the default name is `<per>-<window>s`,
 * so `{ per: user, window: 60 }` on an operation overrides the API's per-user minute).
 * Within one level, two limits with the same name, or with the same `per` and window but
 * different sizes, contradict each other and are refused (`rampart check`, with location).
 */
import type { FailMode } from '../../../core/counters.ts';
import type { XRampartProblem } from '../../policy.ts';

export interface DeclaredLimit {
  name?: string;
  per: string | string[];
  limit: number;
  window: number | string;
  burst?: number;
  failMode?: FailMode;
  /** `requests` (default) or `content-bytes`: a quota on response bytes. */
  unit?: 'requests' | 'content-bytes';
  /**
   * `sliding-window` (an exact count in any window; memory per admitted request) or `gcra`
   * (one value per key, bursts). Default: `defaultAlgorithm`.
   */
  algorithm?: 'gcra' | 'sliding-window';
}

export type Level = 'default' | 'document' | 'path' | 'operation';

export interface CompiledLimit {
  name: string;
  per: readonly string[];
  limit: number;
  windowMs: number;
  burst: number | undefined;
  failMode: FailMode;
  unit: 'requests' | 'content-bytes';
  algorithm: 'gcra' | 'sliding-window';
  level: Level;
  /** What shares the counter: `*` (defaults), the version, the path or the operation. */
  scope: string;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Largest sliding-window limit (its log holds one entry per admitted request). */
export const MAX_LOG = 10_000;

/** Longest window whose limits default to the sliding-window log (longer ones are quotas). */
export const MAX_LOG_WINDOW_S = 3600;

/**
 * The algorithm of a limit that names none: the exact sliding window wherever a log is
 * affordable — a request limit of at most MAX_LOG per window of at most an hour, without a
 * declared burst — otherwise GCRA (bytes quotas, declared bursts, large or daily quotas,
 * whose log would hold every admitted request of the day). docs/rate-limits.md.
 */
export function defaultAlgorithm(l: DeclaredLimit): 'gcra' | 'sliding-window' {
  if (l.unit === 'content-bytes') return 'gcra';
  if (l.algorithm) return l.algorithm;
  return l.burst === undefined && l.limit <= MAX_LOG && windowSeconds(l.window) <= MAX_LOG_WINDOW_S
    ? 'sliding-window'
    : 'gcra';
}

/** Seconds of a window (`60`, `90s`, `15m`, `1h`, `30d`); NaN when malformed. */
export function windowSeconds(w: number | string): number {
  if (typeof w === 'number') return Number.isInteger(w) ? w : NaN;
  const m = /^([1-9][0-9]*)(s|m|h|d)$/.exec(w);
  return m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
}

export const perList = (per: string | readonly string[]): string[] =>
  typeof per === 'string' ? [per] : [...per];

export const defaultName = (l: DeclaredLimit): string =>
  l.name ?? `${perList(l.per).join('+')}-${windowSeconds(l.window)}s`;

/** A limit value as written: one limit or a list. */
export const asList = (v: unknown): DeclaredLimit[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as DeclaredLimit[]) : [v as DeclaredLimit];

/** Problems of one level's limits (paths relative to the key's value). */
export function levelProblems(value: unknown, isKnown: (sel: string) => boolean): XRampartProblem[] {
  const list = asList(value);
  const many = Array.isArray(value);
  const at = (i: number, ...rest: string[]) => (many ? [String(i), ...rest] : rest);
  const out: XRampartProblem[] = [];
  const names = new Map<string, number>();
  const shapes = new Map<string, { i: number; limit: number }>();
  list.forEach((l, i) => {
    const w = windowSeconds(l.window);
    if (!(w > 0)) out.push({ path: at(i, 'window'), message: 'the window must be a positive duration' });
    perList(l.per).forEach((s, j) => {
      if (!isKnown(s))
        out.push({
          path: at(i, 'per', ...(Array.isArray(l.per) ? [String(j)] : [])),
          message: `unknown 'per' key '${s}'`,
        });
    });
    if (l.algorithm === 'sliding-window' && l.limit > MAX_LOG)
      out.push({
        path: at(i, 'limit'),
        message: `a sliding-window limit keeps one entry per admitted request: at most ${MAX_LOG} (use gcra for larger limits)`,
      });
    if (l.algorithm === 'sliding-window' && (l.burst !== undefined || l.unit === 'content-bytes'))
      out.push({
        path: at(i, 'algorithm'),
        message: 'sliding-window limits count requests and have no burst',
      });
    if ((l.burst ?? l.limit) > l.limit && l.unit !== 'content-bytes')
      out.push({
        path: at(i, 'burst'),
        message: `burst ${l.burst} exceeds the limit ${l.limit} of its window`,
      });
    const name = defaultName(l);
    const seen = names.get(name);
    if (seen !== undefined)
      out.push({
        path: at(i),
        message: `limit '${name}' is declared twice at this level (also item ${seen})`,
      });
    else names.set(name, i);
    const shape = `${perList(l.per).join('+')}|${w}|${l.unit ?? 'requests'}`;
    const other = shapes.get(shape);
    if (other && other.limit !== l.limit)
      out.push({
        path: at(i, 'limit'),
        message: `contradicts item ${other.i}: the same 'per' and window with limit ${other.limit} vs ${l.limit}`,
      });
    else if (!other) shapes.set(shape, { i, limit: l.limit });
  });
  return out;
}

/** Merges the levels (outer first) into the operation's limits; inner names replace outer ones. */
export function mergeLevels(
  levels: ReadonlyArray<{ level: Level; scope: string; value: unknown }>,
  defaultFailMode: FailMode,
): CompiledLimit[] {
  const byName = new Map<string, CompiledLimit>();
  for (const { level, scope, value } of levels) {
    for (const l of asList(value)) {
      const name = defaultName(l);
      byName.delete(name); // re-insert: inner levels come last
      byName.set(name, {
        name,
        per: perList(l.per),
        limit: l.limit,
        windowMs: windowSeconds(l.window) * 1000,
        burst: l.burst,
        failMode: l.failMode ?? defaultFailMode,
        unit: l.unit ?? 'requests',
        algorithm: defaultAlgorithm(l),
        level,
        scope,
      });
    }
  }
  return [...byName.values()];
}
