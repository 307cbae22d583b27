/**
 * Runs the rules over documents and turns hits into findings: stable ids, positions,
 * the rule's category, rationale, fix and related scanner checks; then the score and
 * the top fixes.
 */
import { relative, resolve, sep } from 'node:path';
import { toPointer } from '../core/config-loader.ts';
import type { CheckInfo, Finding, TopFix } from '../core/findings.ts';
import type { OpenApiOperation } from '../core/openapi.ts';
import { findingId } from '../report/id.ts';
import { RULES } from './rules/index.ts';
import { score, topFixes, type Score } from './score.ts';
import type { AuditDocument, Hit, OperationContext, Rule } from './types.ts';
import { parsePointer } from '../core/config-loader.ts';

export interface AuditOptions {
  /** Put each finding's `x-rampart` suggestion in `remediation.xRampart` (--suggest-policies). */
  suggestPolicies?: boolean;
  /** Rules to run (default: all). */
  rules?: readonly Rule[];
}

export interface AuditResult {
  findings: Finding[];
  checks: CheckInfo[];
  score: Score;
  topFixes: TopFix[];
  stats: { documents: number; operations: number; rules: number };
}

function stableFile(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return (rel.startsWith('..') ? resolve(file) : rel).split(sep).join('/');
}

export function operationName(audit: AuditDocument, op: OpenApiOperation): string {
  return `${op.method.toUpperCase()} ${audit.base}${op.path}`;
}

function toFinding(
  rule: Rule,
  hit: Hit,
  audit: AuditDocument,
  operation: string | undefined,
  at: string[],
  opts: AuditOptions,
): Finding {
  const segments = hit.at ?? at;
  const pos = audit.source?.locate(segments);
  const f: Finding = {
    // The file as seen from the working directory, so `specs/a.yaml` and `./specs/a.yaml`
    // (or an absolute path to it) give the same id and baselines keep matching.
    id: findingId('audit', rule.id, stableFile(audit.file), operation ?? '', hit.key ?? ''),
    source: 'audit',
    check: rule.id,
    owasp: rule.owasp,
    severity: hit.severity ?? rule.severity,
    confidence: hit.confidence ?? 'firm',
    title: hit.title ?? rule.title,
    description: `${hit.message} ${rule.rationale}`,
    evidence: {
      location: {
        file: audit.file,
        ...(pos ? { line: pos.line, column: pos.column } : {}),
        pointer: toPointer(segments),
      },
      ...(hit.details ? { details: hit.details } : {}),
    },
    remediation: {
      summary: rule.fix,
      ...(rule.policy ? { policy: rule.policy } : {}),
      ...(opts.suggestPolicies && hit.xRampart ? { xRampart: hit.xRampart } : {}),
    },
    related: rule.related,
  };
  if (rule.cwe !== undefined) f.cwe = rule.cwe;
  if (operation) f.operation = operation;
  return f;
}

export function checkInfo(rule: Rule, appliesTo?: string[]): CheckInfo {
  return {
    id: rule.id,
    title: rule.title,
    owasp: rule.owasp,
    ...(rule.cwe !== undefined ? { cwe: rule.cwe } : {}),
    severity: rule.severity,
    description: rule.rationale,
    remediation: rule.fix,
    ...(appliesTo ? { appliesTo } : {}),
  };
}

/** The five fixes that raise the score most, titled from the rules' fixes (score.ts). */
export function rankFixes(findings: readonly Finding[], rules: readonly Rule[] = RULES): TopFix[] {
  const byId = new Map(rules.map((r) => [r.id, r]));
  return topFixes(findings, (check, group) => {
    const rule = byId.get(check);
    const n = new Set(group.map((f) => f.operation ?? f.evidence.location?.pointer)).size;
    const snippets = group.map((f) => f.remediation.xRampart).filter((x): x is string => !!x);
    const action = rule ? rule.fix.split(/ — |; |(?<!e\.g)\. /)[0]!.replace(/\.$/, '') : check;
    return {
      title: `${action} (${check}: ${n} place${n === 1 ? '' : 's'})`,
      ...(snippets[0] ? { xRampart: snippets[0] } : {}),
    };
  });
}

/**
 * @example
 * const result = audit([loadAuditDocument('openapi.yaml')]);
 * result.findings, result.score.overall, result.topFixes
 */
export function audit(docs: readonly AuditDocument[], opts: AuditOptions = {}): AuditResult {
  const rules = opts.rules ?? RULES;
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const names: string[] = [];
  let operations = 0;
  const push = (f: Finding): void => {
    if (seen.has(f.id)) return;
    seen.add(f.id);
    findings.push(f);
  };
  for (const d of docs) {
    for (const rule of rules) {
      if (!rule.document) continue;
      for (const hit of rule.document(d)) push(toFinding(rule, hit, d, hit.operation, hit.at ?? [], opts));
    }
    for (const op of d.doc.operations) {
      operations++;
      const name = operationName(d, op);
      names.push(name);
      const ctx: OperationContext = {
        op,
        audit: d,
        name,
        at: op.pointer ? parsePointer(op.pointer) : ['paths', op.path, op.method],
        siblings: d.doc.operations,
      };
      for (const rule of rules) {
        if (!rule.operation) continue;
        const hit = rule.operation(ctx);
        if (hit) push(toFinding(rule, hit, d, name, ctx.at, opts));
      }
    }
  }
  return {
    findings,
    checks: rules.map((r) => checkInfo(r, r.operation ? names : undefined)),
    score: score(findings),
    topFixes: rankFixes(findings, rules),
    stats: { documents: docs.length, operations, rules: rules.length },
  };
}
