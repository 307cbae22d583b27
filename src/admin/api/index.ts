/**
 * The admin API (docs/admin-api.md): REST under `/admin/api` on the admin listener, described
 * by ./openapi.yaml and served through Rampart's own gateway pipeline — the document is loaded
 * like any protected API's, its operations get compiled policy chains (security headers,
 * request id, request limits, authenticate, mfa, roles, rate limit, validate-request) and the
 * handlers below answer in place of an upstream (`LoadedVersion.local`). Every request emits
 * the gateway's events (request, denied, rate-limited …) and every change an `admin-action`
 * event, so the monitor's audit log records who did what.
 *
 * In front of the pipeline sits the console-session step (./session.ts): a valid session
 * cookie becomes the session's bearer token, state-changing requests need the CSRF token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { Clock } from '../../core/clock.ts';
import type { LocalTokenIssuer } from '../../core/auth.ts';
import type { CounterStore } from '../../core/counters.ts';
import { problem, PROBLEM_CONTENT_TYPE, ProblemError } from '../../core/errors.ts';
import type { RampartEvent } from '../../core/events.ts';
import type { Finding, RunMeta } from '../../core/findings.ts';
import type { Logger } from '../../core/logger.ts';
import type { OpenApiDocument } from '../../core/openapi.ts';
import { loadOpenApi } from '../../core/openapi-loader.ts';
import { apiSchema, type RampartConfig } from '../../gateway/config.ts';
import { Pipeline } from '../../gateway/pipeline.ts';
import type { PolicyServices, RequestContext } from '../../gateway/policy.ts';
import { buildPolicies, xRampartKeys } from '../../gateway/policies/index.ts';
import { authenticate } from '../../gateway/policies/authenticate/index.ts';
import { mfa } from '../../gateway/policies/mfa/index.ts';
import { rateLimit } from '../../gateway/policies/rate-limit/index.ts';
import { requestId } from '../../gateway/policies/request-id/index.ts';
import { requestLimits } from '../../gateway/policies/request-limits/index.ts';
import { roles } from '../../gateway/policies/roles/index.ts';
import { securityHeaders } from '../../gateway/policies/security-headers/index.ts';
import { validateRequest } from '../../gateway/policies/validate-request/index.ts';
import { Runtime, type LoadedApi, type LocalAnswer } from '../../gateway/runtime.ts';
import type { ConsoleTokens, IdentityService, User } from '../../identity/index.ts';
import { auditQueryFrom } from '../../monitor/http.ts';
import {
  BadCursor,
  MAX_SILENCE_MS,
  LiveFeed,
  queryAuditLog,
  type Monitor,
  type AlertStatus,
} from '../../monitor/index.ts';
import { audit } from '../../audit/index.ts';
import { diffFindings } from '../../scanner/history.ts';
import type { ScanScheduler } from '../../scanner/schedule.ts';
import type { Db } from '../../store/index.ts';
import { toolRun, toolRuns } from '../../store/tool-runs.ts';
import type { Changelog } from '../../versions/changelog.ts';
import type { Inventory } from '../../versions/inventory.ts';
import { learnHandlers, type LearnProvider } from './learn.ts';
import { page, pageParams } from './page.ts';
import { redactConfig } from './redact.ts';
import {
  CLEAR_COOKIE,
  ConsoleSessions,
  cookieValue,
  CSRF_HEADER,
  DEFAULT_TIMEOUTS,
  sessionCookie,
  type ConsoleSession,
  type SessionTimeouts,
} from './session.ts';

export { MAX_PAGE } from './page.ts';
export { SESSION_COOKIE, CSRF_HEADER, DEFAULT_TIMEOUTS, type SessionTimeouts } from './session.ts';

/** Where the admin API is served. */
export const ADMIN_API_PREFIX = '/admin/api';
const here = dirname(fileURLToPath(import.meta.url));
/** The admin API's OpenAPI document (beside this module; a built package falls back to src/). */
export const ADMIN_API_DOCUMENT = existsSync(join(here, 'openapi.yaml'))
  ? join(here, 'openapi.yaml')
  : join(here, '..', '..', '..', 'src', 'admin', 'api', 'openapi.yaml');

