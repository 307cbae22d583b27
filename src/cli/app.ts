import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { systemClock, type Clock } from '../core/clock.ts';
import {
  checkConfigFile,
  parseConfig,
  type ConfigCheckResult,
  type ConfigError,
} from '../core/config-loader.ts';
import { SourceErrors } from '../core/source-errors.ts';
import { EventBus } from '../core/events.ts';
import { ScanScheduler } from '../scanner/schedule.ts';
import type { Logger } from '../core/logger.ts';
import { loadOpenApi } from '../core/openapi-loader.ts';
import type { ServerResponse } from 'node:http';
import { AdminServer, type AdminRoute } from '../admin/server.ts';
import {
  createAdminApi,
  type AdminApi,
  type ConfigCheckResult as AdminConfigCheck,
  type FindingsProvider,
  type PostureProvider,
  type SessionTimeouts,
} from '../admin/api/index.ts';
import { buildChangelog, changelogHtml, type ApiInput } from '../versions/changelog.ts';
import { buildInventory } from '../versions/inventory.ts';
import { readTraffic, TrafficRecorder } from '../versions/traffic.ts';
import { AdminGuard } from '../admin/auth.ts';
import { LiveSummary } from '../console/summary.ts';
import { consoleAdminRoutes } from './console-routes.ts';
import { LearnService, listLearned, type LearningTarget } from '../learn/service.ts';
import { compare } from '../learn/compare.ts';
import type { LearnProvider } from '../admin/api/learn.ts';
import { parseOpenApi } from '../core/openapi-loader.ts';
import { ProblemError } from '../core/errors.ts';
import { Monitor, type Port } from '../monitor/index.ts';
import { monitorRoutes, sendProblem } from '../monitor/http.ts';
import { categoryOf } from '../monitor/categories.ts';
import { buildPolicies, xRampartKeys } from '../gateway/policies/index.ts';
import type { PolicyServices } from '../gateway/policy.ts';
import { Gateway, type LoadedApi, type Mount } from '../gateway/listener.ts';
import { EgressServer } from '../gateway/egress/index.ts';
import type { OpenApiDocument } from '../core/openapi.ts';
import type { RampartEvent } from '../core/events.ts';
import { loadCertificate, type CertPair } from '../gateway/tls.ts';
import { openStore, parseStoreUrl, type Db } from '../store/index.ts';
import { DEFAULT_STORE } from '../gateway/config.ts';
import { FailoverCounterStore, openCounterStore } from '../store/counters/index.ts';
import { createIdentityService, type IdentityService } from '../identity/index.ts';
import { configSchema, type RampartFileConfig as RampartConfig } from './config-schema.ts';
import { crossFieldErrors } from './config-rules.ts';

/** Thrown when rampart.yaml or a referenced document is invalid: the shared positioned-errors class. */
export { SourceErrors as StartupErrors };

/** The `x-rampart` keys every loaded document is validated against (from the policy registry). */
export const X_RAMPART_KEYS = xRampartKeys();

/** The config of a check result, or StartupErrors with every schema and cross-field error. */
function validConfig(r: ConfigCheckResult<RampartConfig>): RampartConfig {
  const errors = [...r.errors];
  if (r.config && r.source) {
    for (const { segments, message } of crossFieldErrors(r.config))
      errors.push(r.source.error(segments, message));
  }
  if (errors.length || !r.config) throw new SourceErrors(errors);
  return r.config;
}

/** Reads and validates a config file (defaults applied, relative paths resolved). */
export async function readConfig(path: string): Promise<{ config: RampartConfig; baseDir: string }> {
  const r = await checkConfigFile<RampartConfig>(path, configSchema);
  return { config: validConfig(r), baseDir: r.baseDir };
}

/** Validates an in-memory config object the same way as a file. */
export function configFromObject(value: unknown, baseDir: string): RampartConfig {
  const r = parseConfig<RampartConfig>(
    JSON.stringify(value),
    resolve(baseDir, '(built-in config).json'),
    configSchema,
    { baseDir },
  );
  return validConfig(r);
}

