/**
 * `rampart changelog`: the version history of every API — versions, lifecycle dates and
 * the breaking-change diff between consecutive versions — as Markdown and as one
 * self-contained HTML page to publish (no external resources, everything escaped).
 */
import {
  lifecycleState,
  parseLifecycleDate,
  type LifecycleDates,
  type LifecycleState,
} from '../core/lifecycle.ts';
import type { OpenApiDocument } from '../core/openapi.ts';
import { diffDocuments, type DiffResult } from './diff.ts';
import { formatDiffMarkdown, mdEscape } from './format.ts';
import type { ChangeLevel } from './rules.ts';

/** What the changelog needs of one configured version. */
export interface VersionInput {
  base: string;
  document: OpenApiDocument;
  deprecated?: string;
  sunset?: string;
  successor?: string;
  deprecationLink?: string;
  sunsetLink?: string;
}

export interface ApiInput {
  name: string;
  versions: VersionInput[];
}

export interface ChangelogVersion {
  base: string;
  title: string;
  version: string;
  state: LifecycleState;
  deprecated?: string;
  sunset?: string;
  successor?: string;
  /** Changes from the previous (older) version; undefined for the first. */
  changes?: { from: string; diff: DiffResult };
}

export interface Changelog {
  generatedAt: string;
  apis: Array<{ name: string; versions: ChangelogVersion[] }>;
}

/** Lifecycle instants of a configured version. */
export function versionLifecycle(v: Omit<VersionInput, 'document' | 'base'>): LifecycleDates {
  const l: LifecycleDates = {};
  const dep = v.deprecated !== undefined ? parseLifecycleDate(v.deprecated) : undefined;
  const sun = v.sunset !== undefined ? parseLifecycleDate(v.sunset) : undefined;
  if (dep !== undefined) l.deprecated = dep;
  if (sun !== undefined) l.sunset = sun;
  if (v.successor) l.successor = v.successor;
  if (v.deprecationLink) l.deprecationLink = v.deprecationLink;
  if (v.sunsetLink) l.sunsetLink = v.sunsetLink;
  return l;
}

function semverKey(v: string): number[] | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v);
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
}

/**
 * Orders versions oldest first: by the documents' `info.version` when both are
 * semantic versions, else by the number in the base path (`/v1` < `/v2`), else as configured.
 */
export function orderVersions(vs: VersionInput[]): VersionInput[] {
  const baseNum = (b: string) => Number(/(\d+)(?!.*\d)/.exec(b)?.[1] ?? NaN);
  return vs
    .map((v, i) => ({ v, i }))
    .sort((x, y) => {
      const a = semverKey(x.v.document.version);
      const b = semverKey(y.v.document.version);
      if (a && b) for (let k = 0; k < 3; k++) if (a[k] !== b[k]) return a[k]! - b[k]!;
      const na = baseNum(x.v.base);
      const nb = baseNum(y.v.base);
      if (!Number.isNaN(na) && !Number.isNaN(nb) && na !== nb) return na - nb;
      return x.i - y.i;
    })
    .map((e) => e.v);
}

export function buildChangelog(apis: ApiInput[], now: number): Changelog {
  return {
    generatedAt: new Date(now).toISOString(),
    apis: apis.map((api) => {
      const ordered = orderVersions(api.versions);
      const versions = ordered.map((v, i): ChangelogVersion => {
        const entry: ChangelogVersion = {
          base: v.base,
          title: v.document.title,
          version: v.document.version,
          state: lifecycleState(versionLifecycle(v), now),
        };
        if (v.deprecated) entry.deprecated = v.deprecated;
        if (v.sunset) entry.sunset = v.sunset;
        if (v.successor) entry.successor = v.successor;
        const prev = ordered[i - 1];
        if (prev) entry.changes = { from: prev.base, diff: diffDocuments(prev.document, v.document) };
        return entry;
      });
      // Newest first, as changelogs are read.
      return { name: api.name, versions: versions.reverse() };
    }),
  };
}

function stateText(v: ChangelogVersion): string {
  const parts: string[] = [v.state];
  if (v.deprecated) parts.push(`deprecated ${v.deprecated}`);
  if (v.sunset) parts.push(`sunset ${v.sunset}`);
  if (v.successor) parts.push(`successor ${v.successor}`);
  return parts.join(', ');
}