/** The posture report (src/posture), when wired: an opaque JSON object, or undefined. */
export type PostureProvider = () => Promise<Record<string, unknown> | undefined>;
/** The latest code-scan results, when a source is wired. */
export type FindingsProvider = () => Promise<{ findings: Finding[]; meta?: RunMeta } | undefined>;

export interface ConfigCheckResult {
  valid: boolean;
  errors: Array<{ file: string; path: string; line?: number; column?: number; message: string }>;
}

export interface AdminApiOptions {
  clock: Clock;
  log: Logger;
  emit: (e: RampartEvent) => void;
  db: Db;
  counters: CounterStore;
  /** The built-in identity service; without it no one can sign in (every call answers 401). */
  identity?: IdentityService | undefined;
  monitor?: Monitor | undefined;
  scans?: ScanScheduler | undefined;
  /** What is serving now (swapped on reload). */
  current(): { apis: LoadedApi[]; config: RampartConfig };
  inventory(): Promise<Inventory>;
  changelog(): Changelog;
  /** The config file a reload re-reads; undefined for the built-in demo. */
  configFile?: string | undefined;
  /** Checks the config file, or the given text as if it were the config file (nothing written). */
  validateConfig?: ((text?: string) => Promise<ConfigCheckResult>) | undefined;
  reload?: (() => Promise<{ ok: true; restartNeeded: string[] } | { ok: false; error: string }>) | undefined;
  posture?: PostureProvider | undefined;
  codeScan?: FindingsProvider | undefined;
  sessions?: Partial<SessionTimeouts> | undefined;
  /** Learn mode's reads (admin/api/learn.ts); without it GET /learn answers 404. */
  learn?: LearnProvider | undefined;
  /** The limits of the admin listener's requests (default: the app config's). */
  config: RampartConfig;
}

/** The admin API's handler for the admin listener, and what tests look into. */
export interface AdminApi {
  readonly prefix: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly sessions: ConsoleSessions | undefined;
  readonly document: OpenApiDocument;
  close(): Promise<void>;
}

/** The policies of the admin chain and their settings (fixed: the admin API is Rampart's own). */
const ADMIN_POLICIES = [
  securityHeaders,
  requestId,
  requestLimits,
  authenticate,
  mfa,
  roles,
  rateLimit,
  validateRequest,
];
const ADMIN_POLICY_CONFIG = {
  authenticate: { localTokens: true, apiKeys: false, realm: 'rampart-admin', default: 'required' },
  mfa: { requireFor: { all: true } },
  roles: { undeclared: 'deny' },
  'validate-request': { enabled: true, rejectUnknownQuery: true },
};

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

type Handler = (ctx: RequestContext, q: URLSearchParams) => Promise<LocalAnswer>;

