/**
 * Fills the posture evaluator's input (src/posture/types.ts) from real data: the loaded
 * config, the compiled per-operation policy chains (gateway/describe.ts), the certificate
 * on disk, the stored scan results (scanner history), the audit and code-scan runs recorded in
 * the store (or else their JSON reports),
 * CI definitions, the effective alert rules, recorded simulations, the store's inventory
 * and the posture history. Nothing is typed in by hand; what cannot be read becomes a note.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { silentLogger } from '../core/logger.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Finding, RunMeta } from '../core/findings.ts';
import { describeChains } from '../gateway/describe.ts';
import { buildPolicies } from '../gateway/policies/index.ts';
import { checkExpiry } from '../gateway/tls.ts';
import { effectiveRules } from '../monitor/index.ts';
import { SCENARIOS } from '../monitor/simulate.ts';
import { evaluatePosture, runOf } from '../posture/evaluate.ts';
import { appendHistory, readHistory } from '../posture/history.ts';
import type {
  CertificateInput,
  CiInput,
  PostureInputs,
  PostureReport,
  ResultInput,
  RuleInput,
  SimulationInput,
  TrafficInput,
} from '../posture/types.ts';
import { parseJsonReport } from '../report/index.ts';
import { ScanHistory } from '../scanner/history.ts';
import { nextRun, type Job } from '../scanner/schedule.ts';
import { MemoryCounterStore } from '../store/counters/memory.ts';
import { openStore, parseStoreUrl } from '../store/index.ts';
import { latestToolRuns } from '../store/tool-runs.ts';
import { readTraffic } from '../versions/traffic.ts';
import { loadApis, resolveStoreUrl, type AppOptions } from './app.ts';
import type { RampartFileConfig } from './config-schema.ts';

export interface PostureSource {
  config: RampartFileConfig;
  baseDir: string;
  /** The config file, or `built-in demo`. */
  label: string;
}

const asList = <T>(v: T | T[] | undefined): T[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** JSON files of a list of files and directories (one level), sorted. */
function jsonFiles(paths: readonly string[], notes: string[], what: string): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory())
      out.push(
        ...readdirSync(p)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => join(p, f)),
      );
    else out.push(p);
  }
  if (paths.length && out.length === 0) notes.push(`no ${what} at ${paths.join(', ')}`);
  return out;
}

function resultOf(
  kind: ResultInput['kind'],
  file: string,
  name: string,
  findings: ResultInput['findings'],
  meta: RunMeta,
): ResultInput {
  return {
    kind,
    file,
    name,
    finishedAt: meta.finishedAt,
    findings,
    checks: (meta.checks ?? []).map((c) => ({ id: c.id, ...(c.owasp ? { owasp: c.owasp } : {}) })),
    identities: meta.stats?.identities,
    partial: false,
  };
}

/** The latest complete run of every scan stored under `dir` (scanner/history.ts layout). */
async function scanResults(dir: string, notes: string[]): Promise<ResultInput[]> {
  if (!existsSync(dir)) return [];
  const history = new ScanHistory(dir);
  const out: ResultInput[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!statSync(join(dir, name)).isDirectory()) continue;
    try {
      const r = await history.latest(name);
      if (r) out.push(resultOf('scan', r.file, name, r.findings, r.meta));
    } catch (err) {
      notes.push(`scan results ${join(dir, name)}: ${(err as Error).message}`);
    }
  }
  return out;
}

function reportResults(kind: 'audit' | 'code', paths: readonly string[], notes: string[]): ResultInput[] {
  const out: ResultInput[] = [];
  for (const file of jsonFiles(paths, notes, `${kind} report`)) {
    try {
      const r = parseJsonReport(readFileSync(file, 'utf8'), file);
      if (r.meta.tool !== kind) {
        notes.push(
          `${file}: a ${r.meta.tool} report listed under posture.evidence.${kind === 'audit' ? 'audits' : 'code'}; ignored`,
        );
        continue;
      }
      out.push(resultOf(kind, file, r.meta.target, r.findings, r.meta));
    } catch (err) {
      notes.push((err as Error).message);
    }
  }
  return out;
}

