/**
 * The posture report as text, JSON, Markdown or a self-contained HTML page (no script, no
 * external resource, its one style allowed by hash in a strict CSP — like the findings
 * report of src/report/html.ts). Every value is escaped: evidence quotes file names,
 * operation paths and rule ids from the user's config.
 */
import { createHash } from 'node:crypto';
import { escapeXml as h } from '../report/xml.ts';
import type { Dimension, ItemResult, PostureReport } from './types.ts';

export type PostureFormat = 'text' | 'json' | 'markdown' | 'html';
export const POSTURE_FORMATS: readonly PostureFormat[] = ['text', 'json', 'markdown', 'html'];

const DIMS: readonly Dimension[] = ['prevented', 'detected', 'monitored'];
const dim = (v: number | null): string => (v === null ? '–' : String(v));
const trendLine = (r: PostureReport): string => {
  const runs = r.trend.runs;
  if (!runs.length) return 'first run (no history yet)';
  const last = runs.slice(-8).map((x) => x.score);
  const d = r.trend.delta ?? 0;
  return `${last.join(' → ')} → ${r.score} (${d > 0 ? '+' : ''}${d} since ${runs.at(-1)!.at.slice(0, 16).replace('T', ' ')})`;
};

export function renderText(r: PostureReport): string {
  const out: string[] = [];
  out.push(`Rampart posture — ${r.source} — ${r.generatedAt}`, '');
  out.push(`Overall score ${r.score}/100   trend: ${trendLine(r)}`, '');
  const table = (title: string, items: readonly ItemResult[]) => {
    out.push(title);
    out.push(`  ${'item'.padEnd(66)} score  prev  det  mon`);
    for (const i of items)
      out.push(
        `  ${`${i.id === i.title ? '' : i.id + '  '}${i.title}`.slice(0, 66).padEnd(66)} ${String(i.score).padStart(5)}  ${dim(i.dimensions.prevented).padStart(4)} ${dim(i.dimensions.detected).padStart(4)} ${dim(i.dimensions.monitored).padStart(4)}`,
      );
    out.push('');
  };
  table('Checklist', r.checklist);
  table('OWASP API Security Top 10 (2023)', r.owasp);
  out.push('Next actions (points of the overall score each would add)');
  if (!r.actions.length) out.push('  none: every criterion is met');
  r.actions
    .slice(0, 10)
    .forEach((a, n) =>
      out.push(
        `  ${String(n + 1).padStart(2)}. +${a.gain.toFixed(1).padStart(4)}  ${a.action}  [${a.items.join(', ')}]`,
      ),
    );
  if (r.actions.length > 10) out.push(`  … ${r.actions.length - 10} more (--format json lists all)`);
  out.push('', 'Evidence');
  for (const i of [...r.checklist, ...r.owasp]) {
    out.push(`  ${i.id} — ${i.title} (${i.score})`);
    for (const c of i.criteria)
      out.push(`    ${c.value >= 1 ? '✓' : c.value > 0 ? '~' : '✗'} ${c.dimension.padEnd(9)} ${c.evidence}`);
  }
  if (r.notes.length) out.push('', 'Notes', ...r.notes.map((n) => `  - ${n}`));
  out.push('', `Formula: ${r.formula}`);
  return out.join('\n') + '\n';
}

export function renderJson(r: PostureReport): string {
  return JSON.stringify({ format: 'rampart-posture', version: 1, ...r }, null, 2) + '\n';
}