/** Builds the admin API: its document loaded and validated, its chains compiled. */
export async function createAdminApi(o: AdminApiOptions): Promise<AdminApi> {
  const document = await loadOpenApi(ADMIN_API_DOCUMENT, { xRampart: xRampartKeys() });
  const services: PolicyServices = {
    clock: o.clock,
    log: o.log.child({ component: 'admin-api' }),
    localIssuer: o.identity?.issuer satisfies LocalTokenIssuer | undefined,
    apiKeys: undefined,
    counters: o.counters,
  };
  const policies = buildPolicies(ADMIN_POLICY_CONFIG, services, ADMIN_POLICIES);
  const timeouts = { ...DEFAULT_TIMEOUTS, ...o.sessions };
  const sessions = o.identity ? new ConsoleSessions(o.identity.console, o.clock, o.db, timeouts) : undefined;
  const bySession = new WeakMap<object, { id: string; session: ConsoleSession }>();
  const handlers = adminHandlers(o, sessions, bySession, timeouts);
  const apiConfig = Value.Default(
    apiSchema,
    Value.Clone({
      name: 'rampart-admin',
      upstream: 'http://127.0.0.1:9/',
      versions: [{ base: ADMIN_API_PREFIX, spec: ADMIN_API_DOCUMENT }],
    }),
  ) as LoadedApi['config'];
  const runtime = new Runtime({
    config: { ...o.config, trustedProxies: [], apis: [apiConfig] },
    apis: [
      {
        config: apiConfig,
        versions: [
          {
            base: ADMIN_API_PREFIX,
            document,
            upstream: apiConfig.upstream,
            stripBase: true,
            local: async (ctx) => {
              const id = ctx.route?.operation.operationId;
              const h = id !== undefined ? handlers[id] : undefined;
              if (!h) throw new ProblemError('not-found', 'No handler for this operation');
              return h(ctx, new URLSearchParams(ctx.query));
            },
          },
        ],
      },
    ],
    policies,
  });
  const pipeline = new Pipeline({
    clock: o.clock,
    log: services.log,
    emit: o.emit,
    secure: false,
  });

  function refuse(
    req: IncomingMessage,
    res: ServerResponse,
    code: 'unauthenticated' | 'forbidden',
    detail: string,
    extra: Record<string, string> = {},
  ): void {
    const p = problem(code, { detail });
    const body = JSON.stringify(p);
    o.emit({
      type: 'denied',
      at: o.clock.now(),
      ip: req.socket.remoteAddress ?? '',
      policy: 'console-session',
      problem: code,
      ...(code === 'forbidden' ? { owasp: 'API5:2023' } : { owasp: 'API2:2023' }),
    } as RampartEvent);
    res.writeHead(p.status, {
      ...HEADERS,
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      ...extra,
    });
    res.end(body);
  }

  /** The console-session step: cookie → the session's bearer token; CSRF and Origin on changes. */
  async function withSession(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const id = cookieValue(req.headers.cookie);
    if (id === undefined || !sessions || req.headers.authorization !== undefined) return true;
    const path = (req.url ?? '').split('?')[0];
    // Signing in again while an old cookie is around: the old one is simply not used.
    if (req.method === 'POST' && path === `${ADMIN_API_PREFIX}/session`) return true;
    const found = await sessions.lookup(id);
    if (!found.ok) {
      const why =
        found.reason === 'idle'
          ? 'The console session ended after inactivity; sign in again'
          : found.reason === 'absolute'
            ? 'The console session reached its maximum age; sign in again'
            : 'The console session is unknown or has ended; sign in again';
      refuse(req, res, 'unauthenticated', why, {
        'set-cookie': CLEAR_COOKIE,
        'www-authenticate': 'Bearer realm="rampart-admin"',
      });
      return false;
    }
    const s = found.session;
    if (!SAFE.has(req.method ?? 'GET')) {
      const origin = req.headers.origin;
      const host = req.headers.host;
      if (origin !== undefined && (host === undefined || !sameHost(origin, host))) {
        refuse(req, res, 'forbidden', 'Cross-origin requests are not accepted with the console session');
        return false;
      }
      const presented = req.headers[CSRF_HEADER];
      if (!sessions.csrfMatches(s, typeof presented === 'string' ? presented : undefined)) {
        refuse(
          req,
          res,
          'forbidden',
          `A state-changing request needs the session's CSRF token in X-CSRF-Token`,
        );
        return false;
      }
    }
    try {
      await sessions.fresh(s, req.socket.remoteAddress ?? '');
    } catch {
      await sessions.end(s);
      refuse(req, res, 'unauthenticated', 'The console session was revoked; sign in again', {
        'set-cookie': CLEAR_COOKIE,
      });
      return false;
    }
    await sessions.touch(s);
    req.headers.authorization = `Bearer ${s.tokens.accessToken}`;
    bySession.set(req.headers, { id, session: s });
    return true;
  }

  return {
    prefix: ADMIN_API_PREFIX,
    sessions,
    document,
    handle(req, res) {
      withSession(req, res).then(
        (go) => {
          if (go) pipeline.handle(runtime, req, res);
        },
        (err: unknown) => {
          services.log.error({ err }, 'admin API session step failed');
          if (!res.headersSent) refuse(req, res, 'unauthenticated', 'The session could not be checked');
        },
      );
    },
    close: () => runtime.close(),
  };
}

function sameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

const json = (status: number, body: unknown, headers?: Record<string, string | string[]>): LocalAnswer =>
  headers ? { status, body, headers } : { status, body };

function principalOf(ctx: RequestContext): string {
  return ctx.principal?.id ?? 'anonymous';
}