const TOOL = /\brampart\s+(scan|audit|code)\b/g;

/** CI definitions that run Rampart's tools, with their triggers. */
/**
 * The newest code-scan report among `posture.evidence.code` (by its run's start time), for
 * the admin API's code-scan endpoint; undefined when none is listed or readable.
 */
export function latestCodeScan(
  src: Pick<PostureSource, 'config' | 'baseDir'>,
): { findings: Finding[]; meta: RunMeta } | undefined {
  let best: { findings: Finding[]; meta: RunMeta } | undefined;
  const paths = src.config.posture.evidence.code.map((p) => resolve(src.baseDir, p));
  for (const file of jsonFiles(paths, [], 'code report')) {
    try {
      const r = parseJsonReport(readFileSync(file, 'utf8'), file);
      if (r.meta.tool !== 'code') continue;
      if (!best || Date.parse(r.meta.startedAt) > Date.parse(best.meta.startedAt)) best = r;
    } catch {
      // unreadable reports are posture's notes; here they are simply not the latest
    }
  }
  return best;
}

export function ciOf(paths: readonly string[], baseDir: string): CiInput[] {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    if (statSync(p).isDirectory())
      files.push(
        ...readdirSync(p)
          .map((f) => join(p, f))
          .filter((f) => statSync(f).isFile())
          .sort(),
      );
    else files.push(p);
  }
  const out: CiInput[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const tools = [...new Set([...text.matchAll(TOOL)].map((m) => m[1] as 'scan' | 'audit' | 'code'))];
    if (tools.length === 0) continue;
    const gitlab = /\.gitlab-ci\.ya?ml$/.test(file);
    // GitHub Actions: `on: push`, `on: [push, …]` or a `push:` trigger key; GitLab pipelines run on push.
    const onPush =
      gitlab || /^on:\s*(\[[^\]]*\bpush\b[^\]]*\]|push\b)/m.test(text) || /^\s{2}push:/m.test(text);
    const scheduled =
      /^\s*(schedule:|-\s*cron:)/m.test(text) || /\$CI_PIPELINE_SOURCE\s*==\s*"schedule"/.test(text);
    out.push({ file: relative(baseDir, file) || file, tools, onPush, scheduled });
  }
  return out;
}

function simulationsOf(dir: string, notes: string[]): SimulationInput[] {
  const out: SimulationInput[] = [];
  for (const file of existsSync(dir) ? jsonFiles([dir], notes, 'simulation record') : []) {
    try {
      const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<SimulationInput> & { fired?: unknown };
      const fired = Array.isArray(v.fired)
        ? v.fired.map((f: unknown) => (typeof f === 'string' ? f : String((f as { rule?: unknown }).rule)))
        : undefined;
      if (typeof v.scenario !== 'string' || typeof v.at !== 'string' || !Array.isArray(v.expected) || !fired)
        throw new Error('not a rampart simulate record');
      out.push({ file, scenario: v.scenario, at: v.at, expected: v.expected.map(String), fired });
    } catch (err) {
      notes.push(`${file}: ${(err as Error).message}`);
    }
  }
  return out;
}

function certificateOf(
  config: RampartFileConfig,
  clock: Clock,
): { cert?: CertificateInput; problem?: string } {
  const tls = config.listen.tls;
  if (!tls.enabled) return {};
  const dev = join(tls.devCertDir, 'dev-cert.pem');
  const file = tls.cert ?? (existsSync(dev) ? dev : undefined);
  if (!file)
    return {
      problem: `no listen.tls.cert: rampart start generates a self-signed development certificate in ${tls.devCertDir}`,
    };
  try {
    const pem = readFileSync(file, 'utf8');
    const e = checkExpiry(pem, tls.expiryWarningDays, clock);
    const x = new X509Certificate(pem);
    return {
      cert: {
        source: file,
        subject: e.subject,
        issuer: x.issuer.replace(/\n/g, ', '),
        notAfter: e.notAfter,
        daysLeft: e.daysLeft,
        generated: tls.cert === undefined,
      },
    };
  } catch (err) {
    return { problem: `certificate ${file} could not be read: ${(err as Error).message}` };
  }
}

