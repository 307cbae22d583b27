/**
 * Test helpers for policy authors: build a {@link RequestContext} by hand, a route
 * match for an operation, the build-time services, and a policy from raw options the
 * way the gateway does (defaults applied, then validated).
 *
 * Nothing here is mocked behaviour: the context is a plain object, events land in an
 * array, the clock is a {@link ManualClock} the test moves.
 *
 * @example
 * const clock = new ManualClock();
 * const policy = buildPolicy(authenticate, { default: 'required' }, testServices({ clock }));
 * const ctx = testContext({ clock, headers: { authorization: `Bearer ${token}` }, route: testRoute() });
 * const denial = await policy.onRequest(ctx); // the hooks forRoute compiled for ctx.route
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Static, TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ManualClock, type Clock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import type { HttpMethod, OpenApiDocument, OpenApiOperation } from '../../core/openapi.ts';
import type { RampartEvent } from '../../core/events.ts';
import { isJsonType, parseJsonBody } from '../body.ts';
import { LookupError } from '../policy.ts';
import type {
  LookupOptions,
  LookupResponse,
  PolicyDefinition,
  PolicyHooks,
  PolicyResult,
  PolicyServices,
  Principal,
  RequestContext,
  ResponseContext,
  RouteHooks,
  RouteInfo,
  RouteMatch,
  VersionLifecycle,
} from '../policy.ts';

export interface TestRouteInit {
  api?: string;
  base?: string;
  version?: string;
  method?: HttpMethod;
  /** Path template, e.g. `/orders/{orderId}`. */
  template?: string;
  path?: string;
  params?: Record<string, string>;
  operationId?: string;
  /** Effective OpenAPI security requirements; `[]` = explicitly public. Default: one bearer requirement. */
  security?: Array<Record<string, string[]>>;
  /** Merged `x-rampart` extension. */
  rampart?: Record<string, unknown>;
  operation?: Partial<OpenApiOperation>;
  lifecycle?: VersionLifecycle;
  /** The document the operation belongs to; default: a document with just this operation. */
  document?: OpenApiDocument;
}

/** A route match for one operation (defaults: `GET /v1/orders/{orderId}` of API `shop`, bearer security). */
export function testRoute(init: TestRouteInit = {}): RouteMatch {
  const rampart = init.rampart ?? {};
  const template = init.template ?? '/orders/{orderId}';
  const operation: OpenApiOperation = {
    method: init.method ?? 'get',
    path: template,
    operationId: init.operationId ?? 'getOrder',
    tags: [],
    parameters: [],
    responses: { '200': {} },
    security: init.security ?? [{ bearerAuth: [] }],
    deprecated: false,
    rampart,
    ...init.operation,
  };
  const document: OpenApiDocument = init.document ?? {
    source: 'test.yaml',
    openapi: '3.1.0',
    title: 'test',
    version: init.version ?? '1.0.0',
    raw: {},
    operations: [operation],
    securitySchemes: {},
  };
  return {
    api: init.api ?? 'shop',
    base: init.base ?? '/v1',
    version: init.version ?? '1.0.0',
    template,
    path: init.path ?? template.replace(/\{[^}]+\}/g, '42'),
    params: init.params ?? {},
    operation,
    rampart,
    lifecycle: init.lifecycle ?? {},
    document,
  };
}

export interface TestContextInit {
  id?: string;
  method?: string;
  path?: string;
  query?: string;
  headers?: IncomingHttpHeaders;
  ip?: string;
  secure?: boolean;
  /** The matched route; `null` for a request that matched none. Default: {@link testRoute}(). */
  route?: RouteMatch | null;
  principal?: Principal;
  clock?: Clock;
  /** The request body; `content-type: application/json` is assumed unless `headers` says otherwise. */
  body?: Buffer;
  /** Answers `ctx.lookup` (default: rejects with LookupError 'upstream'). */
  lookup?: (
    operation: string,
    params: Record<string, string>,
    opts?: LookupOptions,
  ) => Promise<LookupResponse>;
}

/** A RequestContext plus what the test wants to look at afterwards. */
export interface TestContext extends RequestContext {
  /** Every event the policy emitted, in order. */
  readonly events: RampartEvent[];
}

