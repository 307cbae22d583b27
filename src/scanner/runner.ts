import { performance } from 'node:perf_hooks';
import type { Finding, RunMeta } from '../core/findings.ts';
import { Canary } from './canary.ts';
import { allChecks } from './checks/index.ts';
import { ScanContext, toFinding, type Check } from './context.ts';
import { BudgetExhausted, ScanHttp, type Exchange } from './http.ts';
import { isAdmin, login, type Identity } from './identities.ts';
import {
  isObj,
  loadSpecs,
  requestSchema,
  scanOperations,
  ScanSetupError,
  type ScanOperation,
} from './spec.ts';
import type { ScanFocus } from './focus.ts';
import { scanTag, ValuePool } from './values.ts';
import type { TamperRelay } from './relay.ts';

export interface ScanOptions {
  /** OpenAPI documents (paths or URLs). */
  specs: string[];
  target: string;
  identities: Identity[];
  /** Check ids to run (default all). */
  checks?: string[];
  unsafe?: boolean;
  maxRequests?: number;
  maxDurationMs?: number;
  /** Requests per second (0 = unlimited). */
  rate?: number;
  timeoutMs?: number;
  /** Where the canary listens (default 127.0.0.1) and the host name the target should call. */
  canaryHost?: string;
  /** Extra weak-secret candidates for the JWT check. */
  jwtWordlist?: string[];
  canaryAdvertise?: string;
  /** Tampering relays the target's upstream calls go through (API10 consumption tests). */
  relays?: TamperRelay[];
  /** Extra CA certificates (PEM) to trust for an https target (a private CA, a self-signed staging certificate). */
  ca?: string[];
  /** What an audit flagged (`--focus-audit`): those operations first, or only them and their checks. */
  focus?: ScanFocus;
  /** Aborts the scan: a partial result is returned. */
  signal?: AbortSignal;
  onProgress?(p: { check: string; index: number; total: number; requests: number }): void;
  version?: string;
}

export interface ScanResult {
  findings: Finding[];
  meta: RunMeta;
  /** True when stopped early (Ctrl-C, budget, duration): the findings are partial. */
  partial: boolean;
}

export const DEFAULTS = { maxRequests: 5000, maxDurationMs: 300_000, rate: 0, timeoutMs: 10_000 };

const LIST_KEYS = ['items', 'data', 'results', 'records', 'content', 'entries', 'list'];

/** The array of objects in a list response (`[...]` or `{ items: [...] }`-like), or undefined. */
export function listItems(body: unknown): Array<Record<string, unknown>> | undefined {
  if (Array.isArray(body)) return body.filter(isObj);
  if (!isObj(body)) return undefined;
  for (const k of LIST_KEYS) if (Array.isArray(body[k])) return (body[k] as unknown[]).filter(isObj);
  const arrays = Object.values(body).filter((v) => Array.isArray(v));
  return arrays.length === 1 ? (arrays[0] as unknown[]).filter(isObj) : undefined;
}

const documentsCreated = (sop: ScanOperation): boolean =>
  '201' in sop.op.responses || Object.keys(sop.op.responses).some((s) => s === '201');
const looksLikeLogin = (sop: ScanOperation): boolean => {
  const s = requestSchema(sop.op);
  return (
    !sop.secured &&
    isObj(s) &&
    isObj(s.properties) &&
    Object.keys(s.properties).some((k) => /pass(word)?$|secret/i.test(k)) &&
    !documentsCreated(sop)
  );
};

/** Operations the audit flagged first (most severe first), the rest in document order. */
function focusOrder(ops: ScanOperation[], focus: ScanFocus | undefined): ScanOperation[] {
  if (!focus) return ops;
  const rank = new Map(focus.operations.map((k, i) => [k, i]));
  const last = focus.operations.length;
  return [...ops].sort((a, b) => (rank.get(a.key) ?? last) - (rank.get(b.key) ?? last));
}

/** Identities that may call an operation in the crawl (admins only on admin-looking ones). */
export function callers(ctx: ScanContext, sop: ScanOperation): Array<Identity | undefined> {
  if (!sop.secured) return [undefined];
  const adminOnly = looksAdmin(sop);
  const ids = ctx.identities.filter((i) => !adminOnly || isAdmin(i));
  return ids.length ? ids : [];
}