/** The store's inventory, read only (a store that does not exist yet is not created). */
/**
 * What the store holds for posture: the inventory's traffic (unless `traffic` is false) and
 * the newest recorded `rampart audit` / `rampart code` run per target (src/store/tool-runs.ts).
 */
async function storeEvidence(
  config: RampartFileConfig,
  baseDir: string,
  notes: string[],
  traffic: boolean,
): Promise<{ traffic: TrafficInput | undefined; runs: ResultInput[] }> {
  const url = resolveStoreUrl(config.store, baseDir);
  const target = parseStoreUrl(url);
  if (target.dialect !== 'postgres' && (target.path === ':memory:' || !existsSync(target.path))) {
    if (traffic) notes.push('no store yet (rampart start has not run): traffic evidence left out');
    return { traffic: undefined, runs: [] };
  }
  try {
    const db = await openStore(url);
    try {
      const runs: ResultInput[] = [];
      for (const tool of ['audit', 'code'] as const)
        for (const r of await latestToolRuns(db, tool))
          runs.push(resultOf(tool, `store: ${tool} run ${r.id}`, r.target, r.result.findings, r.result.meta));
      if (!traffic) return { traffic: undefined, runs };
      const t = await readTraffic(db);
      return {
        traffic: {
          shadowEndpoints: t.shadow.length,
          deprecatedConsumers: new Set(t.deprecatedUsage.map((u) => `${u.consumerKind}:${u.consumer}`)).size,
        },
        runs,
      };
    } finally {
      await db.close();
    }
  } catch (err) {
    notes.push(`store ${target.dialect}: ${(err as Error).message}; store evidence left out`);
    return { traffic: undefined, runs: [] };
  }
}

/** A path as the next actions print it: relative to the working directory when inside it. */
function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? p : r;
}

/** Where to write a report listed as a directory: a file in it. */
const reportFile = (p: string, name: string): string => (p.endsWith('.json') ? p : join(p, `${name}.json`));