/** Loads every API version's OpenAPI document; collects all errors. */
export async function loadApis(config: RampartConfig): Promise<LoadedApi[]> {
  const errors: ConfigError[] = [];
  const apis: LoadedApi[] = [];
  for (const api of config.apis) {
    const versions = [];
    for (const v of api.versions) {
      if (v.spec === undefined) {
        // mode: learn — no document yet: every request under the base is forwarded (passthrough).
        versions.push({
          base: v.base,
          document: learningDocument(api.name),
          upstream: v.upstream ?? api.upstream,
          stripBase: v.stripBase,
          passthrough: true,
        });
        continue;
      }
      const spec = v.spec;
      try {
        const document = await loadOpenApi(spec, { xRampart: X_RAMPART_KEYS });
        versions.push({
          base: v.base,
          document,
          upstream: v.upstream ?? api.upstream,
          stripBase: v.stripBase,
          // The one home of a version's lifecycle: rampart.yaml (policies read it from the route).
          lifecycle: {
            ...(v.deprecated !== undefined ? { deprecated: v.deprecated } : {}),
            ...(v.sunset !== undefined ? { sunset: v.sunset } : {}),
            ...(v.successor !== undefined ? { successor: v.successor } : {}),
            ...(v.deprecationLink !== undefined ? { deprecationLink: v.deprecationLink } : {}),
            ...(v.sunsetLink !== undefined ? { sunsetLink: v.sunsetLink } : {}),
          },
        });
      } catch (err) {
        if (err instanceof SourceErrors) errors.push(...err.errors);
        else errors.push({ file: spec, path: '', message: (err as Error).message });
      }
    }
    apis.push({ config: api, versions });
  }
  if (errors.length) throw new SourceErrors(errors);
  return apis;
}

/** The (empty) document of a version in mode: learn: nothing declared yet. */
function learningDocument(api: string): OpenApiDocument {
  const raw = { openapi: '3.1.0', info: { title: `${api} (learning)`, version: 'learning' }, paths: {} };
  return {
    source: `(${api}: mode learn)`,
    openapi: '3.1.0',
    title: raw.info.title,
    version: raw.info.version,
    raw,
    operations: [],
    securitySchemes: {},
  };
}

/** The API versions that learn (`mode: learn` or `learn: true`), for the learn service. */
export function learningTargets(config: RampartConfig): LearningTarget[] {
  return config.apis
    .filter((a) => a.mode === 'learn' || a.learn)
    .flatMap((a) =>
      a.versions.map((v) => ({ api: a.name, base: v.base, upstream: v.upstream ?? a.upstream })),
    );
}

/**
 * Starts the egress listener of `config.egress` (undefined when there is none), with each
 * third party's OpenAPI document loaded; errors are SourceErrors like the APIs' documents.
 */
export async function startEgress(
  config: RampartConfig,
  log: Logger,
  clock: Clock,
  emit: (e: RampartEvent) => void,
): Promise<EgressServer | undefined> {
  if (!config.egress) return undefined;
  const documents = new Map<string, OpenApiDocument>();
  const errors: ConfigError[] = [];
  for (const tp of config.egress.thirdParties) {
    try {
      documents.set(tp.name, await loadOpenApi(tp.spec));
    } catch (err) {
      if (err instanceof SourceErrors) errors.push(...err.errors);
      else errors.push({ file: tp.spec, path: '', message: (err as Error).message });
    }
  }
  if (errors.length) throw new SourceErrors(errors);
  return EgressServer.start({
    config: config.egress,
    documents,
    log: log.child({ component: 'egress' }),
    clock,
    emit,
  });
}

/** Resolves a store URL's relative SQLite path against the config directory. */
export function resolveStoreUrl(url: string, baseDir: string): string {
  const m = /^sqlite:\/\/(?!\/)(.+)$/.exec(url);
  return m ? `sqlite://${resolve(baseDir, m[1]!)}` : url;
}