const md = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: PostureReport): string {
  const out: string[] = [];
  out.push(
    `# Rampart posture: ${r.score}/100`,
    '',
    `${md(r.source)} · ${r.generatedAt} · trend: ${trendLine(r)}`,
    '',
  );
  const table = (title: string, items: readonly ItemResult[]) => {
    out.push(
      `## ${title}`,
      '',
      '| Item | Score | Prevented | Detected | Monitored |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const i of items)
      out.push(
        `| ${md(i.id === i.title ? i.title : `${i.id} ${i.title}`)} | ${i.score} | ${DIMS.map((d) => dim(i.dimensions[d])).join(' | ')} |`,
      );
    out.push('');
  };
  table('Checklist', r.checklist);
  table('OWASP API Security Top 10 (2023)', r.owasp);
  out.push('## Next actions', '');
  if (!r.actions.length) out.push('None: every criterion is met.');
  r.actions.forEach((a, n) =>
    out.push(`${n + 1}. **+${a.gain.toFixed(1)}** ${md(a.action)} (${a.items.join(', ')})`),
  );
  out.push('', '## Evidence', '');
  for (const i of [...r.checklist, ...r.owasp]) {
    out.push(`### ${md(i.id)} — ${md(i.title)} (${i.score})`, '');
    for (const c of i.criteria)
      out.push(`- ${c.value >= 1 ? '✅' : c.value > 0 ? '🟡' : '❌'} *${c.dimension}* ${md(c.evidence)}`);
    out.push('');
  }
  if (r.notes.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${md(n)}`), '');
  out.push(`Formula: ${md(r.formula)}`, '');
  return out.join('\n');
}

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#d7dce2;--card:#f6f8fa;--good:#1b7f3b;--mid:#b26a00;--bad:#c62828}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--fg:#e6e9ed;--muted:#9aa4af;--line:#2b323b;--card:#171b21;--good:#7bd88f;--mid:#ffcc80;--bad:#ff8a80}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 12px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted)}
.score{font-size:3em;font-weight:700}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.good{color:var(--good)}.mid{color:var(--mid)}.bad{color:var(--bad)}
details{margin:6px 0;border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:var(--card)}
summary{cursor:pointer}
ol li{margin:4px 0}
code{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
footer{margin:40px 0 8px;color:var(--muted);font-size:.85em}
`;

const STYLE_HASH = createHash('sha256').update(CSS).digest('base64');
/** The Content-Security-Policy the page declares (exported for tests). */
export const POSTURE_HTML_CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;

const cls = (v: number): string => (v >= 80 ? 'good' : v >= 50 ? 'mid' : 'bad');

export function renderHtml(r: PostureReport): string {
  const table = (title: string, id: string, items: readonly ItemResult[]) =>
    `<h2 id="${id}">${h(title)}</h2><table><thead><tr><th>Item</th><th class="n">Score</th><th class="n">Prevented</th><th class="n">Detected</th><th class="n">Monitored</th></tr></thead><tbody>${items
      .map(
        (i) =>
          `<tr data-item="${h(i.id)}"><td>${h(i.id === i.title ? i.title : `${i.id} ${i.title}`)}</td><td class="n ${cls(i.score)}">${i.score}</td>${DIMS.map((d) => `<td class="n">${dim(i.dimensions[d])}</td>`).join('')}</tr>`,
      )
      .join('')}</tbody></table>`;
  const evidence = [...r.checklist, ...r.owasp]
    .map(
      (i) =>
        `<details data-item="${h(i.id)}"><summary><b>${h(i.id)}</b> ${h(i.title)} — <span class="${cls(i.score)}">${i.score}</span></summary><ul>${i.criteria
          .map(
            (c) =>
              `<li class="${c.value >= 1 ? 'good' : c.value > 0 ? 'mid' : 'bad'}"><i>${h(c.dimension)}</i> ${h(c.evidence)}</li>`,
          )
          .join('')}</ul></details>`,
    )
    .join('\n');
  const actions = r.actions.length
    ? `<ol id="actions">${r.actions.map((a) => `<li><b>+${a.gain.toFixed(1)}</b> <code>${h(a.action)}</code> <span class="muted">(${h(a.items.join(', '))})</span></li>`).join('')}</ol>`
    : '<p id="actions">None: every criterion is met.</p>';
  const trend = r.trend.runs.length
    ? `<table id="trend"><thead><tr><th>Run</th><th class="n">Score</th></tr></thead><tbody>${[
        ...r.trend.runs.slice(-10),
        { at: r.generatedAt, score: r.score },
      ]
        .map((x) => `<tr><td>${h(x.at)}</td><td class="n">${x.score}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p id="trend" class="muted">First run: no history yet.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${POSTURE_HTML_CSP}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Rampart posture ${r.score}/100</title><style>${CSS}</style></head>
<body><main>
<h1>Rampart posture</h1>
<p class="muted">${h(r.source)} · ${h(r.generatedAt)}</p>
<p><span id="score" class="score ${cls(r.score)}">${r.score}</span><span class="muted">/100</span></p>
${table('Checklist', 'checklist', r.checklist)}
${table('OWASP API Security Top 10 (2023)', 'owasp', r.owasp)}
<h2>Next actions</h2>
${actions}
<h2>Trend</h2>
${trend}
<h2>Evidence</h2>
${evidence}
${r.notes.length ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>` : ''}
<footer>Formula: ${h(r.formula)}</footer>
</main></body></html>
`;
}

export function renderPosture(r: PostureReport, format: PostureFormat): string {
  switch (format) {
    case 'json':
      return renderJson(r);
    case 'markdown':
      return renderMarkdown(r);
    case 'html':
      return renderHtml(r);
    default:
      return renderText(r);
  }
}