/** Admin-looking operations: an admin path segment or tag, or roles declared in x-rampart. */
export function looksAdmin(sop: ScanOperation): boolean {
  const roles = sop.op.rampart.roles;
  if (
    Array.isArray(roles) &&
    roles.length > 0 &&
    roles.every((r) => typeof r === 'string' && /admin|root|super|staff|operator/i.test(r))
  )
    return true;
  if (/\/(admin|administration|manage|management|internal|staff|backoffice|ops)(\/|$)/i.test(sop.op.path))
    return true;
  return sop.op.tags.some((t) => /^admin/i.test(t));
}

/** Creates objects through the document's own operations and reads every safe operation once. */
async function crawl(ctx: ScanContext): Promise<void> {
  // 1. Collections the scan can create in (POST without path parameters, 201 documented).
  for (const sop of ctx.ops.filter(
    (s) => s.method === 'POST' && !s.path.includes('{') && documentsCreated(s) && !looksLikeLogin(s),
  )) {
    for (const who of callers(ctx, sop)) {
      const x = await ctx.call(sop, who ? { identity: who } : {});
      record(ctx, sop, who, x);
      if (ScanContext.ok(x)) {
        ctx.pool.learn(x.response!.json);
        ctx.remember(
          sop.path,
          who?.name ?? 'anonymous',
          true,
          x.response!.json,
          x.response!.headers.location,
        );
      }
      if (!sop.secured) break;
    }
  }
  // 1b. Nested collections (`POST /projects/{projectId}/tasks` beside `…/tasks/{taskId}`),
  // parents first, each under a parent object the same identity owns.
  for (const sop of ctx.ops
    .filter(
      (s) => s.method === 'POST' && nestedCollection(ctx, s) && documentsCreated(s) && !looksLikeLogin(s),
    )
    .sort((a, b) => ScanContext.pathParams(a.path).length - ScanContext.pathParams(b.path).length)) {
    for await (const { name, parents, x } of underOwnParents(ctx, sop)) {
      ctx.remember(sop.path, name, true, x.response!.json, x.response!.headers.location, parents);
      if (!sop.secured) break;
    }
  }
  // 2. Lists and other parameterless reads.
  for (const sop of ctx.ops.filter((s) => s.method === 'GET' && !s.path.includes('{'))) {
    for (const who of callers(ctx, sop)) {
      const x = await ctx.call(sop, who ? { identity: who } : {});
      record(ctx, sop, who, x);
      if (!ScanContext.ok(x)) continue;
      ctx.pool.learn(x.response!.json);
      for (const item of (listItems(x.response!.json) ?? []).slice(0, 10))
        ctx.remember(sop.path, who?.name ?? 'anonymous', false, item);
    }
  }
  // 2b. Nested lists, under parent objects each identity owns.
  for (const sop of ctx.ops.filter((s) => s.method === 'GET' && nestedCollection(ctx, s)))
    for await (const { name, parents, x } of underOwnParents(ctx, sop))
      for (const item of (listItems(x.response!.json) ?? []).slice(0, 10))
        ctx.remember(sop.path, name, false, item, undefined, parents);
  // 3. Item reads: known objects as their owner; integer ids probed (1..3) when nothing is known.
  for (const sop of ctx.ops.filter((s) => s.method === 'GET' && s.path.includes('{'))) {
    const pathParams = sop.op.parameters.filter((p) => p.in === 'path');
    const names = ScanContext.pathParams(sop.path);
    const leaf = names[names.length - 1]!;
    const nested =
      names.length > 1 && sop.path.endsWith(`{${leaf}}`)
        ? ctx.objects.filter((o) => o.collection === ctx.collectionOf(sop.path, leaf) && o.parents)
        : [];
    if (nested.length > 0) {
      for (const o of nested.slice(0, 4)) {
        const who = ctx.identities.find((i) => i.name === o.owner) ?? callers(ctx, sop)[0];
        const x = await ctx.call(sop, {
          params: { ...o.parents, [leaf]: o.id },
          ...(who ? { identity: who } : {}),
        });
        record(ctx, sop, who, x);
        if (ScanContext.ok(x)) ctx.pool.learn(x.response!.json);
      }
      continue;
    }
    if (pathParams.length !== 1) {
      const who = callers(ctx, sop)[0];
      if (callers(ctx, sop).length) record(ctx, sop, who, await ctx.call(sop, who ? { identity: who } : {}));
      continue;
    }
    const param = pathParams[0]!.name;
    const coll = ctx.collectionOf(sop.path, param);
    const known = ctx.objects.filter((o) => o.collection === coll);
    if (known.length > 0) {
      for (const o of known.slice(0, 4)) {
        const who = ctx.identities.find((i) => i.name === o.owner) ?? callers(ctx, sop)[0];
        const x = await ctx.call(sop, { params: { [param]: o.id }, ...(who ? { identity: who } : {}) });
        record(ctx, sop, who, x);
        if (ScanContext.ok(x)) ctx.pool.learn(x.response!.json);
      }
      continue;
    }
    const schema = pathParams[0]!.schema;
    const integer =
      isObj(schema) &&
      (schema.type === 'integer' || (Array.isArray(schema.type) && schema.type.includes('integer')));
    if (!integer) {
      const who = callers(ctx, sop)[0];
      if (callers(ctx, sop).length) record(ctx, sop, who, await ctx.call(sop, who ? { identity: who } : {}));
      continue;
    }
    for (const id of [1, 2, 3]) {
      for (const who of callers(ctx, sop)) {
        const x = await ctx.call(sop, { params: { [param]: id }, ...(who ? { identity: who } : {}) });
        record(ctx, sop, who, x);
        if (ScanContext.ok(x)) {
          ctx.pool.learn(x.response!.json);
          ctx.remember(
            coll,
            who?.name ?? 'anonymous',
            false,
            isObj(x.response!.json) ? { id, ...x.response!.json } : { id },
          );
          break;
        }
      }
    }
  }
}

