/**
 * Markdown (GitHub-flavoured) for pull-request comments and job summaries: a summary
 * table by OWASP category and severity, then one section per finding. Text from
 * findings is escaped (HTML and Markdown syntax), code goes in fences longer than
 * any backtick run it contains.
 */
import type { Finding, RunMeta } from '../core/findings.ts';
import {
  SEVERITIES_DESC,
  countByCategory,
  countBySeverity,
  sortFindings,
  totalsLine,
  whereOf,
} from './common.ts';

/** Escapes inline text: HTML-significant characters and Markdown punctuation. */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

function fence(text: string, lang = ''): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(Math.max(3, longest + 1));
  return `${f}${lang}\n${text}\n${f}`;
}

function code(s: string): string {
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const t = '`'.repeat(longest + 1);
  return `${t} ${s.replace(/\r?\n/g, ' ')} ${t}`;
}

export function renderMarkdown(findings: readonly Finding[], meta: RunMeta): string {
  const sorted = sortFindings(findings);
  const out: string[] = [];
  out.push(`# Rampart ${meta.tool}: ${escapeMarkdown(meta.target)}`, '');
  out.push(`**${sorted.length} finding${sorted.length === 1 ? '' : 's'}** — ${totalsLine(sorted)}.`, '');
  if (meta.score) out.push(`**Score: ${meta.score.overall}/100**`, '');
  const totals = countBySeverity(sorted);
  out.push(`| Category | ${SEVERITIES_DESC.join(' | ')} | score |`);
  out.push(`| --- | ${SEVERITIES_DESC.map(() => '---:').join(' | ')} | ---: |`);
  for (const c of countByCategory(sorted)) {
    const score = c.category !== 'other' ? meta.score?.byCategory?.[c.category] : undefined;
    out.push(
      `| ${c.category} ${escapeMarkdown(c.name)} | ${SEVERITIES_DESC.map((s) => c.counts[s] || '').join(' | ')} | ${score ?? ''} |`,
    );
  }
  out.push(
    `| **Total** | ${SEVERITIES_DESC.map((s) => `**${totals[s]}**`).join(' | ')} | ${meta.score?.overall ?? ''} |`,
    '',
  );
  if (meta.topFixes?.length) {
    out.push('## Top fixes', '');
    meta.topFixes.forEach((t, i) =>
      out.push(
        `${i + 1}. ${escapeMarkdown(t.title)} (+${t.impact} points, ${t.findings.length} finding${t.findings.length === 1 ? '' : 's'})`,
      ),
    );
    out.push('');
  }
  out.push('## Findings', '');
  for (const f of sorted) {
    out.push(`### ${f.severity.toUpperCase()}: ${escapeMarkdown(f.title)}`, '');
    const facts = [
      `${code(f.check)}`,
      f.operation ? code(f.operation) : '',
      f.owasp ?? '',
      f.cwe !== undefined ? `CWE-${f.cwe}` : '',
      `confidence ${f.confidence}`,
    ].filter(Boolean);
    out.push(facts.join(' · '), '');
    const where = whereOf(f);
    if (where)
      out.push(
        `At ${code(where)}${f.evidence.location?.pointer ? ` (${code(f.evidence.location.pointer)})` : ''}`,
        '',
      );
    out.push(escapeMarkdown(f.description), '');
    out.push(`**Fix:** ${escapeMarkdown(f.remediation.summary)}`, '');
    if (f.remediation.xRampart) out.push(fence(f.remediation.xRampart, 'yaml'), '');
    if (f.related?.length) out.push(`Confirm with: ${f.related.map(code).join(', ')}`, '');
    for (const e of f.evidence.exchanges ?? []) {
      const lines = [`${e.request.method} ${e.request.url}`];
      for (const [k, v] of Object.entries(e.request.headers ?? {})) lines.push(`${k}: ${v}`);
      if (e.request.body) lines.push('', e.request.body);
      if (e.response) {
        lines.push('', `HTTP ${e.response.status}`);
        for (const [k, v] of Object.entries(e.response.headers ?? {})) lines.push(`${k}: ${v}`);
        if (e.response.body) lines.push('', e.response.body);
      }
      out.push(
        '<details><summary>Evidence' + (e.note ? `: ${escapeMarkdown(e.note)}` : '') + '</summary>',
        '',
        fence(lines.join('\n'), 'http'),
        '',
        '</details>',
        '',
      );
    }
    out.push(`<sub>id ${code(f.id)}</sub>`, '');
  }
  for (const n of meta.notes ?? []) out.push(`> Note: ${escapeMarkdown(n)}`, '');
  return out.join('\n');
}
