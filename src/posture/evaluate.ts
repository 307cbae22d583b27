/**
 * The posture evaluation (docs/posture.md): for each checklist item and each OWASP API
 * Security Top 10 2023 category, criteria measured from the inputs — how much is
 * *prevented* (which policies the compiled chains run on which share of operations),
 * *detected* (the latest scan / audit / code-scan result and its age) and *monitored*
 * (which alert rules watch it, and whether a recorded `rampart simulate` fired them).
 *
 * Formula: a dimension's score is the weighted mean of its criteria (value 0–1); an item's
 * score is 100 × Σ share·dimension / Σ share over the dimensions it has, with the shares
 * prevented 0.5, detected 0.3, monitored 0.2; the overall score is the mean of the ten
 * checklist items and the mean of the ten OWASP categories, half each. Pure: no I/O, the
 * clock is a parameter.
 */
import { OWASP_API_TOP10, POLICY_CATEGORY, type Finding, type OwaspApiCategory } from '../core/findings.ts';
import type {
  Criterion,
  Dimension,
  ItemResult,
  NextAction,
  OperationInput,
  PostureInputs,
  PostureReport,
  ResultInput,
  RuleInput,
} from './types.ts';

export const DIMENSION_SHARE: Readonly<Record<Dimension, number>> = {
  prevented: 0.5,
  detected: 0.3,
  monitored: 0.2,
};

export const FORMULA =
  'dimension = Σ weight·value / Σ weight of its criteria (value 0–1); item = 100 × Σ share·dimension / Σ share over the dimensions it has (prevented 0.5, detected 0.3, monitored 0.2); overall = ½ · mean(10 checklist items) + ½ · mean(10 OWASP API Top 10 categories)';

export const CATEGORIES = Object.keys(OWASP_API_TOP10) as OwaspApiCategory[];

const DAY = 86_400_000;
/** A result at most this old counts fully; it counts for nothing from `STALE_DAYS` on. */
export const FRESH_DAYS = 7;
export const STALE_DAYS = 90;
/** A simulation at most this old counts as having tested a rule. */
export const SIMULATION_DAYS = 90;

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

// ---------------------------------------------------------------------------------------------
// Operation predicates: what the compiled chains say about each operation.

const has = (op: OperationInput, policy: string): boolean => op.policies.includes(policy);

/** Credentials required: `x-rampart.auth`, else anything but the operation's own `security: []`. */
export function authRequired(op: OperationInput): boolean {
  const a = op.rampart.auth;
  if (a === 'required') return true;
  if (a === 'public' || a === 'optional') return false;
  return !op.ownSecurityEmpty;
}

const isWrite = (op: OperationInput): boolean => !READS.has(op.method);

function rolesOf(op: OperationInput): string[] | undefined {
  const r = op.rampart.roles;
  return Array.isArray(r) && r.length > 0 ? (r as string[]) : undefined;
}

/** An admin API: x-rampart.roles naming only admin roles, or a path under /admin. */
export function isAdminOp(op: OperationInput, adminRoles: readonly string[]): boolean {
  const roles = rolesOf(op);
  if (roles) return roles.every((r) => adminRoles.includes(r));
  return /(^|\/)admin(\/|$)/.test(op.template);
}

/** A sensitive API: an authenticated write, or one restricted to roles or owners. */
export function isSensitiveOp(op: OperationInput): boolean {
  return authRequired(op) && (isWrite(op) || rolesOf(op) !== undefined || op.rampart.owner !== undefined);
}

/** `x-rampart.mfa` asks for a second factor from every caller. */
export function mfaDeclared(rampart: Readonly<Record<string, unknown>>): boolean {
  const v = rampart.mfa;
  if (v === true || v === 'required') return true;
  if (v !== null && typeof v === 'object' && !Array.isArray(v))
    return (v as { required?: unknown }).required !== false;
  return false;
}

/** MFA enforced for every caller of the operation (not only some roles). */
function mfaForEveryone(op: OperationInput, inputs: PostureInputs): boolean {
  if (!has(op, 'mfa')) return false;
  const r = inputs.mfa?.requireFor;
  return mfaDeclared(op.rampart) || r?.all === true || (r?.apis.includes(op.api) ?? false);
}

/** MFA enforced for every caller the operation admits (everyone, or its roles all need MFA). */
function mfaForCallers(op: OperationInput, inputs: PostureInputs): boolean {
  if (mfaForEveryone(op, inputs)) return true;
  if (!has(op, 'mfa')) return false;
  const roles = rolesOf(op);
  const need = inputs.mfa?.requireFor.roles ?? [];
  return roles !== undefined && roles.every((r) => need.includes(r));
}

const isLogin = (op: OperationInput): boolean =>
  op.method === 'POST' && /\/(login|signin|sign-in|token|sessions?)$/i.test(op.template);

interface Share {
  n: number;
  of: number;
  value: number;
  missing: OperationInput[];
}

function share(ops: readonly OperationInput[], ok: (op: OperationInput) => boolean): Share {
  const missing = ops.filter((o) => !ok(o));
  const of = ops.length;
  return { n: of - missing.length, of, value: of === 0 ? 1 : (of - missing.length) / of, missing };
}

function listOps(ops: readonly OperationInput[], max = 3): string {
  const names = ops.slice(0, max).map((o) => o.operation);
  return names.join(', ') + (ops.length > max ? ` (+${ops.length - max} more)` : '');
}

const pct = (v: number): string => `${Math.round(v * 100)} %`;

function shareEvidence(s: Share, what: string): string {
  return s.of === 0 ? `no ${what}` : `${s.n} of ${s.of} ${what} (${pct(s.value)})`;
}