/** Calls a nested-collection operation as each caller under a parent object it owns; yields the 2xx answers. */
async function* underOwnParents(
  ctx: ScanContext,
  sop: ScanOperation,
): AsyncGenerator<{ name: string; parents: Record<string, string | number>; x: Exchange }> {
  for (const who of callers(ctx, sop)) {
    const name = who?.name ?? 'anonymous';
    const parents = ctx.parentParams(sop.path, name);
    if (!parents) continue;
    const x = await ctx.call(sop, { params: parents, ...(who ? { identity: who } : {}) });
    record(ctx, sop, who, x);
    if (!ScanContext.ok(x)) continue;
    ctx.pool.learn(x.response!.json);
    yield { name, parents, x };
  }
}

/**
 * A collection under a parent object: path parameters, not ending in one, and items
 * below it in the document (`/projects/{projectId}/tasks` with `…/tasks/{taskId}`).
 * Action endpoints such as `POST /invoices/{id}/coupons` have no items and are left alone.
 */
function nestedCollection(ctx: ScanContext, sop: ScanOperation): boolean {
  if (!sop.path.includes('{') || sop.path.endsWith('}')) return false;
  const prefix = sop.path + '/{';
  return ctx.ops.some((o) => o.path.startsWith(prefix) && !o.path.slice(prefix.length).includes('/'));
}

function record(
  ctx: ScanContext,
  sop: ScanOperation,
  who: Identity | undefined,
  x: import('./http.ts').Exchange,
): void {
  const list = ctx.observed.get(sop.key) ?? [];
  if (list.length < 12) list.push({ ...(who ? { identity: who.name } : {}), x });
  ctx.observed.set(sop.key, list);
}

/**
 * Runs a scan: loads the documents, signs the identities in, checks the target answers,
 * crawls (creating objects through the document's own operations), then runs every
 * applicable check. Never throws for what the target does; setup problems are
 * ScanSetupErrors (exit 3).
 */
