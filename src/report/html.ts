/**
 * A self-contained HTML report: no script, no external resource, one inline style
 * allowed by its hash in a strict Content-Security-Policy. A summary (score, severity
 * totals, OWASP category × severity table, top fixes), then every finding with its
 * fix, `x-rampart` snippet and evidence in a collapsible block. Every value from a
 * finding is HTML-escaped; producers mask secrets before they reach a finding.
 */
import { createHash } from 'node:crypto';
import type { Finding, RunMeta } from '../core/findings.ts';
import {
  SEVERITIES_DESC,
  categoryLabel,
  countByCategory,
  countBySeverity,
  sortFindings,
  whereOf,
} from './common.ts';
import { escapeXml as h } from './xml.ts';

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#d7dce2;--card:#f6f8fa;
--critical:#8b0000;--high:#c62828;--medium:#b26a00;--low:#1565c0;--info:#5b6470}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--fg:#e6e9ed;--muted:#9aa4af;--line:#2b323b;--card:#171b21;
--critical:#ff6b6b;--high:#ff8a80;--medium:#ffcc80;--low:#90caf9;--info:#b0bec5}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 12px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:1.05em;margin:0}
.muted{color:var(--muted)}
.totals{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.total{border:1px solid var(--line);border-radius:8px;padding:8px 16px;min-width:110px;background:var(--card)}
.total b{display:block;font-size:1.6em}
.sev-critical{color:var(--critical)}.sev-high{color:var(--high)}.sev-medium{color:var(--medium)}.sev-low{color:var(--low)}.sev-info{color:var(--info)}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
meter{width:120px}
.finding{border:1px solid var(--line);border-left-width:6px;border-radius:8px;padding:12px 16px;margin:12px 0;background:var(--card)}
.finding.critical{border-left-color:var(--critical)}.finding.high{border-left-color:var(--high)}
.finding.medium{border-left-color:var(--medium)}.finding.low{border-left-color:var(--low)}.finding.info{border-left-color:var(--info)}
.badge{display:inline-block;border:1px solid currentColor;border-radius:999px;padding:0 8px;font-size:.8em;font-weight:600;text-transform:uppercase;margin-right:6px}
.facts{margin:6px 0;font-size:.9em}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 10px;overflow:auto;white-space:pre-wrap;word-break:break-word}
details{margin:8px 0}summary{cursor:pointer;color:var(--muted)}
.fix{margin:8px 0}
footer{margin:40px 0 8px;color:var(--muted);font-size:.85em}
`;

const STYLE_HASH = createHash('sha256').update(CSS).digest('base64');

/** The Content-Security-Policy the report declares (exported for tests). */
export const HTML_REPORT_CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;

function exchangeText(e: NonNullable<Finding['evidence']['exchanges']>[number]): string {
  const lines = [`${e.request.method} ${e.request.url}`];
  for (const [k, v] of Object.entries(e.request.headers ?? {})) lines.push(`${k}: ${v}`);
  if (e.request.body) lines.push('', e.request.body);
  if (e.response) {
    lines.push(
      '',
      `HTTP ${e.response.status}${e.response.durationMs !== undefined ? `  (${e.response.durationMs} ms)` : ''}`,
    );
    for (const [k, v] of Object.entries(e.response.headers ?? {})) lines.push(`${k}: ${v}`);
    if (e.response.body) lines.push('', e.response.body);
  }
  return lines.join('\n');
}

function findingHtml(f: Finding): string {
  const facts = [
    `<code>${h(f.check)}</code>`,
    f.operation ? `<code>${h(f.operation)}</code>` : '',
    f.owasp ? h(categoryLabel(f.owasp)) : '',
    f.cwe !== undefined ? `CWE-${h(f.cwe)}` : '',
    `confidence ${h(f.confidence)}`,
  ].filter(Boolean);
  const parts: string[] = [];
  parts.push(
    `<article class="finding ${h(f.severity)}" id="f-${h(f.id)}">`,
    `<h3><span class="badge sev-${h(f.severity)}">${h(f.severity)}</span>${h(f.title)}</h3>`,
    `<div class="facts muted">${facts.join(' · ')}</div>`,
  );
  const where = whereOf(f);
  if (where)
    parts.push(
      `<div class="facts">At <code>${h(where)}</code>${f.evidence.location?.pointer ? ` <code class="muted">${h(f.evidence.location.pointer)}</code>` : ''}</div>`,
    );
  parts.push(`<p>${h(f.description)}</p>`);
  parts.push(
    `<div class="fix"><strong>Fix:</strong> ${h(f.remediation.summary)}${f.remediation.policy ? ` <span class="muted">(policy <code>${h(f.remediation.policy)}</code>)</span>` : ''}</div>`,
  );
  if (f.remediation.xRampart) parts.push(`<pre>${h(f.remediation.xRampart)}</pre>`);
  if (f.related?.length)
    parts.push(
      `<div class="facts muted">Confirm with: ${f.related.map((r) => `<code>${h(r)}</code>`).join(', ')}</div>`,
    );
  const ex = f.evidence.exchanges ?? [];
  const loc = f.evidence.location;
  const details = f.evidence.details;
  if (ex.length || loc?.snippet || (details && Object.keys(details).length)) {
    parts.push(
      `<details><summary>Evidence${ex.length ? ` (${ex.length} exchange${ex.length === 1 ? '' : 's'})` : ''}</summary>`,
    );
    for (const e of ex) {
      if (e.note) parts.push(`<p class="muted">${h(e.note)}</p>`);
      parts.push(`<pre>${h(exchangeText(e))}</pre>`);
    }
    if (loc?.snippet) parts.push(`<pre>${h(loc.snippet)}</pre>`);
    if (details && Object.keys(details).length)
      parts.push(`<pre>${h(JSON.stringify(details, null, 2))}</pre>`);
    parts.push('</details>');
  }
  if (f.remediation.references?.length)
    parts.push(
      `<div class="facts muted">References: ${f.remediation.references.map((r) => `<code>${h(r)}</code>`).join(' ')}</div>`,
    );
  parts.push(`<div class="facts muted">id <code>${h(f.id)}</code></div>`, '</article>');
  return parts.join('\n');
}

export function renderHtml(findings: readonly Finding[], meta: RunMeta): string {
  const sorted = sortFindings(findings);
  const totals = countBySeverity(sorted);
  const title = `Rampart ${meta.tool} report — ${meta.target}`;
  const body: string[] = [];
  body.push(`<header><h1>${h(title)}</h1>`);
  body.push(
    `<div class="muted">${h(meta.startedAt)} → ${h(meta.finishedAt)} · Rampart ${h(meta.version)} · ${sorted.length} finding${sorted.length === 1 ? '' : 's'}</div></header>`,
  );
  body.push('<section aria-label="Summary"><div class="totals">');
  if (meta.score)
    body.push(
      `<div class="total">Score<b>${h(meta.score.overall)}/100</b><meter min="0" max="100" low="50" high="80" optimum="100" value="${h(meta.score.overall)}"></meter></div>`,
    );
  for (const s of SEVERITIES_DESC) body.push(`<div class="total sev-${s}">${s}<b>${totals[s]}</b></div>`);
  body.push('</div>');
  const cats = countByCategory(sorted);
  if (cats.length || meta.score?.byCategory) {
    body.push('<h2>By OWASP API Security Top 10 2023 category</h2><table><thead><tr><th>Category</th>');
    for (const s of SEVERITIES_DESC) body.push(`<th class="n">${s}</th>`);
    body.push(`${meta.score?.byCategory ? '<th class="n">score</th>' : ''}</tr></thead><tbody>`);
    for (const c of cats) {
      const score = c.category !== 'other' ? meta.score?.byCategory?.[c.category] : undefined;
      body.push(`<tr><td>${h(c.category)} ${h(c.name)}</td>`);
      for (const s of SEVERITIES_DESC) body.push(`<td class="n sev-${s}">${c.counts[s] || ''}</td>`);
      if (meta.score?.byCategory) body.push(`<td class="n">${score ?? ''}</td>`);
      body.push('</tr>');
    }
    body.push('</tbody></table>');
  }
  if (meta.topFixes?.length) {
    body.push('<h2>Top fixes</h2><ol>');
    for (const t of meta.topFixes)
      body.push(
        `<li>${h(t.title)} <span class="muted">(+${h(t.impact)} points, ${t.findings.length} finding${t.findings.length === 1 ? '' : 's'})</span>${t.xRampart ? `<pre>${h(t.xRampart)}</pre>` : ''}</li>`,
      );
    body.push('</ol>');
  }
  body.push('</section>');
  body.push('<section aria-label="Findings"><h2>Findings</h2>');
  if (!sorted.length) body.push('<p>No findings.</p>');
  for (const f of sorted) body.push(findingHtml(f));
  body.push('</section>');
  if (meta.notes?.length || meta.suppressed?.length) {
    body.push('<section aria-label="Notes"><h2>Not tested and suppressed</h2><ul>');
    for (const n of meta.notes ?? []) body.push(`<li>${h(n)}</li>`);
    for (const s of meta.suppressed ?? [])
      body.push(
        `<li>Suppressed <code>${h(s.id)}</code> (${h(s.check)}) until ${h(s.expires)}: ${h(s.reason)}</li>`,
      );
    body.push('</ul></section>');
  }
  body.push(
    `<footer>Generated by Rampart ${h(meta.version)}. Secrets in evidence are masked by the producer.</footer>`,
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${h(HTML_REPORT_CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body><main>
${body.join('\n')}
</main></body>
</html>
`;
}
