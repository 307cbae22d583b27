import type { Finding, RunMeta } from '../core/findings.ts';
import { ScanSetupError } from './spec.ts';

/**
 * `--focus-audit REPORT`: what a static audit (`rampart audit --format json`) flagged —
 * operations, and the scanner checks its findings name in `related` — so the scan tests
 * those operations first, or (`only`) runs just those checks and reports just those
 * operations.
 */
export interface ScanFocus {
  /** `METHOD /base/path` keys the audit flagged, most severe first. */
  operations: string[];
  /** Scanner check ids the audit's findings name. */
  checks: string[];
  only: boolean;
}

const RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as const;

export function focusFromAudit(
  report: { findings: readonly Finding[]; meta?: RunMeta },
  file: string,
  only = false,
): ScanFocus {
  const tool = report.meta?.tool;
  if (tool !== undefined && tool !== 'audit')
    throw new ScanSetupError(
      `--focus-audit ${file}: a ${tool} report, not an audit report (rampart audit --format json)`,
    );
  const best = new Map<string, number>();
  const checks = new Set<string>();
  for (const f of report.findings) {
    if (f.operation) best.set(f.operation, Math.min(best.get(f.operation) ?? 9, RANK[f.severity] ?? 9));
    for (const c of f.related ?? []) checks.add(c);
  }
  const operations = [...best.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k);
  return { operations, checks: [...checks], only };
}
