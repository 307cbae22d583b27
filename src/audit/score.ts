/**
 * The audit score (docs/audit.md): per OWASP category, 100 × Π (1 − w) over the
 * category's findings, w = 0.5 critical, 0.3 high, 0.12 medium, 0.04 low, 0 info —
 * every finding takes a share of what is left, so one more high always costs, and a
 * category never goes below 0. Overall: the mean of the ten category scores weighted
 * by their Top 10 rank (API1 weight 10 … API10 weight 1), rounded.
 * Top fixes: findings grouped by rule; a group's impact is the overall score gained if
 * all its findings were fixed; the five largest, ties by rule id.
 */
import {
  OWASP_API_TOP10,
  type Finding,
  type OwaspApiCategory,
  type Severity,
  type TopFix,
} from '../core/findings.ts';

export const SEVERITY_WEIGHT: Readonly<Record<Severity, number>> = {
  critical: 0.5,
  high: 0.3,
  medium: 0.12,
  low: 0.04,
  info: 0,
};

const CATEGORIES = Object.keys(OWASP_API_TOP10) as OwaspApiCategory[];
/** API1 → 10 … API10 → 1. */
export const CATEGORY_WEIGHT: Readonly<Record<OwaspApiCategory, number>> = Object.fromEntries(
  CATEGORIES.map((c, i) => [c, CATEGORIES.length - i]),
) as Record<OwaspApiCategory, number>;

export interface Score {
  overall: number;
  byCategory: Record<OwaspApiCategory, number>;
}

function exact(findings: readonly Finding[]): {
  overall: number;
  byCategory: Record<OwaspApiCategory, number>;
} {
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 100])) as Record<OwaspApiCategory, number>;
  for (const f of findings) if (f.owasp) byCategory[f.owasp] *= 1 - SEVERITY_WEIGHT[f.severity];
  let sum = 0;
  let weights = 0;
  for (const c of CATEGORIES) {
    sum += byCategory[c] * CATEGORY_WEIGHT[c];
    weights += CATEGORY_WEIGHT[c];
  }
  return { overall: sum / weights, byCategory };
}

/**
 * @example
 * score([]) // { overall: 100, byCategory: { 'API1:2023': 100, … } }
 */
export function score(findings: readonly Finding[]): Score {
  const e = exact(findings);
  return {
    overall: Math.round(e.overall),
    byCategory: Object.fromEntries(CATEGORIES.map((c) => [c, Math.round(e.byCategory[c])])) as Record<
      OwaspApiCategory,
      number
    >,
  };
}

export function topFixes(
  findings: readonly Finding[],
  describe: (check: string, group: Finding[]) => { title: string; xRampart?: string },
  limit = 5,
): TopFix[] {
  const base = exact(findings).overall;
  const groups = new Map<string, Finding[]>();
  for (const f of findings) groups.set(f.check, [...(groups.get(f.check) ?? []), f]);
  const ranked = [...groups.entries()]
    .map(([check, group]) => {
      const ids = new Set(group.map((f) => f.id));
      const impact = exact(findings.filter((f) => !ids.has(f.id))).overall - base;
      return { check, group, impact };
    })
    .filter((g) => g.impact > 0.05)
    .sort((a, b) => b.impact - a.impact || (a.check < b.check ? -1 : 1))
    .slice(0, limit);
  return ranked.map(({ check, group, impact }) => {
    const d = describe(check, group);
    return {
      title: d.title,
      impact: Math.round(impact * 10) / 10,
      findings: group.map((f) => f.id),
      ...(d.xRampart ? { xRampart: d.xRampart } : {}),
    };
  });
}