export interface AppOptions {
  config: RampartConfig;
  /** Directory relative paths (store) resolve against. */
  baseDir: string;
  /** Config file to re-read on reload (SIGHUP). */
  configPath?: string;
  log: Logger;
  clock?: Clock;
  /** Extra handlers served by the gateway under a prefix. */
  mounts?: Mount[];
  /** Token trust to use when no identity service is configured (benchmarks, embedding); a counter store to share. */
  services?: Partial<Pick<PolicyServices, 'localIssuer' | 'apiKeys' | 'counters'>>;
  /** The admin API's posture report (src/posture); without it GET /admin/api/posture answers 404. */
  posture?: PostureProvider;
  /** The admin API's code-scan results; without it GET /admin/api/code-scan/findings answers 404. */
  codeScan?: FindingsProvider;
  /** Console session timeouts (default 15 min idle, 8 h absolute). */
  consoleSessions?: Partial<SessionTimeouts>;
  /** In a `--workers` cluster: this worker's number and its channel to the primary, which alerts for all. */
  clusterWorker?: { worker: number; port: Port };
}

/** Opens the configured store the way App.start does (relative SQLite paths, the default's folder). */
async function openConfiguredStore(config: RampartConfig, baseDir: string): Promise<Db> {
  const storeUrl = resolveStoreUrl(config.store, baseDir);
  // Only the embedded default's folder is made; a configured path's directory must exist.
  if (config.store === DEFAULT_STORE) {
    const target = parseStoreUrl(storeUrl);
    if (target.dialect === 'sqlite') await mkdir(dirname(target.path), { recursive: true });
  }
  return openStore(storeUrl);
}

/**
 * The primary of `rampart start --workers N`: the cluster's alert rules, anomaly baselines,
 * alert desk, outbox and notifiers, fed by the workers over IPC (src/monitor/cluster.ts).
 * Undefined when monitoring is off. Opened before the workers fork, so it migrates the store.
 */
export async function startPrimaryMonitor(
  config: RampartConfig,
  baseDir: string,
  log: Logger,
  clock: Clock = systemClock,
): Promise<{ monitor: Monitor; stop(): Promise<void> } | undefined> {
  if (!config.monitor.enabled) return undefined;
  const db = await openConfiguredStore(config, baseDir);
  const monitor = new Monitor({
    config: config.monitor,
    db,
    clock,
    log: log.child({ component: 'monitor' }),
    cluster: { role: 'primary' },
  });
  monitor.start();
  return {
    monitor,
    async stop() {
      await monitor.stop();
      await db.close();
    },
  };
}

/** Everything `rampart start` runs: store, policies, gateway and admin listener. */
export class App {
  private constructor(
    readonly events: EventBus,
    private opts: AppOptions,
    readonly db: Db,
    readonly gateway: Gateway,
    readonly admin: AdminServer,
    private readonly services: PolicyServices,
    /** The built-in identity service, when `identity:` is configured. */
    readonly identity: IdentityService | undefined,
    private readonly mounts: Mount[],
    private readonly traffic: TrafficRecorder,
    /** What the admin endpoints describe: the APIs and config now serving (swapped on reload). */
    private readonly current: { apis: LoadedApi[]; config: RampartConfig },
    /** Scheduled scans (`scans:`), when configured. */
    readonly scans: ScanScheduler | undefined,
    /** The egress listener, when `egress:` is configured. */
    readonly egress: EgressServer | undefined,
    /** The monitor (metrics, audit log, alerts, live feed), unless `monitor.enabled: false`. */
    readonly monitor: Monitor | undefined,
    /** The admin API under /admin/api on the admin listener. */
    readonly adminApi: AdminApi,
    /** Learn mode: the APIs with `mode: learn` or `learn: true` learn into the store (docs/learn.md). */
    readonly learning: LearnService,
  ) {
    this.started = opts.config;
  }

  /** The config the process started with: what listeners, store, admin and identity run on. */
  private readonly started: RampartConfig;