export function testContext(init: TestContextInit = {}): TestContext {
  const clock = init.clock ?? new ManualClock();
  const route = init.route === null ? undefined : (init.route ?? testRoute());
  const events: RampartEvent[] = [];
  const method = init.method ?? route?.operation.method.toUpperCase() ?? 'GET';
  const ip = init.ip ?? '203.0.113.7';
  const headers: IncomingHttpHeaders = {
    host: 'api.example.test',
    ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...init.headers,
  };
  let parsed: { value: unknown } | undefined;
  return {
    id: init.id ?? 'req-test-1',
    method,
    path: init.path ?? (route ? route.base + route.path : '/unknown'),
    query: init.query ?? '',
    headers,
    ip,
    peer: ip,
    trustedPeer: false,
    secure: init.secure ?? true,
    route,
    principal: init.principal,
    upstreamHeaders: {},
    responseHeaders: {},
    body: init.body,
    // The gateway's own parser: malformed JSON throws ProblemError invalid-json, as on the wire.
    json() {
      const b = init.body;
      if (b === undefined || b.length === 0 || !isJsonType(headers['content-type'])) return undefined;
      return (parsed ??= { value: parseJsonBody(b) }).value;
    },
    startedAt: clock.now(),
    clock,
    log: silentLogger,
    emit: (e) => {
      events.push(e);
    },
    state: {},
    lookup:
      init.lookup ?? (() => Promise.reject(new LookupError('upstream', 'no upstream in this test context'))),
    events,
  };
}

/** Build-time services: a silent logger, no identity unless given. */
export function testServices(overrides: Partial<PolicyServices> = {}): PolicyServices {
  return {
    clock: overrides.clock ?? new ManualClock(),
    log: silentLogger,
    localIssuer: undefined,
    apiKeys: undefined,
    ...overrides,
  };
}

/**
 * Validates raw options against the policy's schema with defaults applied (as the
 * gateway's `buildPolicies` does: TypeBox `Value.Default` then `Value.Errors`) and
 * returns them; throws listing the problems when invalid.
 */
export function policyOptions<S extends TObject>(def: PolicyDefinition<S>, raw: unknown = {}): Static<S> {
  const value: unknown = Value.Default(def.schema, Value.Clone(raw ?? {}));
  const problems = [...Value.Errors(def.schema, value)];
  if (problems.length > 0) {
    throw new Error(
      `invalid ${def.name} options: ${problems
        .slice(0, 10)
        .map((p) => `${p.path || '/'} ${p.message}`)
        .join('; ')}`,
    );
  }
  return value as Static<S>;
}

/**
 * A built policy as a test drives it: `onRequest`/`onResponse` run the global hooks, then
 * the hooks `forRoute` compiled for `ctx.route` (compiled once per route object, as the
 * runtime does). `forRoute(route)` exposes the compiled hooks themselves.
 */
export interface TestPolicy {
  readonly name: string;
  readonly priority: number;
  readonly hooks: PolicyHooks;
  onRequest(ctx: RequestContext): PolicyResult | Promise<PolicyResult>;
  onResponse(ctx: RequestContext, res: ResponseContext): void | Promise<void>;
  forRoute(route: RouteInfo): RouteHooks | undefined;
}

/** {@link policyOptions} then `create`: the policy exactly as the gateway would build it. */
export function buildPolicy<S extends TObject>(
  def: PolicyDefinition<S>,
  raw: unknown,
  services: PolicyServices,
): TestPolicy {
  const hooks = def.create(policyOptions(def, raw), services);
  const compiled = new WeakMap<RouteInfo, RouteHooks | null>();
  const forRoute = (route: RouteInfo): RouteHooks | undefined => {
    if (!hooks.forRoute) return undefined;
    let h = compiled.get(route);
    if (h === undefined) {
      h = hooks.forRoute(route) ?? null;
      compiled.set(route, h);
    }
    return h ?? undefined;
  };
  return {
    name: def.name,
    priority: def.priority,
    hooks,
    forRoute,
    onRequest(ctx) {
      const global = hooks.onRequest?.(ctx);
      if (global !== undefined) return global;
      const route = ctx.route ? forRoute(ctx.route) : undefined;
      return route?.onRequest?.(ctx);
    },
    onResponse(ctx, res) {
      const route = ctx.route ? forRoute(ctx.route) : undefined;
      const r = route?.onResponse?.(ctx, res);
      if (r) return r.then(() => hooks.onResponse?.(ctx, res));
      return hooks.onResponse?.(ctx, res);
    },
  };
}