function adminHandlers(
  o: AdminApiOptions,
  sessions: ConsoleSessions | undefined,
  bySession: WeakMap<object, { id: string; session: ConsoleSession }>,
  timeouts: SessionTimeouts,
): Record<string, Handler> {
  const identity = o.identity;
  const now = () => o.clock.now();
  const body = (ctx: RequestContext): Record<string, unknown> =>
    (ctx.json() as Record<string, unknown> | undefined) ?? {};
  const param = (ctx: RequestContext, name: string): string => ctx.route!.params[name]!;

  /** Runs a change and writes its `admin-action` event (success or failure). */
  async function act(
    ctx: RequestContext,
    action: string,
    target: string | undefined,
    fn: () => Promise<LocalAnswer>,
  ): Promise<LocalAnswer> {
    const base = {
      type: 'admin-action' as const,
      requestId: ctx.id,
      ip: ctx.ip,
      principal: principalOf(ctx),
      action,
      ...(target !== undefined ? { target } : {}),
    };
    try {
      const out = await fn();
      o.emit({ ...base, at: now(), outcome: 'success' });
      return out;
    } catch (err) {
      const detail =
        err instanceof ProblemError ? err.problem.type.slice(err.problem.type.lastIndexOf('/') + 1) : 'error';
      o.emit({ ...base, at: now(), outcome: 'failure', detail });
      throw err;
    }
  }

  function needIdentity(): IdentityService {
    if (!identity)
      throw new ProblemError(
        'not-found',
        'The identity service is not configured (identity: in rampart.yaml)',
      );
    return identity;
  }

  function needMonitor(): Monitor {
    if (!o.monitor) throw new ProblemError('not-found', 'Monitoring is off (monitor.enabled: false)');
    return o.monitor;
  }

  function needScans(): ScanScheduler {
    if (!o.scans) throw new ProblemError('not-found', 'No scans are configured (scans: in rampart.yaml)');
    return o.scans;
  }

  const sessionBody = (s: ConsoleSession) => ({
    user: { id: s.tokens.userId, username: s.username, roles: s.tokens.roles },
    csrfToken: s.csrf,
    authenticatedAt: s.tokens.authTime,
    idleExpiresAt: s.lastSeenAt + timeouts.idleTimeoutMs,
    expiresAt: s.createdAt + timeouts.absoluteTimeoutMs,
  });
  const cookieFor = (id: string, s: ConsoleSession) =>
    sessionCookie(id, Math.max(0, Math.floor((s.createdAt + timeouts.absoluteTimeoutMs - now()) / 1000)));

  function consoleSession(ctx: RequestContext): { id: string; session: ConsoleSession } {
    const s = bySession.get(ctx.headers);
    if (!s)
      throw new ProblemError(
        'bad-request',
        'This needs a console session (POST /admin/api/session); bearer callers use the identity service (/auth/step-up, /auth/logout)',
      );
    return s;
  }

  async function userView(u: User): Promise<Record<string, unknown>> {
    const f = await needIdentity().users.factors(u.id);
    return {
      id: u.id,
      username: u.username,
      displayName: u.displayName,
      roles: u.roles,
      disabled: u.disabled,
      locked: u.locked,
      createdAt: u.createdAt,
      mfa: {
        required: needIdentity().users.mfaRequired(u.roles),
        enrolled: f.totp || f.passkeys > 0,
        totp: f.totp,
        passkeys: f.passkeys,
        recoveryCodesLeft: f.recoveryCodesLeft,
      },
    };
  }

  async function target(ctx: RequestContext): Promise<User> {
    const u = await needIdentity().users.get(param(ctx, 'userId'));
    if (!u || u.id !== param(ctx, 'userId')) throw new ProblemError('not-found', 'No such user');
    return u;
  }

  const keyView = (k: {
    id: string;
    name: string;
    scopes: string[];
    created_at: number;
    expires_at: number | null;
    last_used_at?: number | null;
    replaced_by?: string | null;
  }) => ({
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    createdAt: k.created_at,
    expiresAt: k.expires_at,
    lastUsedAt: k.last_used_at ?? null,
    replacedBy: k.replaced_by ?? null,
  });

  /** A key just issued: the one answer that carries `key` (Rampart keeps only its hash). */
  const issuedView = (k: {
    id: string;
    name: string;
    scopes: string[];
    created_at: number;
    expires_at: number | null;
    key: string;
  }) => ({
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    createdAt: k.created_at,
    expiresAt: k.expires_at,
    key: k.key,
  });

  async function alertAction(
    ctx: RequestContext,
    action: 'acknowledge' | 'resolve' | 'silence',
  ): Promise<LocalAnswer> {
    const id = param(ctx, 'alertId');
    return act(ctx, `alert.${action}`, id, async () => {
      const m = needMonitor();
      const b = body(ctx);
      const note = typeof b.note === 'string' ? b.note : undefined;
      let until: number | undefined;
      if (action === 'silence') {
        until = Date.parse(String(b.until));
        if (Number.isNaN(until) || until <= now() || until - now() > MAX_SILENCE_MS)
          throw new ProblemError(
            'validation-failed',
            'until must be a time in the future, at most 30 days ahead',
            {
              pointer: '/until',
            },
          );
      }
      const view = await m.desk.act(id, action, principalOf(ctx), {
        ...(note !== undefined ? { note } : {}),
        ...(until !== undefined ? { until } : {}),
      });
      if (!view) throw new ProblemError('not-found', 'No such alert');
      return json(200, view);
    });
  }

  // Audits of the served documents, computed once per document (they change only on reload).
  const audits = new WeakMap<OpenApiDocument, ReturnType<typeof audit>>();
  function auditsNow(): Array<{
    api: string;
    base: string;
    version: string;
    result: ReturnType<typeof audit>;
  }> {
    const out = [];
    for (const api of o.current().apis) {
      for (const [i, v] of api.versions.entries()) {
        let r = audits.get(v.document);
        if (!r) {
          r = audit([
            {
              doc: v.document,
              file: api.config.versions[i]?.spec ?? `${api.config.name}${v.base}`,
              base: v.base,
              ...(v.lifecycle ? { lifecycle: v.lifecycle } : {}),
            },
          ]);
          audits.set(v.document, r);
        }
        out.push({ api: api.config.name, base: v.base, version: v.document.version, result: r });
      }
    }
    return out;
  }

  const runView = async (s: ScanScheduler, name: string, id: string, partial: boolean) => {
    const run = await s.history.read(name, id);
    return { id, startedAt: run?.meta.startedAt ?? '', partial, findings: run?.findings.length ?? 0 };
  };

  async function scanRun(
    ctx: RequestContext,
  ): Promise<{ name: string; id: string; findings: Finding[]; meta: RunMeta }> {
    const s = needScans();
    const name = param(ctx, 'scanName');
    if (!s.jobs().some((j) => j.name === name)) throw new ProblemError('not-found', 'No such scan');
    const id = param(ctx, 'runId');
    const run = await s.history.read(name, id);
    if (!run) throw new ProblemError('not-found', 'No such run');
    return { name, id, ...run };
  }

  /** A sign-in (password + TOTP, or a passkey) becomes a console session: admins and viewers only. */
  async function startSession(
    ctx: RequestContext,
    signIn: (id: IdentityService) => Promise<ConsoleTokens>,
  ): Promise<LocalAnswer> {
    const id = needIdentity();
    if (!sessions) throw new ProblemError('not-found', 'Console sessions need the identity service');
    const tokens = await signIn(id);
    const event = (outcome: 'success' | 'failure', detail?: string) =>
      o.emit({
        type: 'admin-action',
        at: now(),
        ip: ctx.ip,
        requestId: ctx.id,
        principal: tokens.userId,
        action: 'session.create',
        outcome,
        ...(detail !== undefined ? { detail } : {}),
      });
    if (!tokens.roles.some((r) => r === 'admin' || r === 'viewer')) {
      await id.console.signOut(tokens.accessToken, tokens.refreshToken, ctx.ip);
      event('failure', 'no-console-role');
      throw new ProblemError('forbidden', 'The console needs the admin or viewer role');
    }
    const user = await id.users.get(tokens.userId);
    const { id: cookie, session } = await sessions.create(tokens, user?.username ?? tokens.userId);
    event('success');
    return json(201, sessionBody(session), { 'set-cookie': cookieFor(cookie, session) });
  }

  return {
    // ── learn mode (./learn.ts) ───────────────────────────────────────────────────
    ...learnHandlers(o.learn),
    // ── console session ─────────────────────────────────────────────────────────
    async createConsoleSession(ctx) {
      const b = body(ctx) as { username: string; password: string; code: string };
      return startSession(ctx, (id) => id.console.signIn(b, ctx.ip));
    },
    async createPasskeyConsoleSession(ctx) {
      const b = body(ctx) as { challenge_id: string; mfa_token?: string; response: Record<string, unknown> };
      return startSession(ctx, (id) => id.console.passkeySignIn(b, ctx.ip));
    },
    async getConsoleSession(ctx) {
      const s = bySession.get(ctx.headers);
      if (!s)
        throw new ProblemError('not-found', 'No console session: the request was made with a bearer token');
      return json(200, sessionBody(s.session));
    },
    async deleteConsoleSession(ctx) {
      const { session } = consoleSession(ctx);
      return act(ctx, 'session.delete', undefined, async () => {
        await sessions!.end(session);
        await needIdentity().console.signOut(session.tokens.accessToken, session.tokens.refreshToken, ctx.ip);
        return { status: 204, headers: { 'set-cookie': CLEAR_COOKIE } };
      });
    },
    async reauthenticateConsoleSession(ctx) {
      const { session } = consoleSession(ctx);
      return act(ctx, 'session.reauthenticate', undefined, async () => {
        // The request schema (Reauth) admits a code or a passkey assertion, nothing else.
        const b = body(ctx) as { code: string } | { challenge_id: string; response: Record<string, unknown> };
        const tokens = await needIdentity().console.reauthenticate(session.tokens.accessToken, b, ctx.ip);
        const next = await sessions!.rotate(session, tokens);
        return json(200, sessionBody(next.session), { 'set-cookie': cookieFor(next.id, next.session) });
      });
    },

    // ── users and MFA ───────────────────────────────────────────────────────────
    async listUsers(_ctx, q) {
      const p = pageParams(q);
      const all = (await needIdentity().users.list()).sort(
        (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1),
      );
      const cut = page(all, p);
      return json(200, { items: await Promise.all(cut.items.map(userView)), next: cut.next });
    },
    async getUser(ctx) {
      return json(200, await userView(await target(ctx)));
    },
    async disableUser(ctx) {
      return act(ctx, 'user.disable', param(ctx, 'userId'), async () => {
        const u = await target(ctx);
        if (u.id === ctx.principal?.id)
          throw new ProblemError('conflict', 'An admin cannot disable themselves');
        const out = await needIdentity().users.disable(u.id, true);
        await sessions?.endUser(u.id);
        return json(200, await userView(out));
      });
    },
    async enableUser(ctx) {
      return act(ctx, 'user.enable', param(ctx, 'userId'), async () => {
        const u = await target(ctx);
        return json(200, await userView(await needIdentity().users.disable(u.id, false)));
      });
    },
    async resetUserMfa(ctx) {
      return act(ctx, 'user.mfa-reset', param(ctx, 'userId'), async () => {
        const u = await target(ctx);
        if (u.id === ctx.principal?.id)
          throw new ProblemError('conflict', 'Reset your own factors in the identity service, not here');
        await needIdentity().users.resetMfa(u.id);
        await sessions?.endUser(u.id);
        return { status: 204 };
      });
    },

    // ── API keys ────────────────────────────────────────────────────────────────
    async listApiKeys(ctx, q) {
      const p = pageParams(q);
      const u = await target(ctx);
      const keys = await needIdentity().apiKeyAdmin.list(u.id);
      const cut = page(keys, p);
      return json(200, { items: cut.items.map(keyView), next: cut.next });
    },
    async createApiKey(ctx) {
      return act(ctx, 'api-key.create', param(ctx, 'userId'), async () => {
        const u = await target(ctx);
        const b = body(ctx) as { name: string; scopes: string[]; expiresIn?: number };
        const k = await needIdentity().apiKeyAdmin.create(u.id, {
          name: b.name,
          scopes: b.scopes,
          ...(b.expiresIn !== undefined ? { expiresIn: b.expiresIn } : {}),
        });
        return json(201, issuedView(k));
      });
    },
    async rotateApiKey(ctx) {
      const keyId = param(ctx, 'keyId');
      return act(ctx, 'api-key.rotate', keyId, async () => {
        const u = await target(ctx);
        const overlap = Number(body(ctx).overlapSeconds ?? 3600);
        const k = await needIdentity().apiKeyAdmin.rotate(u.id, keyId, overlap);
        return json(201, { ...issuedView(k), previousExpiresAt: k.previous_expires_at });
      });
    },
    async revokeApiKey(ctx) {
      const keyId = param(ctx, 'keyId');
      return act(ctx, 'api-key.revoke', keyId, async () => {
        const u = await target(ctx);
        if (!(await needIdentity().apiKeyAdmin.revoke(u.id, keyId)))
          throw new ProblemError('not-found', 'No such API key');
        return { status: 204 };
      });
    },

    // ── alerts ──────────────────────────────────────────────────────────────────
    async listAlerts(_ctx, q) {
      const p = pageParams(q);
      const status = (q.get('status') ?? undefined) as AlertStatus | undefined;
      return json(200, page(await needMonitor().desk.list(status), p));
    },
    async liveFeed(_ctx, q) {
      const m = needMonitor();
      const filter = LiveFeed.filterFrom(q);
      return {
        status: 200,
        stream: (req, res) => {
          if (!m.feed.attach(req, res, filter)) {
            const p = problem('too-many-requests', { detail: 'Too many live-feed clients' });
            res.writeHead(429, { 'content-type': PROBLEM_CONTENT_TYPE, 'retry-after': '10' });
            res.end(JSON.stringify(p));
          }
        },
      };
    },
    acknowledgeAlert: (ctx) => alertAction(ctx, 'acknowledge'),
    resolveAlert: (ctx) => alertAction(ctx, 'resolve'),
    silenceAlert: (ctx) => alertAction(ctx, 'silence'),

    // ── inventory and versions ──────────────────────────────────────────────────
    async getInventory() {
      return json(200, await o.inventory());
    },
    async getChangelog() {
      return json(200, o.changelog());
    },
    async listShadowEndpoints(_ctx, q) {
      const p = pageParams(q);
      const inv = await o.inventory();
      const all = [...inv.shadowEndpoints].sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : -1));
      return json(200, page(all, p));
    },
    async listDeprecatedConsumers(_ctx, q) {
      const p = pageParams(q);
      const inv = await o.inventory();
      const all = [...inv.deprecatedUsage].sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : -1));
      return json(200, page(all, p));
    },

    // ── audit log ───────────────────────────────────────────────────────────────
    async queryAuditLog(_ctx, q) {
      const { limit } = pageParams(new URLSearchParams(q.has('limit') ? { limit: q.get('limit')! } : {}));
      let query;
      try {
        query = auditQueryFrom(q);
      } catch (err) {
        throw new ProblemError('bad-request', (err as Error).message);
      }
      // What happened up to now is on the page: queued events reach the audit log first.
      const m = needMonitor();
      m.queue.drain();
      await m.audit?.flush();
      try {
        const r = await queryAuditLog(o.db, { ...query, limit });
        return json(200, { items: r.items, next: r.next ?? null });
      } catch (err) {
        if (err instanceof BadCursor) throw new ProblemError('bad-request', err.message);
        throw err;
      }
    },

    // ── scans ───────────────────────────────────────────────────────────────────
    async listScans() {
      const s = needScans();
      const items = [];
      for (const j of s.jobs()) {
        const latest = (await s.history.runs(j.name))[0];
        items.push({ ...j, latest: latest ? await runView(s, j.name, latest.id, latest.partial) : null });
      }
      return json(200, { items });
    },
    async listScanRuns(ctx, q) {
      const p = pageParams(q);
      const s = needScans();
      const name = param(ctx, 'scanName');
      if (!s.jobs().some((j) => j.name === name)) throw new ProblemError('not-found', 'No such scan');
      const cut = page(await s.history.runs(name), p);
      return json(200, {
        items: await Promise.all(cut.items.map((r) => runView(s, name, r.id, r.partial))),
        next: cut.next,
      });
    },
    async startScan(ctx) {
      const name = param(ctx, 'scanName');
      return act(ctx, 'scan.start', name, async () => {
        const r = needScans().runNow(name);
        if (r === 'unknown') throw new ProblemError('not-found', 'No such scan');
        if (r === 'running') throw new ProblemError('conflict', 'A run of this scan is going on');
        return json(202, { name, status: 'started' });
      });
    },
    async listScanFindings(ctx, q) {
      const p = pageParams(q);
      const run = await scanRun(ctx);
      return json(200, { ...page(run.findings, p), meta: run.meta });
    },
    async diffScanRun(ctx) {
      const run = await scanRun(ctx);
      const s = needScans();
      const previous = (await s.history.previous(run.name, run.id)) ?? null;
      const before = previous ? await s.history.read(run.name, previous) : undefined;
      const d = diffFindings(before?.findings, run.findings);
      return json(200, { run: run.id, previous, new: d.new, fixed: d.fixed, open: d.open });
    },

    // ── audit and code-scan results ─────────────────────────────────────────────
    async listAudits() {
      const items = auditsNow().map(({ api, base, version, result }) => {
        const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
        for (const f of result.findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
        return { api, base, version, score: result.score, findings: counts };
      });
      return json(200, { items });
    },
    async listAuditFindings(_ctx, q) {
      const p = pageParams(q);
      const api = q.get('api');
      const all = auditsNow()
        .filter((a) => api === null || a.api === api)
        .flatMap((a) => a.result.findings.map((f) => ({ ...f, api: a.api, base: a.base })));
      return json(200, page(all, p));
    },
    async listCodeScanFindings(_ctx, q) {
      const p = pageParams(q);
      // The newest run recorded in the store (rampart code -c), else the provider's report files.
      const r = (await toolRun(o.db, 'code'))?.result ?? (o.codeScan ? await o.codeScan() : undefined);
      if (!r) throw new ProblemError('not-found', 'No code-scan results are configured');
      return json(200, { ...page(r.findings, p), ...(r.meta ? { meta: r.meta } : {}) });
    },

    async listCodeScanRuns(_ctx, q) {
      return json(200, page(await toolRuns(o.db, 'code'), pageParams(q)));
    },
    async listAuditRuns(_ctx, q) {
      return json(200, page(await toolRuns(o.db, 'audit'), pageParams(q)));
    },

    // ── posture ─────────────────────────────────────────────────────────────────
    async getPosture() {
      const r = o.posture ? await o.posture() : undefined;
      if (!r) throw new ProblemError('not-found', 'The posture report is not configured');
      return json(200, r);
    },

    // ── config ──────────────────────────────────────────────────────────────────
    async getConfig() {
      const { config, redacted } = redactConfig(o.current().config);
      return json(200, { config, file: o.configFile ?? null, redacted });
    },
    async validateConfig(ctx) {
      return act(ctx, 'config.validate', o.configFile, async () => {
        if (!o.validateConfig || !o.configFile)
          throw new ProblemError('not-found', 'No config file: the built-in demo config is running');
        if (ctx.body === undefined || ctx.body.length === 0) return json(200, await o.validateConfig());
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(ctx.body);
        } catch {
          throw new ProblemError('bad-request', 'The config must be UTF-8 text (YAML)', { pointer: '/body' });
        }
        if (text.includes('\u0000'))
          throw new ProblemError('bad-request', 'The config must be text: it holds a NUL byte', {
            pointer: '/body',
          });
        return json(200, await o.validateConfig(text));
      });
    },
    async reloadConfig(ctx) {
      return act(ctx, 'config.reload', o.configFile, async () => {
        if (!o.reload || !o.configFile)
          throw new ProblemError('not-found', 'No config file: the built-in demo config is running');
        const r = await o.reload();
        if (!r.ok) throw new ProblemError('validation-failed', r.error.slice(0, 2000));
        return json(200, { reloaded: true, restartNeeded: r.restartNeeded });
      });
    },
  };
}