export async function postureInputs(
  src: PostureSource,
  clock: Clock,
  opts: { traffic?: boolean } = {},
): Promise<PostureInputs> {
  const { config, baseDir } = src;
  const notes: string[] = [];
  const at = (p: string) => resolve(baseDir, p);
  const apis = await loadApis(config);
  const policies = buildPolicies(config.policies, {
    clock,
    log: silentLogger,
    localIssuer: undefined,
    apiKeys: undefined,
    counters: new MemoryCounterStore({ clock }),
  });
  let operations;
  try {
    operations = describeChains(apis, policies);
  } finally {
    for (const p of policies) await p.hooks.close?.();
  }
  const pol = config.policies as Record<string, Record<string, unknown> | undefined>;
  const enabledPolicies = policies.map((p) => p.name);
  const mfaOpts = pol.mfa as
    { requireFor?: { roles?: string[]; apis?: string[]; all?: boolean } } | undefined;
  const posture = config.posture;
  const ev = posture.evidence;
  const scansDir = at(ev.scans ?? config.scans?.results ?? 'data/scans');
  const { cert, problem } = certificateOf(config, clock);
  const rules: RuleInput[] = effectiveRules(config.monitor.rules, config.monitor.defaultRules).map((r) => ({
    id: r.id,
    enabled: r.enabled !== false,
    match: [...asList(r.match), ...asList(r.denominator)] as Array<Record<string, unknown>>,
    groupBy: r.groupBy ?? [],
  }));
  const history = readHistory(at(posture.history));
  const stored = await storeEvidence(config, baseDir, notes, opts.traffic !== false);
  // Recorded runs first (rampart audit -c / rampart code -c); report files when none is recorded.
  const recorded = (kind: 'audit' | 'code', files: string[]) => {
    const runs = stored.runs.filter((r) => r.kind === kind);
    return runs.length ? runs : reportResults(kind, files, notes);
  };
  const results = [
    ...(await scanResults(scansDir, notes)),
    ...recorded('audit', ev.audits.map(at)),
    ...recorded('code', ev.code.map(at)),
  ];
  return {
    source: src.label,
    operations,
    enabledPolicies,
    mfa: enabledPolicies.includes('mfa')
      ? {
          requireFor: {
            roles: mfaOpts?.requireFor?.roles ?? ['admin'],
            apis: mfaOpts?.requireFor?.apis ?? [],
            all: mfaOpts?.requireFor?.all ?? false,
          },
        }
      : undefined,
    piiMasks: enabledPolicies.includes('minimise-response')
      ? ((pol['minimise-response']?.pii as string[] | undefined) ?? [])
      : [],
    flows: ((pol['flow-limit']?.flows as unknown[] | undefined) ?? []).length,
    adminRoles: posture.adminRoles,
    versions: config.apis.flatMap((a) =>
      a.versions.map((v) => ({
        api: a.name,
        base: v.base,
        deprecated: v.deprecated,
        sunset: v.sunset,
        successor: v.successor,
        deprecationLink: v.deprecationLink,
      })),
    ),
    tls: {
      enabled: config.listen.tls.enabled,
      certificate: cert,
      certificateProblem: problem,
      http: { mode: config.listen.http.mode, port: config.listen.http.port },
      trustedProxies: config.trustedProxies.length,
      adminHost: config.admin.host,
    },
    identity: config.identity
      ? {
          requiredForRoles: config.identity.mfa.requiredForRoles,
          requiredForAll: config.identity.mfa.requiredForAll,
        }
      : undefined,
    egressThirdParties: config.egress?.thirdParties.length ?? 0,
    schedules: (config.scans?.jobs ?? []).map((j) => ({
      name: j.name,
      intervalSeconds: j.interval ?? longestCronGap(j, clock.now()),
      target: j.target,
    })),
    results,
    ci: ciOf(ev.ci.map(at), baseDir),
    monitor: {
      enabled: config.monitor.enabled,
      auditLog: config.monitor.auditLog.enabled,
      notifiers: config.monitor.notifiers.length,
      rules,
    },
    simulations: simulationsOf(at(ev.simulations), notes),
    scenarios: Object.fromEntries(Object.entries(SCENARIOS).map(([k, s]) => [k, s.expects])),
    paths: {
      scans: shown(scansDir),
      audits: ev.audits.map((p) => reportFile(shown(at(p)), 'audit')),
      code: ev.code.map((p) => reportFile(shown(at(p)), 'code-scan')),
      simulations: shown(at(ev.simulations)),
      config: src.label,
    },
    traffic: stored.traffic,
    history,
    notes,
  };
}

/**
 * The report of a loaded config at the clock's now, appended to the history unless
 * `record: false` — what `rampart posture` prints and what the admin API can serve.
 */
export async function postureReport(
  src: PostureSource,
  clock: Clock,
  opts: { traffic?: boolean; record?: boolean } = {},
): Promise<PostureReport> {
  const inputs = await postureInputs(src, clock, opts);
  const report = evaluatePosture(inputs, clock.now());
  if (opts.record !== false) {
    const p = src.config.posture;
    appendHistory(resolve(src.baseDir, p.history), inputs.history, runOf(report), p.keep);
  }
  return report;
}

/**
 * A cron job's cadence for the "weekly" test: the longest gap between its next 32 runs
 * (`0 3 * * 1-5` is 3 days — Friday to Monday — not 1), in seconds.
 */
function longestCronGap(job: Job, now: number): number {
  let at = nextRun(job, now);
  let longest = 0;
  for (let i = 0; i < 32; i++) {
    const next = nextRun(job, at);
    longest = Math.max(longest, next - at);
    at = next;
  }
  return Math.round(longest / 1000);
}

/**
 * What the admin API shows under /admin/api/posture and /admin/api/code-scan: the posture of
 * the running config (computed on request, not recorded in the history — `rampart posture`
 * records) and the newest code-scan report listed under posture.evidence.code.
 */
export function postureProviders(
  src: PostureSource,
  clock: Clock = systemClock,
): Pick<AppOptions, 'posture' | 'codeScan'> {
  return {
    posture: async () =>
      (await postureReport(src, clock, { record: false })) as unknown as Record<string, unknown>,
    codeScan: () => Promise.resolve(latestCodeScan(src)),
  };
}
