/**
 * The JSON report: Rampart's stable, documented interchange format (docs/findings.md).
 * `format` and `version` let readers refuse what they do not understand; keys come in a
 * fixed order and findings in the order of {@link sortFindings}, so identical runs
 * produce identical bytes.
 */
import type { Finding, RunMeta } from '../core/findings.ts';
import { countByCategory, countBySeverity, sortFindings } from './common.ts';

export const JSON_FORMAT_NAME = 'rampart-findings';
export const JSON_FORMAT_VERSION = 1;

export interface JsonReport {
  format: typeof JSON_FORMAT_NAME;
  version: typeof JSON_FORMAT_VERSION;
  meta: RunMeta;
  summary: {
    total: number;
    bySeverity: Record<string, number>;
    byCategory: Record<string, number>;
  };
  findings: Finding[];
}

/** The finding with its keys in the documented order (undefined ones left out). */
function normalise(f: Finding): Finding {
  const out: Record<string, unknown> = {
    id: f.id,
    source: f.source,
    check: f.check,
    owasp: f.owasp,
    cwe: f.cwe,
    severity: f.severity,
    confidence: f.confidence,
    operation: f.operation,
    title: f.title,
    description: f.description,
    evidence: f.evidence,
    remediation: f.remediation,
    related: f.related,
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as Finding;
}

/** The report as an object (for callers that post-process it). */
export function toJsonReport(findings: readonly Finding[], meta: RunMeta): JsonReport {
  const sorted = sortFindings(findings);
  return {
    format: JSON_FORMAT_NAME,
    version: JSON_FORMAT_VERSION,
    meta,
    summary: {
      total: sorted.length,
      bySeverity: countBySeverity(sorted),
      byCategory: Object.fromEntries(countByCategory(sorted).map((c) => [c.category, c.total])),
    },
    findings: sorted.map(normalise),
  };
}

export function renderJson(findings: readonly Finding[], meta: RunMeta): string {
  return JSON.stringify(toJsonReport(findings, meta), null, 2) + '\n';
}

/**
 * Reads a JSON report back (baselines from a report, `--focus-audit`, diffs), checking
 * its format and version.
 * @example
 * const { findings } = parseJsonReport(readFileSync('audit.json', 'utf8'));
 */
export function parseJsonReport(text: string, file = 'report'): JsonReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  const v = value as Partial<JsonReport> | null;
  if (!v || typeof v !== 'object' || v.format !== JSON_FORMAT_NAME)
    throw new Error(`${file}: not a Rampart JSON report (expected "format": "${JSON_FORMAT_NAME}")`);
  if (v.version !== JSON_FORMAT_VERSION)
    throw new Error(
      `${file}: report version ${String(v.version)} is not supported (expected ${JSON_FORMAT_VERSION})`,
    );
  if (!Array.isArray(v.findings)) throw new Error(`${file}: "findings" must be an array`);
  return v as JsonReport;
}
