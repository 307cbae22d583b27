/**
 * Five-field cron expressions (`minute hour day-of-month month day-of-week`) and the next
 * run after an instant, in UTC or an IANA time zone. Pure: the instant comes from the
 * caller's clock.
 *
 * Syntax per field: `*`, a value, a range `a-b`, a step `*∕n`, `a-b/n` or `a/n` (from a to
 * the field's maximum), and comma lists of those. Months accept JAN–DEC, days of the week
 * SUN–SAT (0 and 7 are both Sunday). `@hourly`, `@daily` (`@midnight`), `@weekly`,
 * `@monthly`, `@yearly` (`@annually`) are shorthands. As in Vixie cron, when both
 * day-of-month and day-of-week are restricted a day matching either runs.
 *
 * Daylight-saving time (docs/scanner.md#scheduled-scans): a wall time skipped by a
 * spring-forward change runs at the same offset after the gap (02:30 → 03:30); a wall
 * time that happens twice at a fall-back change runs once, at its first occurrence —
 * unless the hour field is `*` (every hour), which follows real time and runs in both.
 */

export class CronError extends Error {
  override name = 'CronError';
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

export interface Cron {
  readonly source: string;
  readonly timeZone: string;
  /** The first run strictly after `afterMs` (epoch ms), on a whole minute. */
  next(afterMs: number): number;
}

function parseValue(text: string, f: FieldSpec, where: string): number {
  const named = f.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + (f.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(text))
    throw new CronError(
      `${where}: '${text}' is not a number${f.names ? ` or a name (${f.names[0]}–${f.names[f.names.length - 1]})` : ''}`,
    );
  const n = Number(text);
  if (n < f.min || n > f.max) throw new CronError(`${where}: ${n} is out of range ${f.min}–${f.max}`);
  return n;
}

/** One field's allowed values; `restricted` is false for `*` (and `*∕1`). */
function parseField(text: string, f: FieldSpec, index: number): { values: Set<number>; restricted: boolean } {
  const values = new Set<number>();
  let restricted = false;
  const where = `field ${index + 1} (${f.name}) '${text}'`;
  if (text === '') throw new CronError(`${where}: empty`);
  for (const item of text.split(',')) {
    if (item === '') throw new CronError(`${where}: empty list item`);
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) throw new CronError(`${where}: more than one '/' in '${item}'`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
        throw new CronError(`${where}: step '${stepText}' must be a whole number of at least 1`);
      step = Number(stepText);
      if (step > f.max - f.min + 1)
        throw new CronError(`${where}: step ${step} is larger than the field's range ${f.min}–${f.max}`);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = f.min;
      hi = f.max;
      if (step !== 1) restricted = true;
    } else {
      restricted = true;
      const dash = range!.split('-');
      if (dash.length > 2 || dash.some((d) => d === ''))
        throw new CronError(`${where}: '${range}' is not a value or a range a-b`);
      lo = parseValue(dash[0]!, f, where);
      hi = dash.length === 2 ? parseValue(dash[1]!, f, where) : stepText !== undefined ? f.max : lo;
      if (lo > hi) throw new CronError(`${where}: range ${lo}-${hi} runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) values.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return { values, restricted };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws a CronError unless `tz` is an IANA time zone this runtime knows. */
export function checkTimeZone(tz: string): void {
  if (tz === 'UTC') return;
  try {
    formatterFor(tz);
  } catch {
    throw new CronError(`unknown time zone '${tz}' (an IANA name such as Europe/Paris, or UTC)`);
  }
}

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall-clock time of instant `t` in `tz`, as epoch ms of the same fields read as UTC. */
function wallOf(t: number, tz: string): number {
  if (tz === 'UTC') return t;
  const p: Record<string, number> = {};
  for (const part of formatterFor(tz).formatToParts(new Date(t)))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) + (t % 1000);
}

/**
 * The instants whose wall time in `tz` is `wall`, earliest first: one, two at a fall-back
 * change, or — in a spring-forward gap — the instant at the earlier offset (after the gap).
 */
function instantsOf(wall: number, tz: string): number[] {
  if (tz === 'UTC') return [wall];
  const hour = 3_600_000;
  const offBefore = wallOf(wall - 12 * hour, tz) - (wall - 12 * hour);
  const offAfter = wallOf(wall + 12 * hour, tz) - (wall + 12 * hour);
  const candidates = [...new Set([wall - offBefore, wall - offAfter])]
    .filter((t) => wallOf(t, tz) === wall)
    .sort((x, y) => x - y);
  return candidates.length ? candidates : [wall - offBefore];
}

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MINUTE = 60_000;
/** Longer than any daylight-saving shift (one hour; two in some historical zones). */
const LOOKBACK_MS = 3 * 3_600_000;
const DAY = 86_400_000;
/** Far enough for any satisfiable expression (29 February on a given weekday recurs within 28 years). */
const HORIZON_MS = 29 * 366 * DAY;

/**
 * Parses a cron expression; throws a {@link CronError} naming the field and the problem.
 * @example
 * parseCron('30 2 * * 1-5').next(Date.UTC(2026, 0, 1)) // 2026-01-01T02:30Z (a Thursday)
 */
export function parseCron(source: string, timeZone = 'UTC'): Cron {
  checkTimeZone(timeZone);
  const expanded = MACROS[source.trim().toLowerCase()] ?? source;
  if (expanded.startsWith('@')) throw new CronError(`unknown shorthand '${source.trim()}'`);
  const parts = expanded.trim().split(/\s+/);
  if (parts.length !== 5)
    throw new CronError(
      `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length === 1 && parts[0] === '' ? 0 : parts.length}`,
    );
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!, i));
  const dayMatches = (d: Date): boolean => {
    const inDom = dom!.values.has(d.getUTCDate());
    const inDow = dow!.values.has(d.getUTCDay());
    if (dom!.restricted && dow!.restricted) return inDom || inDow;
    if (dom!.restricted) return inDom;
    if (dow!.restricted) return inDow;
    return true;
  };
  // Days of month that exist in no allowed month (31 in February and April only…) never run.
  if (dom!.restricted && !dow!.restricted) {
    const longest = Math.max(...[...month!.values].map((m) => MONTH_DAYS[m - 1]!));
    if (![...dom!.values].some((d) => d <= longest))
      throw new CronError(
        `day of month ${[...dom!.values].join(',')} never occurs in month ${[...month!.values].join(',')}: the schedule never runs`,
      );
  }
  const nextWall = (fromWall: number): number | undefined => {
    let w = Math.floor(fromWall / MINUTE) * MINUTE + MINUTE;
    const end = fromWall + HORIZON_MS;
    while (w <= end) {
      const d = new Date(w);
      if (!month!.values.has(d.getUTCMonth() + 1)) {
        w = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
        continue;
      }
      if (!dayMatches(d)) {
        w = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
        continue;
      }
      if (!hour!.values.has(d.getUTCHours())) {
        w = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
        continue;
      }
      if (!minute!.values.has(d.getUTCMinutes())) {
        w += MINUTE;
        continue;
      }
      return w;
    }
    return undefined;
  };
  // Vixie cron's rule: an expression with a wildcard hour follows real time (a repeated hour
  // runs again); one at fixed hours runs once, at the first occurrence of its wall time.
  const everyHour = !hour!.restricted;
  const cron: Cron = {
    source,
    timeZone,
    next(afterMs: number): number {
      // Start a little before the current wall time: after a fall-back change the wall clock
      // went backwards, and the repeated times are still ahead in real time.
      let wall = wallOf(afterMs, timeZone) - (timeZone === 'UTC' ? 0 : LOOKBACK_MS);
      let best: number | undefined;
      let bestWall = 0;
      for (;;) {
        const w = nextWall(wall);
        if (w === undefined) {
          if (best !== undefined) return best;
          throw new CronError(`'${source}' never runs`);
        }
        // Past the best wall time by more than any offset change: nothing later can come earlier.
        if (best !== undefined && w > bestWall + LOOKBACK_MS) return best;
        const all = instantsOf(w, timeZone);
        const t = everyHour ? all.find((x) => x > afterMs) : all[0]! > afterMs ? all[0] : undefined;
        if (t !== undefined && (best === undefined || t < best)) {
          best = t;
          bestWall = w;
          if (timeZone === 'UTC') return best;
        }
        wall = w;
      }
    },
  };
  // 30 February (and other impossible combinations a whole calendar cannot meet) fail now, not at run time.
  cron.next(Date.UTC(2000, 0, 1));
  return cron;
}
