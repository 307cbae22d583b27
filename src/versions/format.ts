/** Renders a {@link DiffResult} as text (terminal), Markdown (a changelog section) or JSON. */
import type { ChangeLevel } from './rules.ts';
import type { Change, DiffResult } from './diff.ts';

export type DiffFormat = 'text' | 'markdown' | 'json';
export const DIFF_FORMATS: readonly DiffFormat[] = ['text', 'markdown', 'json'];

const LEVELS: readonly ChangeLevel[] = ['breaking', 'warning', 'info'];
const HEADINGS: Record<ChangeLevel, string> = {
  breaking: 'Breaking changes',
  warning: 'Changes that may break some clients',
  info: 'Other changes',
};

function summary(r: DiffResult): string {
  return `${r.counts.breaking} breaking, ${r.counts.warning} warning, ${r.counts.info} info — suggested bump: ${r.bump}`;
}

function line(c: Change): string {
  return `${c.operation ? c.operation + ': ' : ''}${c.message} [${c.rule}]`;
}

export function formatDiffText(r: DiffResult, title = `${r.from} → ${r.to}`): string {
  const out = [`${title}: ${summary(r)}`];
  if (r.versionWarning) out.push(`warning: ${r.versionWarning}`);
  for (const level of LEVELS) {
    const cs = r.changes.filter((c) => c.level === level);
    if (!cs.length) continue;
    out.push('', `${HEADINGS[level]} (${cs.length}):`);
    for (const c of cs)
      out.push(`  ${level === 'breaking' ? '✗' : level === 'warning' ? '!' : '·'} ${line(c)}`);
  }
  if (!r.changes.length) out.push('no changes');
  return out.join('\n');
}

/** Escapes text for a Markdown line (no HTML, no emphasis or link syntax from document text). */
export function mdEscape(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

/** A changelog section; `heading` is the level-2 title (e.g. `v2 (2.0.0)`). */
export function formatDiffMarkdown(r: DiffResult, heading = `${r.from} → ${r.to}`, level = 2): string {
  const h = '#'.repeat(level);
  const out = [`${h} ${mdEscape(heading)}`, '', `${summary(r)}.`];
  if (r.versionWarning) out.push('', `> **Warning:** ${mdEscape(r.versionWarning)}`);
  for (const lv of LEVELS) {
    const cs = r.changes.filter((c) => c.level === lv);
    if (!cs.length) continue;
    out.push('', `${h}# ${HEADINGS[lv]}`, '');
    for (const c of cs)
      out.push(`- ${c.operation ? `\`${c.operation}\`: ` : ''}${mdEscape(c.message)} (\`${c.rule}\`)`);
  }
  if (!r.changes.length) out.push('', 'No changes to the contract.');
  return out.join('\n');
}

export function formatDiff(r: DiffResult, format: DiffFormat): string {
  if (format === 'json') return JSON.stringify(r, null, 2);
  if (format === 'markdown') return formatDiffMarkdown(r);
  return formatDiffText(r);
}
