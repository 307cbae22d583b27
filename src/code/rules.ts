/**
 * The code scan's rule catalogue type and the one place a rule hit becomes a `Finding`
 * (secrets, patterns and dependencies all go through {@link toFinding}).
 */
import type { CheckInfo, Confidence, Finding, OwaspApiCategory, Severity } from '../core/findings.ts';
import { findingId } from '../report/index.ts';

export interface CodeRule {
  /** `code/<name>`. */
  id: string;
  title: string;
  owasp: OwaspApiCategory;
  cwe: number;
  severity: Severity;
  description: string;
  /** How to fix it, in a sentence or two. */
  fix: string;
  references?: string[];
}

export interface RuleHit {
  rule: CodeRule;
  file: string;
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
  /** What was found, one line (a secret is already masked). */
  message: string;
  /** Masked source text. */
  snippet?: string;
  confidence?: Confidence;
  severity?: Severity;
  /** Distinguishes two hits of one rule on one line (id stability). */
  key?: string;
  details?: Record<string, unknown>;
  commit?: string;
  /** 0 for the first hit with this rule and key in the file, 1 for the next… (see {@link numberHits}). */
  occurrence?: number;
}

/** Numbers hits that share rule, file and key, in file order, so their ids differ and stay stable. */
export function numberHits(hits: RuleHit[]): RuleHit[] {
  const seen = new Map<string, number>();
  return [...hits]
    .sort((a, b) => a.line - b.line || a.column - b.column)
    .map((h) => {
      const k = `${h.rule.id}\0${h.file}\0${h.key ?? ''}`;
      const n = seen.get(k) ?? 0;
      seen.set(k, n + 1);
      return { ...h, occurrence: n };
    });
}

export function checkInfo(rule: CodeRule): CheckInfo {
  return {
    id: rule.id,
    title: rule.title,
    owasp: rule.owasp,
    cwe: rule.cwe,
    severity: rule.severity,
    description: rule.description,
    remediation: rule.fix,
  };
}

/**
 * A rule hit as a Finding. The id hashes rule, file, the hit's key (what was found,
 * masked) and its occurrence number — not the line, so edits elsewhere in the file do
 * not change it and baselines keep working.
 */
export function toFinding(hit: RuleHit): Finding {
  const { rule } = hit;
  return {
    id: findingId('code', rule.id, hit.file, hit.key ?? '', hit.commit ?? '', hit.occurrence ?? 0),
    source: 'code',
    check: rule.id,
    owasp: rule.owasp,
    cwe: rule.cwe,
    severity: hit.severity ?? rule.severity,
    confidence: hit.confidence ?? 'firm',
    title: rule.title,
    description: `${hit.message}. ${rule.description}`,
    evidence: {
      location: {
        file: hit.file,
        line: hit.line,
        column: hit.column,
        ...(hit.endLine !== undefined ? { endLine: hit.endLine } : {}),
        ...(hit.endColumn !== undefined ? { endColumn: hit.endColumn } : {}),
        ...(hit.snippet !== undefined ? { snippet: hit.snippet } : {}),
        ...(hit.commit !== undefined ? { commit: hit.commit } : {}),
      },
      ...(hit.details ? { details: hit.details } : {}),
    },
    remediation: { summary: rule.fix, ...(rule.references ? { references: rule.references } : {}) },
  };
}

/** 1-based line and column of a string offset. */
export function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last };
}