export async function runScan(o: ScanOptions): Promise<ScanResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  let target: URL;
  try {
    target = new URL(o.target);
    if (!/^https?:$/.test(target.protocol)) throw new Error('not http(s)');
  } catch {
    throw new ScanSetupError(`--target must be an http(s) URL, got '${o.target}'`);
  }
  const docs = await loadSpecs(o.specs, o.signal, o.timeoutMs ?? DEFAULTS.timeoutMs);
  const ops = focusOrder(scanOperations(docs), o.focus);
  if (ops.length === 0) throw new ScanSetupError('the documents describe no operations');
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal?.addEventListener('abort', onAbort);
  const maxDuration = o.maxDurationMs ?? DEFAULTS.maxDurationMs;
  const timer = setTimeout(() => stop.abort(), maxDuration);
  timer.unref();
  const http = new ScanHttp({
    target: target.origin,
    maxRequests: o.maxRequests ?? DEFAULTS.maxRequests,
    rate: o.rate ?? DEFAULTS.rate,
    timeoutMs: o.timeoutMs ?? DEFAULTS.timeoutMs,
    signal: stop.signal,
    ...(o.ca ? { ca: o.ca } : {}),
  });
  let canary: Canary | undefined;
  const findings: Finding[] = [];
  const notes: string[] = [];
  let partial = false;
  let ctx: ScanContext | undefined;
  const checksRun: string[] = [];
  try {
    // The target must answer HTTP at all.
    const probe =
      ops.find((s) => s.method === 'GET' && !s.secured && !s.path.includes('{')) ??
      ops.find((s) => s.method === 'GET');
    const first = await http.send({ method: 'GET', path: probe ? probe.path : '/' });
    if (!first.response)
      throw new ScanSetupError(`the target ${target.origin} does not answer: ${first.error}`);
    for (const id of o.identities) await login(http, id, Date.now());
    canary = await Canary.start(o.canaryHost, o.canaryAdvertise);
    ctx = new ScanContext(
      http,
      ops,
      o.identities,
      new ValuePool(),
      canary,
      o.unsafe ?? false,
      scanTag(),
      () => Date.now(),
    );
    ctx.relays = o.relays ?? [];
    ctx.jwtWordlist = o.jwtWordlist ?? [];
    if (o.identities.length === 0)
      ctx.note('no identities: only unauthenticated checks ran (pass --identity or --auth)');
    const focus = o.focus;
    const selected: readonly Check[] = allChecks.filter(
      (c) => (!o.checks || o.checks.includes(c.id)) && (!focus?.only || focus.checks.includes(c.id)),
    );
    if (focus) {
      const known = new Set(ops.map((s) => s.key));
      const flagged = focus.operations.filter((k) => known.has(k));
      ctx.note(
        `focus: ${flagged.length} operation(s) the audit flagged ${focus.only ? `tested alone, with the ${selected.length} check(s) its findings name` : 'tested first'}` +
          (flagged.length < focus.operations.length
            ? ` (${focus.operations.length - flagged.length} flagged operation(s) are not in these documents)`
            : ''),
      );
    }
    try {
      await crawl(ctx);
    } catch (err) {
      if (err instanceof BudgetExhausted) throw err;
      ctx.note(`crawl: could not complete — ${(err as Error).message}; checks ran on what was learned`);
    }
    // --focus-only: the crawl saw every operation (objects to test with); the checks see the flagged ones.
    if (focus?.only) ctx.narrow(ops.filter((s) => focus.operations.includes(s.key)));
    for (const [index, check] of selected.entries()) {
      o.onProgress?.({ check: check.id, index, total: selected.length, requests: http.sent });
      const why = check.applicable(ctx);
      if (why) {
        ctx.note(`${check.id}: not tested — ${why}`);
        continue;
      }
      checksRun.push(check.id);
      try {
        for await (const d of check.run(ctx)) {
          const f = toFinding(check, d);
          if (!findings.some((x) => x.id === f.id)) findings.push(f);
        }
      } catch (err) {
        if (err instanceof BudgetExhausted) throw err;
        ctx.note(`${check.id}: could not complete — ${(err as Error).message}`);
      }
    }
  } catch (err) {
    if (!(err instanceof BudgetExhausted)) throw err;
    partial = true;
    notes.push(
      `scan stopped early (${stop.signal.aborted && !o.signal?.aborted ? `--max-duration ${Math.round(maxDuration / 1000)} s reached` : err.message}): findings are partial`,
    );
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    await canary?.close();
    await http.close();
  }
  if (http.failures > 0)
    notes.push(`${http.failures} request(s) got no HTTP answer (timeout, reset or garbage)`);
  // A target that mostly stopped answering was not tested: never report that as clean.
  if (http.failures >= 5 && http.failures > http.sent * 0.2) {
    partial = true;
    notes.push(
      `the target stopped answering (${http.failures} of ${http.sent} requests): results are incomplete`,
    );
  }
  return {
    findings,
    partial,
    meta: {
      tool: 'scan',
      target: target.origin,
      startedAt,
      finishedAt: new Date().toISOString(),
      version: o.version ?? '0.1.0',
      stats: {
        requests: http.sent,
        durationMs: Math.round(performance.now() - t0),
        operations: ops.length,
        checks: checksRun.length,
        identities: o.identities.length,
      },
      notes: [...(ctx?.notes ?? []), ...notes],
      checks: allChecks
        .filter((c) => checksRun.includes(c.id))
        .map((c) => ({ id: c.id, title: c.title, owasp: c.owasp, cwe: c.cwe, severity: c.severity })),
      targets: ops.map((s) => s.key),
    },
  };
}