  static async start(opts: AppOptions): Promise<App> {
    const clock = opts.clock ?? systemClock;
    const apis = await loadApis(opts.config);
    const db = await openConfiguredStore(opts.config, opts.baseDir);
    let identity: IdentityService | undefined;
    let egress: EgressServer | undefined;
    const events = new EventBus();
    // Created once per process: a reload (SIGHUP) builds new policies on the same counters.
    const counters =
      opts.services?.counters ??
      openCounterStore(opts.config.counters, {
        clock,
        onStatus: (state, detail) => {
          (state === 'down' ? opts.log.warn : opts.log.info).call(
            opts.log,
            { state, detail },
            state === 'down'
              ? 'counter store unreachable: limits follow their fail mode'
              : 'counter store reachable: shared limits again',
          );
          events.emit({ type: 'counter-store', store: 'redis', state, detail, at: clock.now() });
        },
      });
    let monitor: Monitor | undefined;
    let adminApi: AdminApi | undefined;
    let learning: LearnService | undefined;
    try {
      if (opts.config.monitor.enabled) {
        monitor = new Monitor({
          config: opts.config.monitor,
          db,
          clock,
          log: opts.log.child({ component: 'monitor' }),
          ...(opts.clusterWorker ? { cluster: { role: 'worker' as const, ...opts.clusterWorker } } : {}),
        });
        // Subscribed first so it sees the identity service's and the gateway's first events.
        monitor.attach(events);
        monitor.start();
      }
      if (counters instanceof FailoverCounterStore) {
        // Give Redis a moment at start; if it is not there, limits start in their fail mode.
        await counters.shared.ready(3000).catch(() => opts.log.warn('counter store not reachable at start'));
      }
      const services: PolicyServices = {
        clock,
        log: opts.log,
        localIssuer: undefined,
        apiKeys: undefined,
        ...opts.services,
        counters,
      };
      const mounts = [...(opts.mounts ?? [])];
      if (opts.config.identity) {
        identity = await createIdentityService({
          db,
          clock,
          log: opts.log.child({ component: 'identity' }),
          emit: events.emit,
          config: opts.config.identity,
          counters,
        });
        services.localIssuer = identity.issuer;
        services.apiKeys = identity.apiKeys;
        mounts.push({ prefix: identity.config.prefix, handle: identity.handle });
      }
      const policies = buildPolicies(opts.config.policies, services);
      const certificate = await certificateFor(opts.config, opts.log, clock);
      egress = await startEgress(opts.config, opts.log, clock, events.emit);
      // Learn mode: the gateway's exchange observer (core/observe.ts); the gateway never imports src/learn.
      learning = new LearnService({
        db,
        clock,
        log: opts.log.child({ component: 'learn' }),
        targets: learningTargets(opts.config),
      });
      const gateway = await Gateway.start({
        config: opts.config,
        apis,
        policies,
        mounts,
        clock,
        log: opts.log,
        emit: events.emit,
        observer: learning,
        ...(certificate ? { certificate } : {}),
      });
      // Inventory from traffic (API9): aggregated in memory, written in batches, off the request path.
      const traffic = new TrafficRecorder({ db, clock, log: opts.log.child({ component: 'inventory' }) });
      events.on(traffic.observe);
      const state = { apis, config: opts.config };
      // The console's dashboard: per-second summaries of the event bus (docs/console.md).
      const summary = new LiveSummary(clock, { category: categoryOf });
      events.on(summary.observe);
      summary.start();
      const scans = opts.config.scans
        ? new ScanScheduler(opts.config.scans, {
            baseDir: opts.baseDir,
            clock,
            emit: events.emit,
            log: opts.log.child({ component: 'scanner' }),
          })
        : undefined;
      // The App is built after the admin listener starts; the admin API's reload reaches it late.
      const late: { app?: App } = {};
      const configPath = opts.configPath;
      adminApi = await createAdminApi({
        clock,
        log: opts.log,
        emit: events.emit,
        db,
        counters,
        identity,
        monitor,
        scans,
        config: opts.config,
        current: () => state,
        inventory: async () => {
          await traffic.flush();
          return buildInventory(versionsOf(state.apis), await readTraffic(db), clock.now());
        },
        changelog: () => buildChangelog(versionsOf(state.apis), clock.now()),
        configFile: configPath,
        validateConfig: configPath ? (text?: string) => checkConfig(configPath, text) : undefined,
        reload: configPath
          ? () => (late.app ? late.app.reload() : Promise.resolve({ ok: false as const, error: 'starting' }))
          : undefined,
        posture: opts.posture,
        codeScan: opts.codeScan,
        sessions: opts.consoleSessions,
        learn: learnProvider(() => state, db, learning),
      });
      const consoleParts = consoleAdminRoutes({
        summary,
        guard: adminGuard(opts.config, clock, services),
        identity,
        sessions: adminApi.sessions,
      });
      const adminCert = await adminCertificate(opts.config);
      const admin = await AdminServer.start({
        host: opts.config.admin.host,
        port: opts.config.admin.port,
        checks: [{ name: 'store', check: async () => void (await db.query('SELECT 1 AS ok')) }],
        routes: [
          ...versionRoutes(() => state, db, traffic, clock, adminGuard(opts.config, clock, services)),
          ...(monitor ? guardedRoutes(monitor, db, opts.config, clock, services) : []),
          ...consoleParts.routes,
        ],
        prefixes: [{ prefix: adminApi.prefix, handle: adminApi.handle }, ...consoleParts.prefixes],
        ...(adminCert ? { tls: adminCert } : {}),
      });
      admin.setReady(true);
      scans?.start();
      const app = new App(
        events,
        opts,
        db,
        gateway,
        admin,
        services,
        identity,
        mounts,
        traffic,
        state,
        scans,
        egress,
        monitor,
        adminApi,
        learning,
      );
      late.app = app;
      return app;
    } catch (err) {
      await adminApi?.close();
      await learning?.close().catch(() => undefined);
      await monitor?.stop();
      await egress?.close();
      await identity?.close();
      if (!opts.services?.counters) await counters.close();
      await db.close();
      throw err;
    }
  }

