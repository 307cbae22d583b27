/**
 * JUnit XML (the Ant/Jenkins/GitLab dialect: `testsuites` › `testsuite` › `testcase` ›
 * `failure`): one test suite per check, one test case per check × operation (or file)
 * it examined, a `failure` where it found something. Checks the producer lists with
 * `appliesTo` (or `meta.targets`) give passing cases too, so CI shows what was tested.
 */
import { severityRank, type Finding, type RunMeta } from '../core/findings.ts';
import { sortFindings, subjectOf, whereOf } from './common.ts';
import { escapeXml as x } from './xml.ts';

interface Case {
  name: string;
  findings: Finding[];
}

function failureBody(findings: Finding[]): string {
  return findings
    .map((f) => {
      const lines = [
        `[${f.severity}] ${f.title}`,
        f.description,
        `Fix: ${f.remediation.summary}`,
        `Id: ${f.id}`,
      ];
      if (f.owasp) lines.push(`OWASP: ${f.owasp}`);
      if (f.cwe !== undefined) lines.push(`CWE: CWE-${f.cwe}`);
      const where = whereOf(f);
      if (where) lines.push(`At: ${where}`);
      for (const e of f.evidence.exchanges ?? [])
        lines.push(`${e.request.method} ${e.request.url}${e.response ? ` -> ${e.response.status}` : ''}`);
      return lines.join('\n');
    })
    .join('\n\n');
}

export function renderJunit(findings: readonly Finding[], meta: RunMeta): string {
  const sorted = sortFindings(findings);
  const checkIds: string[] = [];
  const titles = new Map<string, string>();
  for (const c of meta.checks ?? []) {
    checkIds.push(c.id);
    titles.set(c.id, c.title);
  }
  for (const f of sorted) if (!checkIds.includes(f.check)) checkIds.push(f.check);
  checkIds.sort();

  const seconds = Math.max(0, (Date.parse(meta.finishedAt) - Date.parse(meta.startedAt)) / 1000) || 0;
  let tests = 0;
  let failures = 0;
  const suites: string[] = [];
  for (const id of checkIds) {
    const check = meta.checks?.find((c) => c.id === id);
    const cases = new Map<string, Case>();
    for (const t of check?.appliesTo ?? meta.targets ?? []) cases.set(t, { name: t, findings: [] });
    for (const f of sorted) {
      if (f.check !== id) continue;
      const name = subjectOf(f);
      const c = cases.get(name) ?? { name, findings: [] };
      c.findings.push(f);
      cases.set(name, c);
    }
    const list = [...cases.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const failed = list.filter((c) => c.findings.length > 0).length;
    tests += list.length;
    failures += failed;
    const classname = `rampart.${meta.tool}.${id.replace(/[^A-Za-z0-9_-]+/g, '.')}`;
    const body = list
      .map((c) => {
        const open = `    <testcase name="${x(c.name)}" classname="${x(classname)}" time="0">`;
        if (!c.findings.length) return open.replace(/>$/, ' />');
        const worst = c.findings.reduce((a, b) =>
          severityRank(b.severity) > severityRank(a.severity) ? b : a,
        );
        const message =
          c.findings.length === 1 ? worst.title : `${worst.title} (+${c.findings.length - 1} more)`;
        return `${open}\n      <failure message="${x(message)}" type="${x(worst.severity)}">${x(failureBody(c.findings))}</failure>\n    </testcase>`;
      })
      .join('\n');
    suites.push(
      `  <testsuite name="${x(`${id}${titles.get(id) ? ` — ${titles.get(id)}` : ''}`)}" tests="${list.length}" failures="${failed}" errors="0" skipped="0" time="0" timestamp="${x(meta.startedAt.replace(/Z$|[+-]\d\d:\d\d$/, ''))}">` +
        (body ? `\n${body}\n  ` : '') +
        '</testsuite>',
    );
  }
  // Whatever could not be tested is a skipped case, never silent.
  const notes = meta.notes ?? [];
  if (notes.length) {
    tests += notes.length;
    suites.push(
      `  <testsuite name="not tested" tests="${notes.length}" failures="0" errors="0" skipped="${notes.length}" time="0">\n` +
        notes
          .map(
            (n, i) =>
              `    <testcase name="${x(`note ${i + 1}`)}" classname="rampart.${x(meta.tool)}.notes" time="0">\n      <skipped message="${x(n)}" />\n    </testcase>\n`,
          )
          .join('') +
        '  </testsuite>',
    );
  }
  const skipped = notes.length;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="${x(`rampart ${meta.tool} ${meta.target}`)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds.toFixed(3)}">\n` +
    suites.map((s) => s + '\n').join('') +
    '</testsuites>\n'
  );
}
