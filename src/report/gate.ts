/**
 * What decides a run's exit code, shared by `rampart scan`, `rampart audit` and
 * `rampart code`: `--fail-on SEVERITY` (exit 1 when a finding at or above it remains)
 * and `--baseline FILE` (accepted findings, each with a reason and an expiry, are
 * suppressed until the expiry — then they count again, and the report says so).
 *
 * Baseline file (YAML or JSON), docs/findings.md:
 * ```yaml
 * version: 1
 * accepted:
 *   - id: '9c1e4b7f20a3d5e6'        # Finding.id, quoted (an all-digit id would be a YAML number)
 *     reason: Public by design (status page)
 *     expires: 2027-03-31           # date (end of that day, UTC) or ISO date-time
 *     check: audit/no-security      # optional, for people reading the file
 *     operation: GET /health        # optional
 * ```
 */
import { readFileSync } from 'node:fs';
import { ConfigErrors, parseYamlSource, type ConfigError } from '../core/config-loader.ts';
import { SEVERITIES, atOrAbove, type Finding, type RunMeta, type Severity } from '../core/findings.ts';

/** `--fail-on` values: a severity, or `none` (never fail on findings). */
export type FailOn = Severity | 'none';
export const FAIL_ON_VALUES: readonly FailOn[] = [...SEVERITIES, 'none'];

/** Parses a `--fail-on` value; undefined when it is not one (the CLI turns that into a usage error). */
export function parseFailOn(value: string): FailOn | undefined {
  const v = value.trim().toLowerCase();
  return (FAIL_ON_VALUES as readonly string[]).includes(v) ? (v as FailOn) : undefined;
}

/** True when some finding is at or above the threshold (`none` never fails). */
export function failsOn(findings: readonly Finding[], threshold: FailOn): boolean {
  return threshold !== 'none' && findings.some((f) => atOrAbove(f, threshold));
}

export interface BaselineEntry {
  id: string;
  reason: string;
  /** As written: `YYYY-MM-DD` or an ISO date-time. */
  expires: string;
  /** The instant it stops applying (ms since the epoch). */
  expiresAt: number;
  check?: string;
  operation?: string;
}

export interface Baseline {
  file: string;
  entries: BaselineEntry[];
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** End of the named day in UTC for a date, the instant for a date-time; NaN when invalid. */
function parseExpiry(s: string): number {
  const d = DATE_ONLY.exec(s);
  if (d) {
    const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    const t = Date.UTC(y, m - 1, day + 1);
    // Reject 2027-02-30 and friends: the date must round-trip.
    return new Date(Date.UTC(y, m - 1, day)).getUTCDate() === day ? t : NaN;
  }
  return DATE_TIME.test(s) ? Date.parse(s) : NaN;
}

/** Parses baseline text; throws ConfigErrors with file:line for every problem. */
export function parseBaseline(text: string, file: string): Baseline {
  const src = parseYamlSource(text, file);
  const errors: ConfigError[] = [...src.errors];
  const entries: BaselineEntry[] = [];
  const v = src.value as Record<string, unknown> | undefined;
  if (errors.length === 0) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      errors.push(src.error([], 'expected a mapping with `version: 1` and `accepted: [...]`'));
    } else {
      for (const k of Object.keys(v))
        if (k !== 'version' && k !== 'accepted')
          errors.push(src.error([k], `unknown key '${k}'`, { key: true }));
      if (v.version !== 1)
        errors.push(src.error(['version'], `expected version 1, got ${JSON.stringify(v.version)}`));
      if (!Array.isArray(v.accepted))
        errors.push(src.error(['accepted'], 'expected a list of accepted findings'));
      else {
        const seen = new Set<string>();
        v.accepted.forEach((raw: unknown, i) => {
          const at = ['accepted', String(i)];
          if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
            errors.push(src.error(at, 'expected a mapping with id, reason and expires'));
            return;
          }
          const e = raw as Record<string, unknown>;
          for (const k of Object.keys(e))
            if (!['id', 'reason', 'expires', 'check', 'operation'].includes(k))
              errors.push(src.error([...at, k], `unknown key '${k}'`, { key: true }));
          const str = (k: string, required: boolean): string | undefined => {
            const val = e[k];
            if (val === undefined) {
              if (required) errors.push(src.error(at, `missing required key '${k}'`));
              return undefined;
            }
            if (typeof val !== 'string' || val.trim() === '') {
              // An unquoted id of digits (or 12e34…) is a YAML number: say so rather than lose digits.
              errors.push(
                src.error(
                  [...at, k],
                  typeof val === 'number'
                    ? `expected a string, got a number: quote it ('…')`
                    : 'expected a non-empty string',
                ),
              );
              return undefined;
            }
            return val;
          };
          const id = str('id', true);
          const reason = str('reason', true);
          // YAML reads an unquoted 2027-03-31 as a string with the core schema the loader uses.
          const expires = e.expires instanceof Date ? e.expires.toISOString() : str('expires', true);
          const check = str('check', false);
          const operation = str('operation', false);
          const expiresAt = expires === undefined ? NaN : parseExpiry(expires);
          if (expires !== undefined && Number.isNaN(expiresAt))
            errors.push(
              src.error(
                [...at, 'expires'],
                `expected a date (YYYY-MM-DD) or ISO date-time, got '${expires}'`,
              ),
            );
          if (id !== undefined && seen.has(id))
            errors.push(src.error([...at, 'id'], `finding '${id}' is listed twice`));
          if (id !== undefined) seen.add(id);
          if (id && reason && expires && !Number.isNaN(expiresAt))
            entries.push({
              id,
              reason,
              expires,
              expiresAt,
              ...(check ? { check } : {}),
              ...(operation ? { operation } : {}),
            });
        });
      }
    }
  }
  if (errors.length) throw new ConfigErrors(errors);
  return { file, entries };
}