  /**
   * Re-reads the config file and swaps routes, policies and upstreams without dropping
   * a request. A bad new config is refused (the error is returned) and the old one keeps serving.
   */
  async reload(): Promise<{ ok: true; restartNeeded: string[] } | { ok: false; error: string }> {
    if (!this.opts.configPath) return { ok: false, error: 'no config file to reload (built-in demo config)' };
    try {
      const { config } = await readConfig(this.opts.configPath);
      const apis = await loadApis(config);
      const policies = buildPolicies(config.policies, this.services);
      const certificate = await certificateFor(config, this.opts.log, this.services.clock);
      const restartNeeded = RESTART_ONLY.filter(
        (k) => JSON.stringify(restartOnly(config, k)) !== JSON.stringify(restartOnly(this.started, k)),
      );
      if (restartNeeded.length > 0) {
        this.opts.log.warn(
          { sections: restartNeeded },
          'these settings changed; they apply at the next restart, not on reload',
        );
      }
      await this.gateway.reload({
        config,
        apis,
        policies,
        mounts: this.mounts,
        ...(certificate ? { certificate } : {}),
      });
      this.learning.setTargets(learningTargets(config));
      this.opts = { ...this.opts, config };
      this.current.apis = apis;
      this.current.config = config;
      this.events.emit({
        type: 'config-reload',
        at: this.services.clock.now(),
        outcome: 'success',
        ...(restartNeeded.length > 0 ? { detail: `restart needed for: ${restartNeeded.join(', ')}` } : {}),
      });
      return { ok: true, restartNeeded };
    } catch (err) {
      const error = (err as Error).message;
      this.events.emit({
        type: 'config-reload',
        at: this.services.clock.now(),
        outcome: 'failure',
        detail: error.slice(0, 500),
      });
      return { ok: false, error };
    }
  }

  async stop(): Promise<void> {
    this.scans?.stop();
    this.admin.setReady(false);
    await this.gateway.close();
    // After the gateway drained: every answered exchange is queued; what is left is written.
    await this.learning
      .close()
      .catch((err: unknown) =>
        this.opts.log.warn({ err: (err as Error).message }, 'learn: final flush failed'),
      );
    await this.traffic.close();
    await this.egress?.close();
    await this.identity?.close();
    // After the gateway drained: every event of every answered request is in the queue.
    await this.monitor?.stop();
    await this.admin.close();
    await this.adminApi.close();
    if (!this.opts.services?.counters) await this.services.counters.close();
    await this.db.close();
  }
}