export function changelogMarkdown(c: Changelog): string {
  const out = ['# API changelog', '', `Generated ${c.generatedAt} by rampart changelog.`];
  for (const api of c.apis) {
    out.push('', `## ${mdEscape(api.name)}`, '');
    out.push('| Version | Base | State | Deprecated | Sunset | Successor |', '|---|---|---|---|---|---|');
    for (const v of api.versions)
      out.push(
        `| ${mdEscape(v.version)} | \`${v.base}\` | ${v.state} | ${v.deprecated ?? '—'} | ${v.sunset ?? '—'} | ${v.successor ? `\`${v.successor}\`` : '—'} |`,
      );
    for (const v of api.versions) {
      if (v.changes) {
        out.push(
          '',
          formatDiffMarkdown(
            v.changes.diff,
            `${v.base} ${v.version} (from ${v.changes.from}) — ${stateText(v)}`,
            3,
          ),
        );
      } else out.push('', `### ${v.base} ${mdEscape(v.version)} — ${stateText(v)}`, '', 'First version.');
    }
  }
  return out.join('\n') + '\n';
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const LEVEL_TITLES: Record<ChangeLevel, string> = {
  breaking: 'Breaking changes',
  warning: 'May break some clients',
  info: 'Other changes',
};

export function changelogHtml(c: Changelog): string {
  const e = escapeHtml;
  const body: string[] = [];
  for (const api of c.apis) {
    body.push(
      `<section><h2>${e(api.name)}</h2><table><thead><tr><th>Version</th><th>Base</th><th>State</th><th>Deprecated</th><th>Sunset</th><th>Successor</th></tr></thead><tbody>`,
    );
    for (const v of api.versions)
      body.push(
        `<tr><td>${e(v.version)}</td><td><code>${e(v.base)}</code></td><td class="state ${v.state}">${v.state}</td><td>${e(v.deprecated ?? '—')}</td><td>${e(v.sunset ?? '—')}</td><td>${v.successor ? `<code>${e(v.successor)}</code>` : '—'}</td></tr>`,
      );
    body.push('</tbody></table>');
    for (const v of api.versions) {
      body.push(
        `<article><h3><code>${e(v.base)}</code> ${e(v.version)} <small>${e(stateText(v))}</small></h3>`,
      );
      if (!v.changes) body.push('<p>First version.</p>');
      else {
        const d = v.changes.diff;
        body.push(
          `<p>From <code>${e(v.changes.from)}</code>: ${d.counts.breaking} breaking, ${d.counts.warning} warning, ${d.counts.info} info — suggested bump <strong>${d.bump}</strong>.</p>`,
        );
        if (d.versionWarning) body.push(`<p class="warn">${e(d.versionWarning)}</p>`);
        for (const level of ['breaking', 'warning', 'info'] as const) {
          const cs = d.changes.filter((x) => x.level === level);
          if (!cs.length) continue;
          body.push(`<h4 class="${level}">${LEVEL_TITLES[level]} (${cs.length})</h4><ul>`);
          for (const x of cs)
            body.push(
              `<li>${x.operation ? `<code>${e(x.operation)}</code>: ` : ''}${e(x.message)} <span class="rule">${e(x.rule)}</span></li>`,
            );
          body.push('</ul>');
        }
      }
      body.push('</article>');
    }
    body.push('</section>');
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API changelog</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d232b}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccd3db;padding:.3rem .6rem;text-align:left}
code{background:#eef1f4;padding:0 .25rem;border-radius:3px}small{color:#5b6673;font-weight:normal}
.state.retired{color:#8a1c1c}.state.deprecated{color:#8a5a00}.state.active{color:#1c6b2e}
h4.breaking{color:#8a1c1c}h4.warning{color:#8a5a00}.rule{color:#5b6673;font-size:.85em}.warn{color:#8a5a00}
</style></head><body>
<h1>API changelog</h1><p>Generated ${e(c.generatedAt)} by rampart changelog.</p>
${body.join('\n')}
</body></html>
`;
}