/** Reads a baseline file; a missing file is an error naming it. */
export function loadBaseline(file: string): Baseline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigErrors([
      {
        file,
        path: '',
        message: `cannot read baseline: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      },
    ]);
  }
  return parseBaseline(text, file);
}

export interface BaselineResult {
  /** Findings that still count. */
  kept: Finding[];
  suppressed: Array<{ finding: Finding; entry: BaselineEntry }>;
  /** Entries past their expiry whose finding is back in `kept`. */
  expired: BaselineEntry[];
  /** Entries that matched no finding (fixed, or the id changed): worth removing. */
  unused: BaselineEntry[];
  /** Lines for `RunMeta.notes`. */
  notes: string[];
}

/**
 * Applies a baseline at `now` (injected clock). An expired entry suppresses nothing.
 * @example
 * const r = applyBaseline(findings, loadBaseline('.rampart-baseline.yaml'), clock.now());
 * meta.suppressed = suppressedMeta(r); meta.notes = [...(meta.notes ?? []), ...r.notes];
 */
export function applyBaseline(findings: readonly Finding[], baseline: Baseline, now: Date): BaselineResult {
  const byId = new Map(baseline.entries.map((e) => [e.id, e]));
  const used = new Set<string>();
  const kept: Finding[] = [];
  const suppressed: BaselineResult['suppressed'] = [];
  const expired: BaselineEntry[] = [];
  for (const f of findings) {
    const entry = byId.get(f.id);
    if (!entry) {
      kept.push(f);
      continue;
    }
    used.add(entry.id);
    if (entry.expiresAt <= now.getTime()) {
      expired.push(entry);
      kept.push(f);
    } else suppressed.push({ finding: f, entry });
  }
  const unused = baseline.entries.filter((e) => !used.has(e.id));
  const notes = [
    ...expired.map(
      (e) =>
        `baseline ${baseline.file}: acceptance of ${e.id} expired on ${e.expires}; the finding counts again`,
    ),
    ...unused.map((e) => `baseline ${baseline.file}: ${e.id} matched no finding (fixed?); remove it`),
  ];
  return { kept, suppressed, expired, unused, notes };
}

/** `RunMeta.suppressed` from a baseline result. */
export function suppressedMeta(r: BaselineResult): NonNullable<RunMeta['suppressed']> {
  return r.suppressed.map(({ finding, entry }) => ({
    id: finding.id,
    check: finding.check,
    reason: entry.reason,
    expires: entry.expires,
  }));
}

/**
 * A baseline accepting every given finding (for `--write-baseline`): the reason and the
 * expiry are the operator's to fill in, so both are required here.
 */
export function baselineFor(findings: readonly Finding[], reason: string, expires: string): string {
  if (Number.isNaN(parseExpiry(expires))) throw new Error(`expected a date (YYYY-MM-DD), got '${expires}'`);
  const q = (s: string): string => JSON.stringify(s);
  const lines = ['version: 1', 'accepted:'];
  for (const f of findings) {
    lines.push(
      `  - id: ${q(f.id)}`,
      `    reason: ${q(reason)}`,
      `    expires: ${q(expires)}`,
      `    check: ${q(f.check)}`,
    );
    if (f.operation) lines.push(`    operation: ${q(f.operation)}`);
  }
  if (!findings.length) lines[1] = 'accepted: []';
  return lines.join('\n') + '\n';
}
