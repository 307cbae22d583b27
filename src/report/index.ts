/**
 * The shared reporters: one `render(format, findings, meta)` for every producer
 * (scanner, audit, code scan), plus what every producing command needs around it —
 * the `--format/--output/--fail-on/--baseline` options and the exit-code decision.
 *
 * @example
 * import { render, runReport } from '../report/index.ts';
 * const text = render('sarif', findings, meta);
 */
import { writeFileSync } from 'node:fs';
import type { Finding, RunMeta } from '../core/findings.ts';
import { applyBaseline, failsOn, loadBaseline, parseFailOn, suppressedMeta, type FailOn } from './gate.ts';
import { renderHtml } from './html.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { renderSarif } from './sarif.ts';
import { renderText } from './text.ts';

export type ReportFormat = 'text' | 'json' | 'sarif' | 'junit' | 'html' | 'markdown';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'sarif', 'junit', 'html', 'markdown'];

export interface RenderOptions {
  /** ANSI colour in the text format (ask {@link shouldColor}). */
  color?: boolean;
}

/**
 * Renders findings in one format. Pure: same input, same output (findings are sorted
 * by {@link sortFindings}); the text format colours only when `opts.color`.
 */
export function render(
  format: ReportFormat,
  findings: readonly Finding[],
  meta: RunMeta,
  opts: RenderOptions = {},
): string {
  switch (format) {
    case 'text':
      return renderText(findings, meta, opts);
    case 'json':
      return renderJson(findings, meta);
    case 'sarif':
      return renderSarif(findings, meta);
    case 'junit':
      return renderJunit(findings, meta);
    case 'html':
      return renderHtml(findings, meta);
    case 'markdown':
      return renderMarkdown(findings, meta);
  }
}

/** A bad `--format`/`--fail-on`/… value: the command prints it with its usage and exits 2. */
export class ReportOptionError extends Error {
  override name = 'ReportOptionError';
}

/** parseArgs option definitions every producing command shares. */
export const REPORT_CLI_OPTIONS = {
  format: { type: 'string' },
  output: { type: 'string', short: 'o' },
  'fail-on': { type: 'string' },
  baseline: { type: 'string' },
} as const;

/** Usage lines for {@link REPORT_CLI_OPTIONS}. */
export const REPORT_CLI_USAGE = `  --format FORMAT     ${REPORT_FORMATS.join('|')} (default text)
  -o, --output FILE   write the report to FILE instead of stdout
  --fail-on LEVEL     exit 1 when a finding at or above LEVEL remains: info|low|medium|high|critical|none
  --baseline FILE     suppress accepted findings (id, reason, expiry; see docs/findings.md)`;

export interface ReportOptions {
  format: ReportFormat;
  output?: string;
  failOn: FailOn;
  baseline?: string;
}

/** Reads the shared options from parseArgs values; throws ReportOptionError on a bad value. */
export function reportOptions(
  values: { format?: string; output?: string; 'fail-on'?: string; baseline?: string },
  defaults: { failOn: FailOn } = { failOn: 'high' },
): ReportOptions {
  const format = (values.format ?? 'text') as ReportFormat;
  if (!REPORT_FORMATS.includes(format))
    throw new ReportOptionError(
      `--format expects one of ${REPORT_FORMATS.join(', ')}, got '${values.format}'`,
    );
  let failOn = defaults.failOn;
  if (values['fail-on'] !== undefined) {
    const f = parseFailOn(values['fail-on']);
    if (!f)
      throw new ReportOptionError(
        `--fail-on expects info, low, medium, high, critical or none, got '${values['fail-on']}'`,
      );
    failOn = f;
  }
  if (values.output === '') throw new ReportOptionError('--output needs a file');
  if (values.baseline === '') throw new ReportOptionError('--baseline needs a file');
  return {
    format,
    failOn,
    ...(values.output !== undefined ? { output: values.output } : {}),
    ...(values.baseline !== undefined ? { baseline: values.baseline } : {}),
  };
}

export interface ReportRun {
  /** Findings that count after the baseline. */
  findings: Finding[];
  meta: RunMeta;
  /** The rendered report (also written to `options.output`, or passed to `out`). */
  text: string;
  /** 1 when a counted finding is at or above `--fail-on`, else 0. */
  exitCode: 0 | 1;
}

/**
 * The end of every producing command: apply the baseline (at `now`), render, write
 * the report to `--output` or hand it to `out`, and decide the exit code.
 * Baseline problems throw ConfigErrors (file:line) — exit 1 with the message.
 */
export function runReport(
  findings: readonly Finding[],
  meta: RunMeta,
  options: ReportOptions,
  io: { out(text: string): void; now?: Date; color?: boolean },
): ReportRun {
  let kept = [...findings];
  let runMeta = meta;
  if (options.baseline) {
    const r = applyBaseline(findings, loadBaseline(options.baseline), io.now ?? new Date());
    kept = r.kept;
    runMeta = { ...meta, suppressed: suppressedMeta(r), notes: [...(meta.notes ?? []), ...r.notes] };
  }
  const color = options.format === 'text' && options.output === undefined && io.color === true;
  const text = render(options.format, kept, runMeta, { color });
  if (options.output !== undefined) writeFileSync(options.output, text);
  else io.out(text.endsWith('\n') ? text.slice(0, -1) : text);
  return { findings: kept, meta: runMeta, text, exitCode: failsOn(kept, options.failOn) ? 1 : 0 };
}

export { shouldColor } from './text.ts';
export { sortFindings, countBySeverity, countByCategory, subjectOf, whereOf } from './common.ts';
export {
  toJsonReport,
  parseJsonReport,
  JSON_FORMAT_NAME,
  JSON_FORMAT_VERSION,
  type JsonReport,
} from './json.ts';
export { toSarif } from './sarif.ts';
export { HTML_REPORT_CSP } from './html.ts';
export {
  applyBaseline,
  baselineFor,
  failsOn,
  loadBaseline,
  parseBaseline,
  parseFailOn,
  suppressedMeta,
  FAIL_ON_VALUES,
  type Baseline,
  type BaselineEntry,
  type BaselineResult,
  type FailOn,
} from './gate.ts';
export { findingId } from './id.ts';