/** The admin API's learn-mode reads: what learns, its learned document and the diff against the current one. */
function learnProvider(
  current: () => { apis: LoadedApi[]; config: RampartConfig },
  db: Db,
  learning: LearnService,
): LearnProvider {
  return {
    async list() {
      const stored = new Map((await listLearned(db)).map((s) => [`${s.api} ${s.base}`, s]));
      const modes = new Map(current().config.apis.map((a) => [a.name, a.mode]));
      return learning.targets.map((t) => {
        const s = stored.get(`${t.api} ${t.base}`);
        return {
          api: t.api,
          base: t.base,
          mode: modes.get(t.api) === 'learn' ? ('learn' as const) : ('enforce' as const),
          exchanges: s?.exchanges ?? 0,
          operations: s?.operations ?? 0,
          ...(s ? { updatedAt: s.updatedAt } : {}),
        };
      });
    },
    async document(name, wanted) {
      const api = current().apis.find((a) => a.config.name === name);
      if (!api || !(api.config.mode === 'learn' || api.config.learn))
        throw new ProblemError('not-found', `API '${name}' does not learn (mode: learn or learn: true)`);
      const version =
        wanted === undefined
          ? api.versions.length === 1
            ? api.versions[0]
            : undefined
          : api.versions.find((v) => v.base === wanted);
      if (!version)
        throw new ProblemError(
          'not-found',
          wanted === undefined
            ? `API '${name}' has several versions: name one with ?base= (${api.versions.map((v) => v.base).join(', ')})`
            : `API '${name}' has no version ${wanted}`,
        );
      const document = await learning.document(name, version.base);
      if (!document) return undefined;
      const mode = api.config.mode === 'learn' ? ('learn' as const) : ('enforce' as const);
      if (mode === 'learn' || version.passthrough) return { api: name, base: version.base, mode, document };
      const c = compare(parseOpenApi(JSON.stringify(document), `(learned ${name} ${version.base})`), [
        { doc: version.document, base: '' },
      ]);
      const m = c.metrics;
      return {
        api: name,
        base: version.base,
        mode,
        document,
        diff: {
          shadow: c.shadow.map((x) => ({ operation: x.operation, calls: x.calls, public: x.public })),
          neverCalled: c.neverCalled.map((x) => ({ operation: x.operation })),
          undeclared: c.undeclared.map((x) => ({
            operation: x.operation,
            status: x.status,
            property: x.property,
            pii: x.pii,
          })),
          matched: c.matches.length,
          metrics: { ...m },
        },
      };
    },
  };
}

/** The monitor's admin endpoints behind the admin credential check (metrics: loopback, token or allow-list). */
function adminGuard(config: RampartConfig, clock: Clock, services: PolicyServices): AdminGuard {
  const m = config.monitor.metrics;
  return new AdminGuard({
    clock,
    issuer: services.localIssuer,
    apiKeys: services.apiKeys,
    metricsToken: m.bearerToken,
    metricsAllow: m.allow,
    metricsLoopback: m.loopback,
  });
}

function guardedRoutes(
  monitor: Monitor,
  db: Db,
  config: RampartConfig,
  clock: Clock,
  services: PolicyServices,
): AdminRoute[] {
  const m = config.monitor.metrics;
  const guard = adminGuard(config, clock, services);
  return monitorRoutes(monitor, db, m.enabled).map((r) => ({
    method: r.method,
    path: r.path,
    handle: async (req, res) => {
      const verdict =
        r.access === 'metrics'
          ? await guard.metrics(req)
          : r.access === 'read'
            ? await guard.read(req)
            : await guard.admin(req);
      if (!verdict.ok) return sendProblem(res, verdict.code, verdict.detail, verdict.headers);
      await r.handle(req, res, new URL(req.url ?? '/', 'http://admin').searchParams);
    },
  }));
}

/** Sections a reload cannot apply (they are bound at start: sockets, store, counters, identity). */
const RESTART_ONLY = [
  'listen',
  'admin',
  'store',
  'counters',
  'identity',
  'limits (server)',
  'scans',
  'egress',
  'monitor',
] as const;

function restartOnly(config: RampartConfig, section: (typeof RESTART_ONLY)[number]): unknown {
  switch (section) {
    case 'listen': {
      // Certificate files are re-read on reload; addresses and the TLS switch are not.
      const { host, port, http, tls } = config.listen;
      return { host, port, http, tls: tls.enabled };
    }
    case 'limits (server)': {
      const l = config.limits;
      return [
        l.maxHeaderBytes,
        l.headersTimeoutMs,
        l.requestTimeoutMs,
        l.keepAliveTimeoutMs,
        l.maxConnections,
      ];
    }
    default:
      return config[section];
  }
}

