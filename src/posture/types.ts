/**
 * The posture evaluator's input (filled by the CLI from the loaded config, the compiled
 * per-operation chains, the certificate, stored results and the history) and its report.
 * Plain data: the evaluator imports no feature, so the same input can come from the CLI or
 * the admin API.
 */
import type { CheckInfo, Finding, OwaspApiCategory } from '../core/findings.ts';

/** One operation with the policies of its compiled chain (gateway/describe.ts `OperationChain`). */
export interface OperationInput {
  api: string;
  base: string;
  method: string;
  template: string;
  /** `METHOD /base/template`. */
  operation: string;
  policies: readonly string[];
  rampart: Readonly<Record<string, unknown>>;
  security: ReadonlyArray<Record<string, string[]>>;
  /** The operation's own `security: []`. */
  ownSecurityEmpty: boolean;
  pathParams: readonly string[];
}

export interface VersionInput {
  api: string;
  base: string;
  deprecated?: string | undefined;
  sunset?: string | undefined;
  successor?: string | undefined;
  deprecationLink?: string | undefined;
}

export interface CertificateInput {
  /** Where it was read from. */
  source: string;
  subject: string;
  issuer: string;
  notAfter: string;
  daysLeft: number;
  /** The generated development certificate (data/tls). */
  generated: boolean;
}

export interface TlsInput {
  /** TLS on the public listener (always TLS 1.3 only when on). */
  enabled: boolean;
  certificate?: CertificateInput | undefined;
  /** Why no certificate could be read (none configured and no development one yet, unreadable file). */
  certificateProblem?: string | undefined;
  /** Plain HTTP listener: off, or redirect to HTTPS on a port. */
  http: { mode: 'off' | 'redirect'; port?: number | undefined };
  /** trustedProxies is set (TLS may be terminated in front). */
  trustedProxies: number;
  /** Admin listener address. */
  adminHost: string;
}

export interface IdentityInput {
  requiredForRoles: readonly string[];
  requiredForAll: boolean;
}

/** One stored result of a scan, an audit or a code scan (a JSON report of src/report). */
export interface ResultInput {
  kind: 'scan' | 'audit' | 'code';
  file: string;
  /** Scan name (history folder), or the report's target. */
  name: string;
  finishedAt: string;
  findings: readonly Finding[];
  checks: readonly Pick<CheckInfo, 'id' | 'owasp'>[];
  /** Identities the scan used (scanner stats). */
  identities?: number | undefined;
  /** Stopped early (a partial scan). */
  partial: boolean;
}

export interface ScheduleInput {
  name: string;
  intervalSeconds: number;
  target: string;
}

/** A CI definition that runs Rampart's tools. */
export interface CiInput {
  file: string;
  tools: ReadonlyArray<'scan' | 'audit' | 'code'>;
  onPush: boolean;
  scheduled: boolean;
}

/** An effective alert rule (shipped defaults merged with rampart.yaml's `monitor.rules`). */
export interface RuleInput {
  id: string;
  enabled: boolean;
  /** `match` filters (and a ratio's denominator) as configured. */
  match: ReadonlyArray<Readonly<Record<string, unknown>>>;
  groupBy: readonly string[];
}

/** One recorded `rampart simulate --record` run. */
export interface SimulationInput {
  file: string;
  scenario: string;
  at: string;
  expected: readonly string[];
  fired: readonly string[];
}

export interface MonitorInput {
  enabled: boolean;
  auditLog: boolean;
  notifiers: number;
  rules: readonly RuleInput[];
}

/** What the store knows of traffic (inventory), when a store was readable. */
export interface TrafficInput {
  shadowEndpoints: number;
  deprecatedConsumers: number;
}

export interface PostureInputs {
  /** The config file, or `built-in demo`. */
  source: string;
  operations: readonly OperationInput[];
  /** Policies that are enabled (built), by name. */
  enabledPolicies: readonly string[];
  /** `policies.mfa` options (defaults applied) when mfa is enabled. */
  mfa?: { requireFor: { roles: readonly string[]; apis: readonly string[]; all: boolean } } | undefined;
  /** `policies.minimise-response.pii` (masked kinds). */
  piiMasks: readonly string[];
  /** Business flows declared in `policies.flow-limit.flows`. */
  flows: number;
  /** Roles that mark admin APIs. */
  adminRoles: readonly string[];
  versions: readonly VersionInput[];
  tls: TlsInput;
  identity?: IdentityInput | undefined;
  /** Third parties the egress listener holds to their documents (API10). */
  egressThirdParties: number;
  schedules: readonly ScheduleInput[];
  results: readonly ResultInput[];
  ci: readonly CiInput[];
  monitor: MonitorInput;
  simulations: readonly SimulationInput[];
  /** `rampart simulate` scenarios and the rules each should fire (monitor/simulate.ts). */
  scenarios: Readonly<Record<string, readonly string[]>>;
  /** Where evidence is read and kept (as the config names them), for the next actions' wording. */
  paths: {
    scans: string;
    audits: readonly string[];
    code: readonly string[];
    simulations: string;
    config: string;
  };
  traffic?: TrafficInput | undefined;
  /** Earlier runs, oldest first. */
  history: readonly PostureRun[];
  /** Things that could not be read (a broken report file, no store), shown in the report. */
  notes: readonly string[];
}

export type Dimension = 'prevented' | 'detected' | 'monitored';

/** One measured fact of an item: a value 0–1 with its weight and evidence. */
export interface Criterion {
  id: string;
  dimension: Dimension;
  weight: number;
  /** 0 (absent) … 1 (fully met). */
  value: number;
  /** What was measured, from which data. */
  evidence: string;
  /** The concrete rampart.yaml or x-rampart change that raises `value` (absent when met). */
  action?: string | undefined;
}

export interface ItemResult {
  id: string;
  title: string;
  /** 0–100: Σ weight·value / Σ weight. */
  score: number;
  /** Per dimension: 0–100, or null when the item has no criterion of it. */
  dimensions: Record<Dimension, number | null>;
  criteria: Criterion[];
}

export interface NextAction {
  /** Points of the overall score this change would add (all affected items together). */
  gain: number;
  action: string;
  /** Items it raises. */
  items: string[];
}

/** What the history keeps of one run. */
export interface PostureRun {
  at: string;
  score: number;
  items: Record<string, number>;
}

export interface PostureReport {
  generatedAt: string;
  source: string;
  score: number;
  formula: string;
  checklist: ItemResult[];
  owasp: Array<ItemResult & { id: OwaspApiCategory }>;
  actions: NextAction[];
  trend: {
    runs: PostureRun[];
    /** Change since the previous run, when there is one. */
    delta: number | undefined;
  };
  notes: string[];
}
