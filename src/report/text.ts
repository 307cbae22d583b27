/**
 * The terminal report: worst first, one block per finding, the score and top fixes
 * when the producer gives them, a totals line last. ANSI colour only when asked
 * (the CLI asks when stdout is a TTY and NO_COLOR is unset: {@link shouldColor}).
 */
import type { Finding, RunMeta, Severity } from '../core/findings.ts';
import { OWASP_ORDER, sortFindings, totalsLine, whereOf } from './common.ts';

const SGR: Record<Severity | 'dim' | 'bold', string> = {
  critical: '\x1b[1;97;41m',
  high: '\x1b[1;31m',
  medium: '\x1b[33m',
  low: '\x1b[36m',
  info: '\x1b[2m',
  dim: '\x1b[2m',
  bold: '\x1b[1m',
};

/** True when a stream should get colour: a TTY, and neither NO_COLOR nor TERM=dumb. */
export function shouldColor(
  stream: { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** Terminal control characters from findings (evidence comes from hostile servers) are shown, not obeyed. */
// eslint-disable-next-line no-control-regex
const clean = (s: string): string => s.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g, '\uFFFD');

export function renderText(
  findings: readonly Finding[],
  meta: RunMeta,
  opts: { color?: boolean } = {},
): string {
  const paint = (k: keyof typeof SGR, s: string): string => (opts.color ? `${SGR[k]}${s}\x1b[0m` : s);
  const out: string[] = [];
  out.push(paint('bold', `Rampart ${meta.tool} — ${clean(meta.target)}`));
  if (meta.score) {
    const cats = OWASP_ORDER.filter((c) => meta.score?.byCategory?.[c] !== undefined)
      .map((c) => `${c.replace(':2023', '')} ${meta.score!.byCategory![c]}`)
      .join(' · ');
    out.push(`Score ${meta.score.overall}/100${cats ? `  (${cats})` : ''}`);
  }
  out.push('');
  for (const f of sortFindings(findings)) {
    const label = f.severity.toUpperCase().padEnd(8);
    const head = [paint(f.severity, label) + f.check, f.operation ? clean(f.operation) : '']
      .filter(Boolean)
      .join('  ');
    const tagline = [f.owasp, f.cwe !== undefined ? `CWE-${f.cwe}` : '', f.confidence]
      .filter(Boolean)
      .join(' · ');
    out.push(`${head}  ${paint('dim', tagline)}`);
    const pad = ' '.repeat(8);
    out.push(pad + paint('bold', clean(f.title)));
    const where = whereOf(f);
    if (where) out.push(pad + paint('dim', clean(where)));
    out.push(pad + clean(f.description));
    for (const e of f.evidence.exchanges ?? []) {
      out.push(
        pad +
          paint(
            'dim',
            clean(
              `${e.request.method} ${e.request.url}${e.response ? ` → ${e.response.status}` : ''}${e.note ? `  (${e.note})` : ''}`,
            ),
          ),
      );
    }
    out.push(pad + 'Fix: ' + clean(f.remediation.summary));
    if (f.remediation.xRampart) {
      out.push(pad + 'x-rampart:');
      for (const line of clean(f.remediation.xRampart).split('\n')) out.push(pad + '  ' + line);
    }
    if (f.related?.length) out.push(pad + paint('dim', `Confirm with: ${f.related.join(', ')}`));
    out.push(pad + paint('dim', `id ${f.id}`));
    out.push('');
  }
  if (meta.topFixes?.length) {
    out.push(paint('bold', 'Top fixes'));
    meta.topFixes.forEach((t, i) =>
      out.push(
        `  ${i + 1}. ${clean(t.title)}  (+${t.impact}, ${t.findings.length} finding${t.findings.length === 1 ? '' : 's'})`,
      ),
    );
    out.push('');
  }
  for (const n of meta.notes ?? []) out.push(paint('dim', `note: ${clean(n)}`));
  if (meta.suppressed?.length)
    out.push(
      paint(
        'dim',
        `${meta.suppressed.length} finding${meta.suppressed.length === 1 ? '' : 's'} suppressed by the baseline`,
      ),
    );
  out.push(`${findings.length} finding${findings.length === 1 ? '' : 's'}: ${totalsLine(findings)}`);
  return out.join('\n') + '\n';
}