async function certificateFor(
  config: RampartConfig,
  log: Logger,
  clock: Clock,
): Promise<CertPair | undefined> {
  const tls = config.listen.tls;
  if (!tls.enabled) return undefined;
  return loadCertificate({ cert: tls.cert, key: tls.key, devCertDir: tls.devCertDir }, log, clock);
}

export const configDir = (path: string): string => dirname(resolve(path));

/** The admin listener's certificate (`admin.tls`), when configured: TLS 1.3 only. */
async function adminCertificate(config: RampartConfig): Promise<CertPair | undefined> {
  const { cert, key } = config.admin.tls;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new Error('admin.tls: set both cert and key');
  const [c, k] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]);
  return { cert: c, key: k, generated: false, source: cert };
}

/** The name errors in a posted config carry (the admin API's validation of a request body). */
export const POSTED_CONFIG = 'request body';

/**
 * What a reload of `path` would find wrong (the admin API's config validation), without
 * applying it; with `text`, that text is checked as if it were the file at `path` (same
 * loader, relative paths and `${file:…}` against its directory), and nothing is written.
 * Errors in the documents a posted config names keep their position but not their message
 * (it could quote a file the poster cannot otherwise read).
 */
async function checkConfig(path: string, text?: string): Promise<AdminConfigCheck> {
  const posted = text !== undefined ? join(dirname(resolve(path)), `(${POSTED_CONFIG})`) : undefined;
  try {
    const config =
      text !== undefined
        ? validConfig(parseConfig<RampartConfig>(text, posted!, configSchema, { baseDir: configDir(path) }))
        : (await readConfig(path)).config;
    await loadApis(config);
    return { valid: true, errors: [] };
  } catch (err) {
    const file = posted !== undefined ? POSTED_CONFIG : path;
    if (!(err instanceof SourceErrors))
      return { valid: false, errors: [{ file, path: '', message: (err as Error).message.slice(0, 500) }] };
    return {
      valid: false,
      errors: err.errors.slice(0, 1000).map((e) => {
        const own = posted === undefined || e.file === posted;
        return {
          file: e.file === posted ? POSTED_CONFIG : e.file,
          path: e.path,
          ...(e.line !== undefined ? { line: e.line } : {}),
          ...(e.column !== undefined ? { column: e.column } : {}),
          message: own ? e.message.slice(0, 4000) : 'this document named by the config is invalid',
        };
      }),
    };
  }
}

/** The versions feature's input from what the gateway loaded. */
export function versionsOf(apis: LoadedApi[]): ApiInput[] {
  return apis.map((api) => ({
    name: api.config.name,
    versions: api.versions.map((v) => ({ base: v.base, document: v.document, ...v.lifecycle })),
  }));
}

/**
 * Admin endpoints of the versions feature: `/changelog` (the page to publish, HTML; open) and
 * `/inventory` (JSON: APIs, versions, operations, last seen, shadow endpoints, consumers of
 * deprecated versions; admin credential). Pending traffic is flushed first so the answer is current.
 */
function versionRoutes(
  current: () => { apis: LoadedApi[] },
  db: Db,
  traffic: TrafficRecorder,
  clock: Clock,
  guard: AdminGuard,
): AdminRoute[] {
  const send = (res: ServerResponse, type: string, body: string) => {
    res.writeHead(200, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };
  return [
    {
      method: 'GET',
      path: '/changelog',
      handle: (_req, res) =>
        send(
          res,
          'text/html; charset=utf-8',
          changelogHtml(buildChangelog(versionsOf(current().apis), clock.now())),
        ),
    },
    {
      method: 'GET',
      path: '/inventory',
      // What is unprotected and who calls what: a read credential (viewer or admin), like the monitor's endpoints.
      handle: async (req, res) => {
        const verdict = await guard.read(req);
        if (!verdict.ok) return sendProblem(res, verdict.code, verdict.detail, verdict.headers);
        await traffic.flush();
        const inv = buildInventory(versionsOf(current().apis), await readTraffic(db), clock.now());
        send(res, 'application/json', JSON.stringify(inv));
      },
    },
  ];
}
