/**
 * The one finding model: the scanner (running API), the audit (OpenAPI documents) and
 * the code scan (source trees) all produce `Finding`s, so one set of reporters
 * (src/report/) serves all three and the posture report reads them all.
 * The JSON form is a public, stable format: docs/findings.md.
 */

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

/** How sure the producer is: `confirmed` = reproduced (e.g. twice), `firm` = strong signal, `tentative` = heuristic. */
export type Confidence = 'tentative' | 'firm' | 'confirmed';

/** OWASP API Security Top 10 2023 categories. */
export type OwaspApiCategory =
  | 'API1:2023'
  | 'API2:2023'
  | 'API3:2023'
  | 'API4:2023'
  | 'API5:2023'
  | 'API6:2023'
  | 'API7:2023'
  | 'API8:2023'
  | 'API9:2023'
  | 'API10:2023';

export const OWASP_API_TOP10: Readonly<Record<OwaspApiCategory, string>> = {
  'API1:2023': 'Broken Object Level Authorization',
  'API2:2023': 'Broken Authentication',
  'API3:2023': 'Broken Object Property Level Authorization',
  'API4:2023': 'Unrestricted Resource Consumption',
  'API5:2023': 'Broken Function Level Authorization',
  'API6:2023': 'Unrestricted Access to Sensitive Business Flows',
  'API7:2023': 'Server Side Request Forgery',
  'API8:2023': 'Security Misconfiguration',
  'API9:2023': 'Improper Inventory Management',
  'API10:2023': 'Unsafe Consumption of APIs',
};

/**
 * OWASP API Security Top 10 (2023) category of a gateway policy's denial, used when a
 * `denied` event carries none (monitor) and for what each policy prevents (posture).
 * Sources: owasp.org/API-Security/editions/2023.
 */
export const POLICY_CATEGORY: Readonly<Record<string, OwaspApiCategory>> = {
  authenticate: 'API2:2023',
  mfa: 'API2:2023',
  'brute-force': 'API2:2023',
  owner: 'API1:2023',
  'property-access': 'API3:2023',
  'minimise-response': 'API3:2023',
  'request-limits': 'API4:2023',
  'rate-limit': 'API4:2023',
  roles: 'API5:2023',
  'flow-limit': 'API6:2023',
  'ssrf-guard': 'API7:2023',
  transport: 'API8:2023',
  cors: 'API8:2023',
  'security-headers': 'API8:2023',
  'injection-guard': 'API8:2023',
  'validate-request': 'API8:2023',
  routing: 'API9:2023',
  versions: 'API9:2023',
  'validate-response': 'API10:2023',
};

/** Which tool produced a finding. */
export type FindingSource = 'scan' | 'audit' | 'code' | 'learn';

/** One HTTP exchange that reproduces (part of) a finding. Secrets are masked before they get here. */
export interface EvidenceExchange {
  request: {
    method: string;
    url: string;
    headers?: Record<string, string>;
    /** Body as text (truncated, secrets masked). */
    body?: string;
  };
  response?: {
    status: number;
    headers?: Record<string, string>;
    body?: string;
    /** Milliseconds from sending to the last byte. */
    durationMs?: number;
  };
  /** What this exchange shows, in one line ("as bob: 200 with alice's record"). */
  note?: string;
  /**
   * Scanner: the identity the request was sent as (its masked credentials are replaced
   * by that identity's when the finding is replayed). Absent = anonymous or forged.
   */
  as?: string;
}

/** Where in a file a finding is (audit: the document; code: the source file). 1-based. */
export interface FindingLocation {
  file: string;
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  /** JSON pointer inside a document (audit), e.g. `/paths/~1users~1{id}/get`. */
  pointer?: string;
  /** The offending text with any secret masked (code scan). */
  snippet?: string;
  /** Commit that introduced it (code scan with --history). */
  commit?: string;
}

export interface Evidence {
  /** Requests and responses that reproduce it (scanner). */
  exchanges?: EvidenceExchange[];
  /** Location in a document or a source file (audit, code). */
  location?: FindingLocation;
  /** Extra facts (matched pattern, timing figures, data-flow path, advisory ids). */
  details?: Record<string, unknown>;
}

export interface Remediation {
  /** What to change, in a sentence or two. */
  summary: string;
  /** The Rampart policy that prevents it at the gateway, where one exists (e.g. `owner`). */
  policy?: string;
  /** The `x-rampart` setting (YAML/JSON text ready to paste) that closes it. */
  xRampart?: string;
  /** Further reading (OWASP cheat sheets, RFCs, advisories). */
  references?: string[];
}

export interface Finding {
  /**
   * Stable id: the same problem at the same place gets the same id across runs
   * (a hash of source, check, operation/location and the distinguishing detail), so
   * baselines, diffs between runs and `--replay` work.
   */
  id: string;
  source: FindingSource;
  /** Check or rule id, e.g. `bola-identity-swap`, `audit/unauthenticated-write`, `code/sql-injection`. */
  check: string;
  owasp?: OwaspApiCategory;
  /** CWE number, e.g. 639. */
  cwe?: number;
  severity: Severity;
  confidence: Confidence;
  /** `METHOD /base/path/{template}` for API findings (scanner, audit). */
  operation?: string;
  title: string;
  description: string;
  evidence: Evidence;
  remediation: Remediation;
  /** Other checks that would confirm it (an audit finding names scanner checks). */
  related?: string[];
}

/**
 * A check or rule that ran (reporters: SARIF `rules`, JUnit test suites). Producers pass
 * their catalogue so a report says what was tested, not only what failed.
 */
export interface CheckInfo {
  /** Same as `Finding.check`. */
  id: string;
  title: string;
  owasp?: OwaspApiCategory;
  cwe?: number;
  /** Default severity of its findings. */
  severity?: Severity;
  /** Why it matters. */
  description?: string;
  /** How to fix what it finds. */
  remediation?: string;
  /** Where it was applied (operations `METHOD /path` or files); JUnit makes one test case per entry. */
  appliesTo?: string[];
}

/** One of the fixes that would raise an audit score most. */
export interface TopFix {
  /** What to do, in one line. */
  title: string;
  /** Score points gained overall if applied (audit). */
  impact: number;
  /** Ids of the findings it closes. */
  findings: string[];
  /** `x-rampart` text to paste, where one closes it. */
  xRampart?: string;
}

/** Facts about the run that produced a list of findings (for reporters and stored results). */
export interface RunMeta {
  tool: FindingSource;
  /** What was examined: a target URL, documents, a source path. */
  target: string;
  startedAt: string;
  finishedAt: string;
  /** Rampart's version. */
  version: string;
  stats?: Record<string, number>;
  /** Things that could not be tested or read, with the reason (never silent). */
  notes?: string[];
  /** Audit: score 0–100 overall and per OWASP category. */
  score?: { overall: number; byCategory?: Partial<Record<OwaspApiCategory, number>> };
  /** The checks or rules that ran (SARIF rules, JUnit suites). */
  checks?: CheckInfo[];
  /** What was examined (operations or files), for JUnit test cases when a check gives no `appliesTo`. */
  targets?: string[];
  /** Audit: the fixes ranked by score impact (at most five). */
  topFixes?: TopFix[];
  /** Findings a baseline suppressed in this run (id, reason, expiry), shown in reports. */
  suppressed?: Array<{ id: string; check: string; reason: string; expires: string }>;
}

/** Severity order for comparisons (`--fail-on`). */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** True when a finding is at or above the threshold. */
export function atOrAbove(f: Pick<Finding, 'severity'>, threshold: Severity): boolean {
  return severityRank(f.severity) >= severityRank(threshold);
}
