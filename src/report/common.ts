/**
 * What every reporter needs: one stable order of findings, counts by severity and by
 * OWASP category, and the location of a finding in one line.
 */
import {
  OWASP_API_TOP10,
  SEVERITIES,
  severityRank,
  type Finding,
  type OwaspApiCategory,
  type Severity,
} from '../core/findings.ts';

/** Categories in their list order (API1 … API10). */
export const OWASP_ORDER = Object.keys(OWASP_API_TOP10) as OwaspApiCategory[];

/** Severities from the worst down. */
export const SEVERITIES_DESC: readonly Severity[] = [...SEVERITIES].reverse();

const cmp = (a: string | undefined, b: string | undefined): number =>
  (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;

/**
 * The one order all reports use: severity (worst first), then OWASP category, check,
 * operation, location and id — so two runs over the same input give identical output.
 */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      categoryIndex(a.owasp) - categoryIndex(b.owasp) ||
      cmp(a.check, b.check) ||
      cmp(a.operation, b.operation) ||
      cmp(whereOf(a), whereOf(b)) ||
      cmp(a.id, b.id),
  );
}

function categoryIndex(c: OwaspApiCategory | undefined): number {
  return c === undefined ? OWASP_ORDER.length : OWASP_ORDER.indexOf(c);
}

export type SeverityCounts = Record<Severity, number>;

export function countBySeverity(findings: readonly Finding[]): SeverityCounts {
  const out = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts;
  for (const f of findings) out[f.severity]++;
  return out;
}

/** Counts per OWASP category (only categories with findings, in list order; `other` for none). */
export function countByCategory(findings: readonly Finding[]): Array<{
  category: OwaspApiCategory | 'other';
  name: string;
  counts: SeverityCounts;
  total: number;
}> {
  const groups = new Map<OwaspApiCategory | 'other', Finding[]>();
  for (const f of findings) {
    const k = f.owasp ?? 'other';
    const list = groups.get(k) ?? [];
    list.push(f);
    groups.set(k, list);
  }
  const keys = [...OWASP_ORDER, 'other' as const].filter((k) => groups.has(k));
  return keys.map((k) => ({
    category: k,
    name: k === 'other' ? 'Not in the OWASP API Top 10' : OWASP_API_TOP10[k],
    counts: countBySeverity(groups.get(k)!),
    total: groups.get(k)!.length,
  }));
}

/** `file:line:col` of a finding's location, or undefined. */
export function whereOf(f: Finding): string | undefined {
  const l = f.evidence.location;
  if (!l) return undefined;
  let s = l.file;
  if (l.line !== undefined) s += `:${l.line}`;
  if (l.line !== undefined && l.column !== undefined) s += `:${l.column}`;
  return s;
}

/** What a finding is about, for headings and test-case names: the operation, else the location. */
export function subjectOf(f: Finding): string {
  return f.operation ?? whereOf(f) ?? '(whole target)';
}

/** `API1:2023 Broken Object Level Authorization`, or '' without a category. */
export function categoryLabel(c: OwaspApiCategory | undefined): string {
  return c ? `${c} ${OWASP_API_TOP10[c]}` : '';
}

/** One line of totals: `2 high, 1 medium` (worst first, zero counts left out), or `no findings`. */
export function totalsLine(findings: readonly Finding[]): string {
  const c = countBySeverity(findings);
  const parts = SEVERITIES_DESC.filter((s) => c[s] > 0).map((s) => `${c[s]} ${s}`);
  return parts.length ? parts.join(', ') : 'no findings';
}