function crit(
  id: string,
  dimension: Dimension,
  weight: number,
  value: number,
  evidence: string,
  action?: string,
): Criterion {
  const v = Math.max(0, Math.min(1, value));
  return { id, dimension, weight, value: v, evidence, ...(v < 1 && action ? { action } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Detection: stored results.

/** 1 up to FRESH_DAYS old, falling linearly to 0 at `stale` days. */
export function freshness(ageDays: number, fresh = FRESH_DAYS, stale = STALE_DAYS): number {
  if (ageDays <= fresh) return 1;
  if (ageDays >= stale) return 0;
  return 1 - (ageDays - fresh) / (stale - fresh);
}

const ageDays = (iso: string, now: number): number => Math.max(0, (now - Date.parse(iso)) / DAY);

function days(n: number): string {
  return n < 1 ? 'today' : `${Math.floor(n)} day${Math.floor(n) === 1 ? '' : 's'} ago`;
}

/** The newest result of each kind (complete runs first; partial ones only when nothing else). */
function latest(results: readonly ResultInput[], kind: ResultInput['kind']): ResultInput | undefined {
  const of = results.filter((r) => r.kind === kind);
  const full = of.filter((r) => !r.partial);
  return (full.length ? full : of).sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt))[0];
}

const covers = (r: ResultInput, c: OwaspApiCategory): boolean =>
  r.checks.some((k) => k.owasp === c) || r.findings.some((f) => f.owasp === c);

/** Open findings of a result that matter (medium and above). */
const serious = (fs: readonly Finding[]): Finding[] =>
  fs.filter((f) => f.severity === 'medium' || f.severity === 'high' || f.severity === 'critical');

/** 1 with no open medium+ finding, 0.6 with medium ones, 0.25 with a high or critical one. */
export function findingsFactor(fs: readonly Finding[]): number {
  if (fs.some((f) => f.severity === 'high' || f.severity === 'critical')) return 0.25;
  if (fs.some((f) => f.severity === 'medium')) return 0.6;
  return 1;
}

const TOOL_COMMAND: Record<ResultInput['kind'], string> = {
  scan: 'rampart scan',
  audit: 'rampart audit',
  code: 'rampart code',
};

function fixOf(f: Finding): string {
  const where = f.operation ? ` on ${f.operation}` : '';
  if (f.remediation.xRampart)
    return `x-rampart ${f.remediation.xRampart.replace(/\s+/g, ' ').trim()}${where}`;
  if (f.remediation.policy) return `turn on policy '${f.remediation.policy}'${where}`;
  return `${f.remediation.summary}${where}`;
}

function storeHint(kind: ResultInput['kind'], inputs: PostureInputs): string {
  if (kind === 'scan') return `${TOOL_COMMAND.scan} --history ${inputs.paths.scans} (or a scans: job)`;
  const list = kind === 'audit' ? inputs.paths.audits : inputs.paths.code;
  const out = list[0] ?? `<file> (list it in posture.evidence.${kind === 'audit' ? 'audits' : 'code'})`;
  return `${TOOL_COMMAND[kind]} --format json --output ${out}`;
}

/** Detection of one category: the freshest covering result of each tool, and its open findings. */
function detectionCriterion(c: OwaspApiCategory, inputs: PostureInputs, now: number): Criterion {
  const parts: string[] = [];
  let best = 0;
  const open: Finding[] = [];
  for (const kind of ['scan', 'audit', 'code'] as const) {
    const r = latest(
      inputs.results.filter((x) => covers(x, c)),
      kind,
    );
    if (!r) continue;
    const age = ageDays(r.finishedAt, now);
    best = Math.max(best, freshness(age));
    const mine = serious(r.findings.filter((f) => f.owasp === c));
    open.push(...mine);
    parts.push(`${kind} ${r.name} ${days(age)}: ${mine.length} open medium+ finding(s)`);
  }
  const factor = findingsFactor(open);
  const value = best * factor;
  // The same wording as the scans and pentest items, so one run of the scanner adds up everywhere.
  const action =
    factor < 1 && parts.length
      ? `fix ${c} findings: ${[...new Set(open.map(fixOf))].slice(0, 2).join('; ')}`
      : `run ${storeHint('scan', inputs)}`;
  return crit(
    `detected-${c}`,
    'detected',
    1,
    value,
    parts.length ? parts.join('; ') : `no stored scan, audit or code-scan result covers ${c}`,
    action,
  );
}

// ---------------------------------------------------------------------------------------------
// Monitoring: alert rules and simulations.

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** The OWASP categories an alert rule watches, from the events its filters match. */
export function ruleCategories(rule: RuleInput): OwaspApiCategory[] {
  const out = new Set<OwaspApiCategory>();
  for (const f of rule.match) {
    const types = asList(f.type).map(String);
    for (const t of types.length ? types : ['request']) {
      switch (t) {
        case 'auth':
        case 'mfa':
          out.add('API2:2023');
          break;
        case 'denied': {
          const given = asList(f.owasp ?? f.category).map(String) as OwaspApiCategory[];
          const byPolicy = asList(f.policy)
            .map((p) => POLICY_CATEGORY[String(p)])
            .filter((x): x is OwaspApiCategory => x !== undefined);
          const named = [...given.filter((g) => g in OWASP_API_TOP10), ...byPolicy];
          // No policy or category named: every denial counts (grouped by category, e.g. denial-spike).
          for (const c of named.length ? named : CATEGORIES) out.add(c);
          break;
        }
        case 'rate-limited':
        case 'counter-store':
          out.add('API4:2023');
          break;
        case 'shadow-endpoint':
        case 'deprecated-version-used':
          out.add('API9:2023');
          break;
        case 'contract-violation':
          out.add(asList(f.direction).includes('egress') ? 'API10:2023' : 'API8:2023');
          break;
        case 'validation-failed':
        case 'bad-request':
        case 'cert-expiry':
        case 'config-reload':
          out.add('API8:2023');
          break;
        case 'upstream-error':
          out.add('API10:2023');
          break;
        case 'request': {
          const status = f.status;
          const statuses = asList(status).filter((s): s is number => typeof s === 'number');
          if (f.objectId !== undefined) out.add('API1:2023');
          if (statuses.includes(429) || f.durationMs !== undefined) out.add('API4:2023');
          if (statuses.includes(401)) out.add('API2:2023');
          if (statuses.includes(403)) out.add('API5:2023');
          const range = status !== null && typeof status === 'object' && !Array.isArray(status);
          if (range && typeof (status as { gte?: unknown }).gte === 'number') {
            if ((status as { gte: number }).gte >= 500) out.add('API8:2023');
          }
          break;
        }
      }
    }
  }
  return CATEGORIES.filter((c) => out.has(c));
}

/** Rules fired, as expected, by a recorded simulation at most SIMULATION_DAYS old. */
function testedRules(inputs: PostureInputs, now: number): Map<string, string> {
  const tested = new Map<string, string>();
  for (const s of inputs.simulations) {
    if (ageDays(s.at, now) > SIMULATION_DAYS) continue;
    for (const rule of s.fired)
      if (s.expected.includes(rule) && !tested.has(rule)) tested.set(rule, s.scenario);
  }
  return tested;
}

function scenarioFor(rule: string, inputs: PostureInputs): string | undefined {
  return Object.entries(inputs.scenarios).find(([, rules]) => rules.includes(rule))?.[0];
}

/** The simulate run that would test one of `rules`; undefined when no scenario fires any. */
function simulateHint(rules: readonly RuleInput[], inputs: PostureInputs): string | undefined {
  for (const r of rules) {
    const s = scenarioFor(r.id, inputs);
    if (s) return `rampart simulate ${s} --target URL --record ${inputs.paths.simulations} (fires ${r.id})`;
  }
  return undefined;
}

/** A custom rule that watches a category, ready for monitor.rules. */
const RULE_EXAMPLE: Record<OwaspApiCategory, string> = {
  'API1:2023':
    '{ id: object-enumeration, kind: distinct, match: { type: request, objectId: { present: true } }, field: objectId, groupBy: [consumer, route], window: 1m, threshold: 30 }',
  'API2:2023':
    '{ id: failed-logins, kind: threshold, match: { type: auth, outcome: failure }, window: 1m, threshold: 50 }',
  'API3:2023':
    '{ id: bopla-denials, kind: threshold, match: { type: denied, policy: property-access }, window: 5m, threshold: 10 }',
  'API4:2023':
    '{ id: rate-limit-flood, kind: threshold, match: { type: request, status: 429 }, groupBy: [consumer], window: 1m, threshold: 50 }',
  'API5:2023':
    '{ id: bfla-denials, kind: threshold, match: { type: denied, policy: roles }, groupBy: [consumer], window: 5m, threshold: 10 }',
  'API6:2023':
    '{ id: flow-denials, kind: threshold, match: { type: denied, policy: flow-limit }, window: 10m, threshold: 5 }',
  'API7:2023': '{ id: ssrf-attempts, kind: event, match: { type: denied, policy: ssrf-guard }, window: 10m }',
  'API8:2023':
    '{ id: contract-violations, kind: threshold, match: { type: contract-violation }, window: 5m, threshold: 20 }',
  'API9:2023':
    '{ id: shadow-endpoint, kind: new, match: { type: shadow-endpoint }, field: [method, path], window: 10m }',
  'API10:2023':
    '{ id: egress-violations, kind: event, match: { type: contract-violation, direction: egress }, window: 10m }',
};

function monitoringCriterion(c: OwaspApiCategory, inputs: PostureInputs, now: number): Criterion {
  const watching = inputs.monitor.enabled
    ? inputs.monitor.rules.filter((r) => r.enabled && ruleCategories(r).includes(c))
    : [];
  const tested = testedRules(inputs, now);
  const done = watching.filter((r) => tested.has(r.id));
  let value = 0;
  let evidence: string;
  let action: string | undefined;
  if (!inputs.monitor.enabled) {
    evidence = 'monitoring is off (monitor.enabled: false)';
    action = 'set monitor.enabled: true in rampart.yaml';
  } else if (watching.length === 0) {
    evidence = `no enabled alert rule watches ${c}`;
    action = `add to monitor.rules: ${RULE_EXAMPLE[c]}`;
  } else {
    value = done.length ? 1 : 0.5;
    evidence = `rules ${watching.map((r) => r.id).join(', ')}; ${
      done.length
        ? `tested by rampart simulate (${done.map((r) => `${r.id} ← ${tested.get(r.id)}`).join(', ')})`
        : 'none fired in a recorded simulation'
    }`;
    action = simulateHint(watching, inputs);
    if (!done.length && !action) evidence += ' (no rampart simulate scenario fires them)';
  }
  return crit(`monitored-${c}`, 'monitored', 1, value, evidence, action);
}

// ---------------------------------------------------------------------------------------------
// Items.

interface Context {
  inputs: PostureInputs;
  now: number;
  ops: readonly OperationInput[];
  enabled: Set<string>;
}

function item(id: string, title: string, criteria: Criterion[]): ItemResult {
  const dimensions = { prevented: null, detected: null, monitored: null } as Record<Dimension, number | null>;
  let num = 0;
  let den = 0;
  for (const d of Object.keys(DIMENSION_SHARE) as Dimension[]) {
    const cs = criteria.filter((c) => c.dimension === d);
    const w = cs.reduce((a, c) => a + c.weight, 0);
    if (w === 0) continue;
    const v = cs.reduce((a, c) => a + c.weight * c.value, 0) / w;
    dimensions[d] = Math.round(v * 100);
    num += DIMENSION_SHARE[d] * v;
    den += DIMENSION_SHARE[d];
  }
  return { id, title, score: den === 0 ? 0 : Math.round((100 * num) / den), dimensions, criteria };
}

function policyOn(x: Context, name: string, weight: number, why: string): Criterion {
  const on = x.enabled.has(name);
  return crit(
    `policy-${name}`,
    'prevented',
    weight,
    on ? 1 : 0,
    on ? `policy ${name} is on` : `policy ${name} is off`,
    `set policies.${name}.enabled: true in rampart.yaml (${why})`,
  );
}

function adminMfa(x: Context): Criterion {
  const admin = x.ops.filter((o) => isAdminOp(o, x.inputs.adminRoles));
  const s = share(admin, (o) => mfaForCallers(o, x.inputs));
  const action = !x.enabled.has('mfa')
    ? `set policies.mfa.enabled: true with requireFor.roles: [${x.inputs.adminRoles.join(', ')}] (admins need MFA on every operation)`
    : `x-rampart: { mfa: required } on ${listOps(s.missing)}, or policies.mfa.requireFor.roles: [${x.inputs.adminRoles.join(', ')}] with x-rampart.roles on them`;
  return crit(
    'mfa-admin',
    'prevented',
    3,
    s.value,
    `MFA enforced on ${shareEvidence(s, 'admin operations')}`,
    action,
  );
}

function mfaItem(x: Context): ItemResult {
  const sensitive = x.ops.filter(isSensitiveOp);
  const s = share(sensitive, (o) => mfaForCallers(o, x.inputs));
  const cs = [
    adminMfa(x),
    crit(
      'mfa-sensitive',
      'prevented',
      2,
      s.value,
      `MFA for every caller on ${shareEvidence(s, 'sensitive operations (authenticated writes, role- or owner-restricted)')}`,
      !x.enabled.has('mfa')
        ? `set policies.mfa.enabled: true, then x-rampart: { mfa: required } on ${listOps(s.missing)}`
        : `x-rampart: { mfa: required } on ${listOps(s.missing)} (or policies.mfa.requireFor.apis: [${[...new Set(s.missing.map((o) => o.api))].join(', ')}])`,
    ),
  ];
  const id = x.inputs.identity;
  if (id) {
    const v = id.requiredForAll
      ? 1
      : x.inputs.adminRoles.some((r) => id.requiredForRoles.includes(r))
        ? 0.75
        : 0;
    cs.push(
      crit(
        'mfa-enrolment',
        'prevented',
        1,
        v,
        id.requiredForAll
          ? 'identity service: every user must enrol a second factor'
          : `identity service: MFA enrolment required for roles [${id.requiredForRoles.join(', ')}]`,
        v === 0
          ? `set identity.mfa.requiredForRoles: [${x.inputs.adminRoles.join(', ')}] (or requiredForAll: true)`
          : 'set identity.mfa.requiredForAll: true (every user enrols a second factor)',
      ),
    );
  }
  cs.push(
    detectionCriterion('API2:2023', x.inputs, x.now),
    monitoringCriterion('API2:2023', x.inputs, x.now),
  );
  return item('mfa', 'MFA on admin and sensitive APIs', cs);
}

function versioningItem(x: Context): ItemResult {
  const versions = x.inputs.versions;
  const versioned = versions.filter((v) => v.base !== '/');
  const byApi = new Map<string, typeof versions>();
  for (const v of versions) byApi.set(v.api, [...(byApi.get(v.api) ?? []), v]);
  // Every API with several versions: all but one (the current) carry a deprecation and a sunset date.
  const multiApis = [...byApi.values()].filter((vs) => vs.length > 1);
  const needed = multiApis.reduce((a, vs) => a + vs.length - 1, 0);
  const undated = multiApis.flatMap((vs) => {
    const m = vs.filter((v) => !v.deprecated || !v.sunset);
    return m.slice(0, Math.max(0, m.length - 1));
  });
  const deprecated = versions.filter((v) => v.deprecated);
  const tooLong = deprecated.filter(
    (v) => v.sunset !== undefined && Date.parse(v.sunset) - Date.parse(v.deprecated!) > 366 * DAY,
  );
  const unlinked = deprecated.filter((v) => !v.deprecationLink);
  const cs: Criterion[] = [
    crit(
      'versions-versioned',
      'prevented',
      1,
      versions.length ? versioned.length / versions.length : 0,
      versions.length
        ? `${versioned.length} of ${versions.length} API versions served under a version base path`
        : 'no API configured',
      `serve each version under its own base (apis[].versions[].base: /v2)`,
    ),
  ];
  if (multiApis.length) {
    cs.push(
      crit(
        'versions-schedule',
        'prevented',
        2,
        needed ? 1 - undated.length / needed : 1,
        undated.length
          ? `versions without a deprecation and sunset date: ${undated.map((v) => `${v.api} ${v.base}`).join(', ')}`
          : 'every superseded version has a deprecation and a sunset date',
        `set deprecated: and sunset: (6–12 months apart) on ${undated.map((v) => `apis[${v.api}].versions[${v.base}]`).join(', ')}`,
      ),
      crit(
        'versions-window',
        'prevented',
        1,
        deprecated.length ? 1 - tooLong.length / deprecated.length : 1,
        tooLong.length
          ? `sunset more than 12 months after deprecation: ${tooLong.map((v) => `${v.api} ${v.base}`).join(', ')}`
          : `${deprecated.length} deprecated version(s), each sunset within 12 months`,
        `bring sunset: within 12 months of deprecated: on ${tooLong.map((v) => `${v.api} ${v.base}`).join(', ')}`,
      ),
      crit(
        'versions-notice',
        'prevented',
        1,
        deprecated.length ? 1 - unlinked.length / deprecated.length : 1,
        unlinked.length
          ? `deprecated versions without a deprecation notice link: ${unlinked.map((v) => `${v.api} ${v.base}`).join(', ')}`
          : 'every deprecated version links its notice',
        `set deprecationLink: (your public changelog, e.g. the admin /changelog page) on ${unlinked.map((v) => `${v.api} ${v.base}`).join(', ')}`,
      ),
    );
  }
  cs.push(policyOn(x, 'versions', 1, VERSIONS_WHY));
  const t = x.inputs.traffic;
  if (t && deprecated.length)
    cs.push(
      crit(
        'versions-consumers',
        'detected',
        1,
        t.deprecatedConsumers === 0 ? 1 : 0.5,
        `${t.deprecatedConsumers} consumer(s) still call deprecated versions (store inventory)`,
        'move the consumers listed by `rampart inventory` to the successor version',
      ),
    );
  cs.push(
    detectionCriterion('API9:2023', x.inputs, x.now),
    monitoringCriterion('API9:2023', x.inputs, x.now),
  );
  return item('versioning', 'Versioning with a deprecation schedule', cs);
}

function scansItem(x: Context): ItemResult {
  const weekly = 7 * 86_400;
  const best = Math.min(...x.inputs.schedules.map((s) => s.intervalSeconds), Infinity);
  const scan = latest(x.inputs.results, 'scan');
  const pushCi = x.inputs.ci.filter((c) => c.tools.includes('scan') && c.onPush);
  const scheduledCi = x.inputs.ci.filter((c) => c.tools.includes('scan') && c.scheduled);
  const scheduleValue = best <= weekly || scheduledCi.length ? 1 : best === Infinity ? 0 : weekly / best;
  return item('scans', 'Scans weekly and on every push', [
    crit(
      'scans-schedule',
      'detected',
      2,
      scheduleValue,
      x.inputs.schedules.length
        ? `scans: ${x.inputs.schedules.map((s) => `${s.name} at most ${Math.round(s.intervalSeconds / 3600)} h apart`).join(', ')}`
        : scheduledCi.length
          ? `scheduled in CI: ${scheduledCi.map((c) => c.file).join(', ')}`
          : 'no scheduled scan (no scans: job, no scheduled CI scan)',
      `add a scans: job in rampart.yaml with interval: 604800 (weekly) or less, or a scheduled CI job running rampart scan`,
    ),
    crit(
      'scans-push',
      'detected',
      2,
      pushCi.length ? 1 : 0,
      pushCi.length
        ? `rampart scan runs on push in ${pushCi.map((c) => c.file).join(', ')}`
        : x.inputs.ci.length
          ? `CI files (${x.inputs.ci.map((c) => c.file).join(', ')}) run no rampart scan on push`
          : 'no CI definition found (posture.evidence.ci)',
      'add a CI job on push running rampart scan (docs/ci.md) and list its file in posture.evidence.ci',
    ),
    crit(
      'scans-latest',
      'detected',
      1,
      scan ? freshness(ageDays(scan.finishedAt, x.now)) : 0,
      scan
        ? `latest stored scan: ${scan.name} ${days(ageDays(scan.finishedAt, x.now))}`
        : 'no stored scan result',
      `run ${storeHint('scan', x.inputs)}`,
    ),
  ]);
}

function monitoringItem(x: Context): ItemResult {
  const m = x.inputs.monitor;
  const enabledRules = m.enabled ? m.rules.filter((r) => r.enabled) : [];
  const watched = new Set(enabledRules.flatMap(ruleCategories));
  const tested = testedRules(x.inputs, x.now);
  const testable = enabledRules.filter((r) => scenarioFor(r.id, x.inputs) !== undefined || tested.has(r.id));
  const done = enabledRules.filter((r) => tested.has(r.id));
  const untested = enabledRules.filter((r) => !tested.has(r.id));
  return item('monitoring', 'Real-time monitoring with tested alert thresholds', [
    crit(
      'monitor-on',
      'monitored',
      2,
      m.enabled ? 1 : 0,
      m.enabled ? 'monitor on' : 'monitor.enabled: false',
      'set monitor.enabled: true',
    ),
    crit(
      'monitor-audit-log',
      'monitored',
      1,
      m.enabled && m.auditLog ? 1 : 0,
      m.enabled && m.auditLog ? 'security decisions are kept in the audit log' : 'audit log off',
      'set monitor.auditLog.enabled: true',
    ),
    crit(
      'monitor-notifiers',
      'monitored',
      1,
      m.enabled && m.notifiers > 0 ? 1 : 0,
      `${m.notifiers} notifier(s) deliver alerts`,
      'add monitor.notifiers (webhook, Slack or e-mail) so someone is told when a rule fires',
    ),
    crit(
      'monitor-coverage',
      'monitored',
      1,
      watched.size / CATEGORIES.length,
      `${enabledRules.length} enabled rule(s) watch ${watched.size} of 10 OWASP categories`,
      `add monitor.rules for ${CATEGORIES.filter((c) => !watched.has(c)).join(', ')} (see each category's next action)`,
    ),
    crit(
      'monitor-tested',
      'monitored',
      2,
      testable.length ? done.length / testable.length : 0,
      `${done.length} of ${testable.length} enabled rules a rampart simulate scenario can fire did fire in a recorded simulation within ${SIMULATION_DAYS} days (${enabledRules.length} enabled in all)`,
      untested.length ? simulateHint(untested, x.inputs) : undefined,
    ),
  ]);
}

function codeItem(x: Context): ItemResult {
  const code = latest(x.inputs.results, 'code');
  const open = code ? serious(code.findings) : [];
  const ci = x.inputs.ci.filter((c) => c.tools.includes('code') && c.onPush);
  return item('secure-coding', 'Secure-coding scan', [
    crit(
      'code-latest',
      'detected',
      2,
      code ? freshness(ageDays(code.finishedAt, x.now), 7, 60) : 0,
      code
        ? `latest code scan ${code.name} ${days(ageDays(code.finishedAt, x.now))}`
        : 'no stored code-scan result',
      `run ${storeHint('code', x.inputs)}`,
    ),
    crit(
      'code-findings',
      'detected',
      1,
      code ? findingsFactor(open) : 0,
      code ? `${open.length} open medium+ code finding(s)` : 'no code scan to judge',
      code
        ? `fix the code findings: ${[...new Set(open.map((f) => f.check))].slice(0, 3).join(', ')}`
        : `run ${storeHint('code', x.inputs)}`,
    ),
    crit(
      'code-push',
      'detected',
      1,
      ci.length ? 1 : 0,
      ci.length
        ? `rampart code runs on push in ${ci.map((c) => c.file).join(', ')}`
        : 'no CI job runs rampart code on push',
      'add rampart code to the CI job on push (docs/code-scan.md) and list its file in posture.evidence.ci',
    ),
  ]);
}

// Criteria a checklist item and an OWASP category share: the same action text, so the gain
// of one change adds up over both in the next actions.

function ownerCrit(x: Context, weight: number): Criterion {
  const objects = x.ops.filter((o) => authRequired(o) && o.pathParams.length > 0);
  const s = share(objects, (o) => has(o, 'owner'));
  return crit(
    'owner',
    'prevented',
    weight,
    s.value,
    `object-level owner rule on ${shareEvidence(s, 'authenticated operations with an object id')}`,
    `x-rampart: { owner: { lookup: 'GET /…/{id}', field: ownerId, claim: sub } } on ${listOps(s.missing)}`,
  );
}

function rolesCrit(x: Context, weight: number): Criterion {
  const s = share(
    x.ops.filter(authRequired),
    (o) => has(o, 'roles') && (rolesOf(o) !== undefined || o.rampart.public === true),
  );
  return crit(
    'roles',
    'prevented',
    weight,
    s.value,
    `function-level roles declared and enforced on ${shareEvidence(s, 'authenticated operations')}`,
    !x.enabled.has('roles')
      ? 'set policies.roles.enabled: true with a hierarchy, and x-rampart.roles on each operation'
      : `x-rampart: { roles: [...] } (or { public: true }) on ${listOps(s.missing)}`,
  );
}

function rateLimitCrit(x: Context, weight: number): Criterion {
  const s = share(x.ops, (o) => has(o, 'rate-limit'));
  return crit(
    'rate-limit',
    'prevented',
    weight,
    s.value,
    `rate limit on ${shareEvidence(s, 'operations')}`,
    !x.enabled.has('rate-limit')
      ? 'set policies.rate-limit.enabled: true'
      : `x-rampart: { rateLimit: { per: user, limit: 100, window: 60 } } at document level of ${[...new Set(s.missing.map((o) => `${o.api} ${o.base}`))].join(', ')} (or policies.rate-limit.defaults)`,
  );
}

/** Undefined when no operation is a sign-in. */
function bruteForceCrit(x: Context): Criterion | undefined {
  const logins = x.ops.filter(isLogin);
  if (!logins.length) return undefined;
  const s = share(logins, (o) => has(o, 'brute-force'));
  return crit(
    'brute-force',
    'prevented',
    1,
    s.value,
    `failed-attempt limit on ${shareEvidence(s, 'sign-in operations')}`,
    `x-rampart: { bruteForce: { per: username, limit: 5, window: 900 } } on ${listOps(s.missing)}`,
  );
}

function minimiseCrit(x: Context, weight: number): Criterion {
  const s = share(x.ops, (o) => has(o, 'minimise-response'));
  return crit(
    'minimise-response',
    'prevented',
    weight,
    s.value,
    `answers minimised to the documented schema on ${shareEvidence(s, 'operations')}`,
    !x.enabled.has('minimise-response')
      ? 'set policies.minimise-response.enabled: true'
      : `declare JSON response schemas for ${listOps(s.missing)} (minimise-response needs them)`,
  );
}

function validateResponseCrit(x: Context, weight: number): Criterion {
  const s = share(x.ops, (o) => has(o, 'validate-response'));
  return crit(
    'validate-response',
    'prevented',
    weight,
    s.value,
    `upstream answers validated on ${shareEvidence(s, 'operations')}`,
    !x.enabled.has('validate-response')
      ? 'set policies.validate-response.enabled: true'
      : `declare response schemas for ${listOps(s.missing)}`,
  );
}

const VERSIONS_WHY = 'Deprecation/Sunset headers, 410 after sunset';
const PROPERTY_ACCESS = 'readOnly/writeOnly properties enforced (BOPLA)';
const REQUEST_LIMITS = 'body, header and JSON size limits';

function dataExposureItem(x: Context): ItemResult {
  return item('data-exposure', 'Limited data exposure', [
    minimiseCrit(x, 2),
    validateResponseCrit(x, 1),
    policyOn(x, 'property-access', 1, PROPERTY_ACCESS),
    crit(
      'pii-masks',
      'prevented',
      1,
      x.enabled.has('minimise-response') && x.inputs.piiMasks.length ? 1 : 0,
      x.inputs.piiMasks.length
        ? `PII masked in answers: ${x.inputs.piiMasks.join(', ')}`
        : 'no PII masking configured',
      'set policies.minimise-response.pii: [card, iban, email] (the kinds your answers must not show)',
    ),
    detectionCriterion('API3:2023', x.inputs, x.now),
    monitoringCriterion('API3:2023', x.inputs, x.now),
  ]);
}

function pentestItem(x: Context): ItemResult {
  const scan = latest(x.inputs.results, 'scan');
  const covered = new Set(scan ? CATEGORIES.filter((c) => covers(scan, c)) : []);
  return item('pentest', 'Penetration-style testing', [
    crit(
      'pentest-recent',
      'detected',
      2,
      scan ? freshness(ageDays(scan.finishedAt, x.now), 30, 365) : 0,
      scan
        ? `active scan (rampart scan) ${scan.name} ${days(ageDays(scan.finishedAt, x.now))}`
        : 'no active scan result stored',
      `run ${storeHint('scan', x.inputs)}`,
    ),
    crit(
      'pentest-identities',
      'detected',
      1,
      scan ? Math.min(1, (scan.identities ?? 0) / 2) : 0,
      scan
        ? `${scan.identities ?? 0} identities (two or more run the cross-identity BOLA/BFLA checks)`
        : 'no scan',
      'give rampart scan two identities and an admin one (--auth FILE with login recipes, docs/scanner.md)',
    ),
    crit(
      'pentest-coverage',
      'detected',
      1,
      covered.size / CATEGORIES.length,
      `the latest scan's checks cover ${covered.size} of 10 OWASP categories`,
      `run every check (no --checks filter) so ${CATEGORIES.filter((c) => !covered.has(c)).join(', ')} are attacked too`,
    ),
  ]);
}

function tlsItem(x: Context): ItemResult {
  const t = x.inputs.tls;
  const cert = t.certificate;
  const certValue = !t.enabled
    ? 0
    : !cert
      ? 0.3
      : cert.daysLeft < 0
        ? 0
        : cert.generated
          ? 0.3
          : cert.subject === cert.issuer
            ? 0.5
            : 1;
  const left = cert?.daysLeft ?? 0;
  const expiryRules = x.inputs.monitor.enabled
    ? x.inputs.monitor.rules.filter((r) => r.enabled && r.match.some((f) => f.type === 'cert-expiry'))
    : [];
  return item('tls', 'TLS 1.3 with valid certificates', [
    crit(
      'tls-on',
      'prevented',
      2,
      t.enabled ? 1 : t.trustedProxies > 0 ? 0.5 : 0,
      t.enabled
        ? 'public listener: TLS 1.3 only (1.2 and older refused)'
        : `listen.tls.enabled: false${t.trustedProxies ? ' (behind trusted proxies: TLS terminated before Rampart, not verified here)' : ''}`,
      'set listen.tls.enabled: true (TLS 1.3 only)',
    ),
    crit(
      'tls-certificate',
      'prevented',
      2,
      certValue,
      cert
        ? `${cert.generated ? 'generated development certificate' : cert.subject === cert.issuer ? 'self-signed certificate' : 'certificate'} ${cert.source}, ${cert.subject}, expires ${cert.notAfter.slice(0, 10)} (${cert.daysLeft} days)`
        : !t.enabled
          ? 'TLS off: the listener serves no certificate'
          : (t.certificateProblem ?? 'no certificate'),
      'set listen.tls.cert and listen.tls.key to a certificate from a public or internal CA',
    ),
    crit(
      'tls-expiry',
      'prevented',
      1,
      cert ? Math.max(0, Math.min(1, left / 30)) : 0,
      cert ? `${left} days until expiry` : 'no certificate to check',
      'renew the certificate (more than 30 days left) — automate it (ACME)',
    ),
    crit(
      'tls-plain-http',
      'prevented',
      1,
      t.http.mode === 'off' || t.http.mode === 'redirect' ? 1 : 0,
      t.http.mode === 'redirect' ? 'plain HTTP only redirects to HTTPS' : 'no plain HTTP listener',
    ),
    crit(
      'tls-admin-loopback',
      'prevented',
      1,
      /^(127\.|::1$|localhost$)/.test(t.adminHost) ? 1 : 0,
      `admin listener on ${t.adminHost}`,
      'set admin.host: 127.0.0.1 (reach it through an SSH tunnel or a TLS proxy)',
    ),
    crit(
      'tls-expiry-alert',
      'monitored',
      1,
      expiryRules.length ? 1 : 0,
      expiryRules.length
        ? `rules ${expiryRules.map((r) => r.id).join(', ')} warn before expiry`
        : 'no cert-expiry alert rule',
      'keep monitor.defaultRules: true (cert-expiring-30d, cert-expiring-7d)',
    ),
  ]);
}

function rateItem(x: Context): ItemResult {
  const bf = bruteForceCrit(x);
  const cs = [rateLimitCrit(x, 3), policyOn(x, 'request-limits', 1, REQUEST_LIMITS), ...(bf ? [bf] : [])];
  cs.push(
    detectionCriterion('API4:2023', x.inputs, x.now),
    monitoringCriterion('API4:2023', x.inputs, x.now),
  );
  return item('rate-limiting', 'Rate limiting', cs);
}

function rbacItem(x: Context): ItemResult {
  const writes = x.ops.filter(isWrite);
  const anonWrites = writes.filter((o) => !authRequired(o) || !has(o, 'authenticate'));
  // Sign-in and sign-up are writes every anonymous caller must reach.
  const open = anonWrites.filter((o) => !isLogin(o) && !/\/(register|signup|sign-up)$/i.test(o.template));
  return item('rbac', 'Role-based access', [
    rolesCrit(x, 2),
    ownerCrit(x, 1),
    crit(
      'rbac-anonymous-writes',
      'prevented',
      1,
      writes.length ? 1 - open.length / writes.length : 1,
      open.length
        ? `writes open to anonymous callers: ${listOps(open)}`
        : 'no write is open to anonymous callers (sign-in/sign-up aside)',
      `remove security: [] (or x-rampart.auth: public) from ${listOps(open)}`,
    ),
    detectionCriterion('API5:2023', x.inputs, x.now),
    monitoringCriterion('API5:2023', x.inputs, x.now),
  ]);
}

// ---------------------------------------------------------------------------------------------
// OWASP categories.

function categoryItem(c: OwaspApiCategory, x: Context): ItemResult & { id: OwaspApiCategory } {
  const authed = x.ops.filter(authRequired);
  const p: Criterion[] = [];
  switch (c) {
    case 'API1:2023':
      p.push(ownerCrit(x, 1));
      break;
    case 'API2:2023': {
      const s = share(authed, (o) => has(o, 'authenticate'));
      const bf = bruteForceCrit(x);
      p.push(
        crit(
          'authenticate',
          'prevented',
          3,
          s.value,
          `credentials verified on ${shareEvidence(s, 'operations that require them')}`,
          'set policies.authenticate (issuers, JWKS) so every protected operation verifies its token',
        ),
        adminMfa(x),
        ...(bf ? [bf] : []),
      );
      break;
    }
    case 'API3:2023':
      p.push(minimiseCrit(x, 2), policyOn(x, 'property-access', 1, PROPERTY_ACCESS));
      break;
    case 'API4:2023':
      p.push(rateLimitCrit(x, 3), policyOn(x, 'request-limits', 1, REQUEST_LIMITS));
      break;
    case 'API5:2023':
      p.push(rolesCrit(x, 1));
      break;
    case 'API6:2023': {
      const guarded = x.ops.filter((o) => has(o, 'flow-limit'));
      p.push(
        crit(
          'flow-limit',
          'prevented',
          1,
          guarded.length ? 1 : 0,
          guarded.length
            ? `business-flow limits on ${listOps(guarded)} (${x.inputs.flows} flow(s) in policies.flow-limit)`
            : 'no business flow is limited',
          `declare the sensitive business flows: policies.flow-limit.flows: [{ name: <flow>, limit: 3, window: 1h, per: [user], operations: ['${x.ops.find(isWrite)?.operation ?? 'POST /v1/orders'}'] }] (or x-rampart: { flow: … } on the operation)`,
        ),
      );
      break;
    }
    case 'API7:2023': {
      const on = x.enabled.has('ssrf-guard');
      const guarded = x.ops.filter((o) => has(o, 'ssrf-guard'));
      p.push(
        crit(
          'ssrf-guard',
          'prevented',
          1,
          on ? 1 : 0,
          on
            ? `ssrf-guard on: ${guarded.length} operation(s) take URLs and are guarded`
            : 'ssrf-guard off: URLs in requests are not checked',
          'set policies.ssrf-guard.enabled: true',
        ),
      );
      break;
    }
    case 'API8:2023': {
      const vr = share(x.ops, (o) => has(o, 'validate-request'));
      const ig = share(x.ops, (o) => has(o, 'injection-guard'));
      p.push(
        policyOn(x, 'transport', 1, 'HTTPS, trusted proxies'),
        policyOn(x, 'security-headers', 1, 'HSTS, nosniff, no-store'),
        crit(
          'validate-request',
          'prevented',
          1,
          vr.value,
          `requests validated against the document on ${shareEvidence(vr, 'operations')}`,
          'set policies.validate-request.enabled: true',
        ),
        crit(
          'injection-guard',
          'prevented',
          1,
          ig.value,
          `injection guard on ${shareEvidence(ig, 'operations')}`,
          x.enabled.has('injection-guard')
            ? `remove x-rampart: { injection: { enabled: false } } from ${listOps(ig.missing)}`
            : 'set policies.injection-guard.enabled: true',
        ),
        crit(
          'tls',
          'prevented',
          1,
          x.inputs.tls.enabled ? 1 : 0,
          x.inputs.tls.enabled ? 'TLS 1.3 on the public listener' : 'TLS off on the public listener',
          'set listen.tls.enabled: true',
        ),
      );
      break;
    }
    case 'API9:2023': {
      const versions = x.inputs.versions;
      const dep = versions.filter((v) => v.deprecated);
      const noSunset = dep.filter((v) => !v.sunset);
      p.push(
        crit(
          'inventory-versioned',
          'prevented',
          1,
          versions.length ? versions.filter((v) => v.base !== '/').length / versions.length : 0,
          `${versions.filter((v) => v.base !== '/').length} of ${versions.length} versions under a version base path; every undeclared path answers 404 (shadow-endpoint event)`,
          'serve each version under its own base (apis[].versions[].base: /v2)',
        ),
        crit(
          'inventory-sunset',
          'prevented',
          1,
          dep.length ? 1 - noSunset.length / dep.length : 1,
          dep.length
            ? `${dep.length - noSunset.length} of ${dep.length} deprecated versions have a sunset date`
            : 'no deprecated version',
          `set sunset: on ${noSunset.map((v) => `${v.api} ${v.base}`).join(', ')}`,
        ),
        policyOn(x, 'versions', 1, VERSIONS_WHY),
      );
      break;
    }
    case 'API10:2023': {
      p.push(
        validateResponseCrit(x, 2),
        crit(
          'egress',
          'prevented',
          1,
          x.inputs.egressThirdParties > 0 ? 1 : 0,
          x.inputs.egressThirdParties > 0
            ? `${x.inputs.egressThirdParties} third-party API(s) held to their documents by the egress listener`
            : 'third-party answers the API consumes are not checked (no egress:)',
          "declare egress.thirdParties with each third party's OpenAPI document (docs/contract.md)",
        ),
      );
      break;
    }
  }
  return {
    ...item(c, OWASP_API_TOP10[c], [
      ...p,
      detectionCriterion(c, x.inputs, x.now),
      monitoringCriterion(c, x.inputs, x.now),
    ]),
    id: c,
  };
}

// ---------------------------------------------------------------------------------------------

/** Points of the overall score each unmet criterion would add, merged per action and ranked. */
export function nextActions(checklist: readonly ItemResult[], owasp: readonly ItemResult[]): NextAction[] {
  const merged = new Map<string, NextAction>();
  const groups: Array<readonly ItemResult[]> = [checklist, owasp];
  for (const group of groups) {
    for (const it of group) {
      const dims = (Object.keys(DIMENSION_SHARE) as Dimension[]).filter((d) => it.dimensions[d] !== null);
      const shares = dims.reduce((a, d) => a + DIMENSION_SHARE[d], 0);
      for (const c of it.criteria) {
        if (!c.action || c.value >= 1) continue;
        const w = it.criteria.filter((o) => o.dimension === c.dimension).reduce((a, o) => a + o.weight, 0);
        const gain =
          0.5 *
          (1 / group.length) *
          (DIMENSION_SHARE[c.dimension] / shares) *
          (c.weight / w) *
          (1 - c.value) *
          100;
        const prev = merged.get(c.action);
        if (prev) {
          prev.gain += gain;
          if (!prev.items.includes(it.id)) prev.items.push(it.id);
        } else merged.set(c.action, { gain, action: c.action, items: [it.id] });
      }
    }
  }
  return [...merged.values()]
    .map((a) => ({ ...a, gain: Math.round(a.gain * 10) / 10 }))
    .filter((a) => a.gain > 0)
    .sort((a, b) => b.gain - a.gain || a.action.localeCompare(b.action));
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** The posture report of `inputs` at `now` (epoch ms). */
export function evaluatePosture(inputs: PostureInputs, now: number): PostureReport {
  const x: Context = { inputs, now, ops: inputs.operations, enabled: new Set(inputs.enabledPolicies) };
  const checklist = [
    mfaItem(x),
    versioningItem(x),
    scansItem(x),
    monitoringItem(x),
    codeItem(x),
    dataExposureItem(x),
    pentestItem(x),
    tlsItem(x),
    rateItem(x),
    rbacItem(x),
  ];
  const owasp = CATEGORIES.map((c) => categoryItem(c, x));
  const score = Math.round(0.5 * mean(checklist.map((i) => i.score)) + 0.5 * mean(owasp.map((i) => i.score)));
  const previous = inputs.history.at(-1);
  const notes = [...inputs.notes];
  if (inputs.operations.length === 0) notes.push('no operation is configured: prevention shares are empty');
  return {
    generatedAt: new Date(now).toISOString(),
    source: inputs.source,
    score,
    formula: FORMULA,
    checklist,
    owasp,
    actions: nextActions(checklist, owasp),
    trend: { runs: [...inputs.history], delta: previous ? score - previous.score : undefined },
    notes,
  };
}

/** What the history keeps of a report. */
export function runOf(report: PostureReport): { at: string; score: number; items: Record<string, number> } {
  return {
    at: report.generatedAt,
    score: report.score,
    items: Object.fromEntries([...report.checklist, ...report.owasp].map((i) => [i.id, i.score])),
  };
}
