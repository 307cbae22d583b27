/**
 * The policy contract (v2). A policy is a folder `src/gateway/policies/<name>/` whose
 * `index.ts` exports `definePolicy({ name, priority, schema, xRampart?, create })`:
 *
 * - `schema`: the TypeBox schema of its options under `policies.<name>` in rampart.yaml,
 *   validated by the config loader (file:line:column, pointer, did-you-mean).
 * - `xRampart`: every `x-rampart` key it reads, with its schema (validated when an OpenAPI
 *   document loads; unknown keys are errors).
 * - `create(options, services)` returns only hooks: global `onRequest`/`onResponse` for
 *   policies below the routing priority, `forRoute(route)` for the others — called once per
 *   operation when the runtime is built; `undefined` leaves the policy out of that
 *   operation's chain.
 *
 * Per-request scratch state is typed by declaration merging:
 * ```ts
 * declare module '../../policy.ts' { interface PolicyState { myPolicy: MyState } }
 * ctx.state.myPolicy = { … };
 * ```
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Clock } from '../core/clock.ts';
import type { Problem } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { OpenApiDocument, OpenApiOperation, XRampartProblem } from '../core/openapi.ts';
import type { ApiKeyVerifier, LocalTokenIssuer, Principal } from '../core/auth.ts';
import type { RampartEvent } from '../core/events.ts';
import type { CounterStore } from '../core/counters.ts';
import type { Resolve } from '../core/ssrf.ts';

export type { Principal };

/** A version's lifecycle as rampart.yaml declares it (`apis[].versions[]`): the one home of that fact. */
export interface VersionLifecycle {
  /** Deprecation instant (YYYY-MM-DD or RFC 3339 date-time), RFC 9745. */
  readonly deprecated?: string;
  /** Sunset instant (YYYY-MM-DD or RFC 3339 date-time), RFC 8594. */
  readonly sunset?: string;
  /** Base path of the successor version, e.g. `/v2`. */
  readonly successor?: string;
  /** Deprecation policy or changelog URL (`Link rel="deprecation"`). */
  readonly deprecationLink?: string;
  /** Sunset notice URL (`Link rel="sunset"`). */
  readonly sunsetLink?: string;
}

/** One operation of one API version, as known when the runtime is built (what `forRoute` sees). */
export interface RouteInfo {
  api: string;
  /** Base path of the version, e.g. `/v2`. */
  base: string;
  /** `info.version` of the document. */
  version: string;
  /** Path template from the document, e.g. `/orders/{orderId}`. */
  template: string;
  operation: OpenApiOperation;
  /** `x-rampart` merged from document, path and operation levels (validated when the document loaded). */
  rampart: Readonly<Record<string, unknown>>;
  /** The version's lifecycle from rampart.yaml. */
  lifecycle: VersionLifecycle;
  /** The whole document the operation belongs to (schemas, other operations). */
  document: OpenApiDocument;
}

/** The API/version/operation a request matched: the route plus what the request filled in. */
export interface RouteMatch extends RouteInfo {
  /** Path after the base, as received (normalised). */
  path: string;
  params: Record<string, string>;
}

/**
 * Per-request scratch space, typed per policy by declaration merging (hono's
 * `ContextVariableMap`). Every key is optional on the context: a policy sets its own.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PolicyState {}

/** Options of {@link RequestContext.lookup}. */
export interface LookupOptions {
  /** Query string without `?`. */
  query?: string;
  /** Extra request headers (lower-case names). */
  headers?: Record<string, string>;
  /** Send the caller's Authorization header along (default true). */
  forwardAuthorization?: boolean;
  /** Time to the complete answer; default the gateway's lookup timeout (2 s). */
  timeoutMs?: number;
  /** Largest body accepted (default 1 MiB); a bigger one rejects. */
  maxBytes?: number;
}

/** The upstream's answer to a lookup. */
export interface LookupResponse {
  status: number;
  /** Lower-case names; repeated fields are arrays. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The body parsed as JSON (throws a SyntaxError when it is not JSON). */
  json(): unknown;
}

/**
 * Why a lookup failed. A policy maps this to 503 (`upstream-unavailable`): the decision
 * cannot be made, so the request must not pass.
 */
export class LookupError extends Error {
  constructor(
    readonly code: 'unknown-operation' | 'no-route' | 'busy' | 'timeout' | 'too-large' | 'upstream',
    message: string,
  ) {
    super(message);
    this.name = 'LookupError';
  }
}

/**
 * What a policy sees of a request: a narrow, typed view, never the HTTP
 * framework's objects. Fields a policy may change are marked mutable.
 */
export interface RequestContext {
  /** Request id: generated, or taken from a trusted proxy by the request-id policy. */
  id: string;
  readonly method: string;
  /** Normalised path (percent-decoding of unreserved characters, no dot segments). */
  readonly path: string;
  /** Raw query string without `?` ('' when none). */
  readonly query: string;
  readonly headers: Readonly<IncomingHttpHeaders>;
  /** Client address: the TCP peer, or the forwarded one when the peer is a trusted proxy. */
  readonly ip: string;
  /** The TCP peer address. */
  readonly peer: string;
  /** True when the TCP peer is a configured trusted proxy. */
  readonly trustedPeer: boolean;
  readonly secure: boolean;
  readonly route: RouteMatch | undefined;
  principal: Principal | undefined;
  /** Extra headers to send upstream (lower-case names). */
  readonly upstreamHeaders: Record<string, string>;
  /** Headers to add to the response, whoever answers (lower-case names). */
  readonly responseHeaders: Record<string, string | string[]>;
  /** The request body (the gateway reads every body, bounded by `limits.maxBodyBytes`); undefined when none. */
  readonly body: Buffer | undefined;
  /**
   * The body parsed as JSON, lazily and once: `undefined` without a body or when the
   * Content-Type is not JSON. Malformed JSON (or invalid UTF-8) throws a `ProblemError`
   * `invalid-json`, which the gateway answers with 400 when a hook lets it propagate.
   */
  json(): unknown;
  readonly startedAt: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** Emits a typed event to the monitor. */
  emit(event: RampartEvent): void;
  /** Per-request scratch space, one typed key per policy (see {@link PolicyState}). */
  readonly state: Partial<PolicyState>;
  /**
   * A sub-request to the same upstream as this request's API version, through the same
   * keep-alive pool: `lookup('GET /records/{recordId}', { recordId: '7' })`. The operation is
   * resolved against the route's document; the caller's Authorization and the request id
   * are forwarded. Bounded (timeout, concurrent lookups per runtime); every failure rejects
   * with a {@link LookupError}, which the caller answers with 503.
   */
  lookup(operation: string, params: Record<string, string>, opts?: LookupOptions): Promise<LookupResponse>;
}

/** The response as policies see it in the response phase. */
export interface ResponseContext {
  status: number;
  headers: OutgoingHttpHeaders;
  /** Buffered body, when the route's chain asked for it (`needsResponseBody`); else undefined (streamed). */
  body: Buffer | undefined;
  /** True when the gateway itself produced this response (denial, error). */
  readonly local: boolean;
}

/** A request-phase result: nothing to continue, a Denial to stop with problem+json. */
export interface Denial {
  problem: Problem;
  headers?: Record<string, string>;
  /** OWASP API Security Top 10 2023 category this denial prevents (`API1:2023` …), copied to the `denied` event. */
  owasp?: string;
  /**
   * Set by `answer()`: not a denial but a complete local answer (e.g. a CORS
   * preflight): status and headers only, no problem body, no `denied` event.
   */
  answer?: true;
}

export type PolicyResult = Denial | undefined | void;

export type RequestHook = (ctx: RequestContext) => PolicyResult | Promise<PolicyResult>;
export type ResponseHook = (ctx: RequestContext, res: ResponseContext) => void | Promise<void>;

/** What a routed policy does on one operation, compiled once by `forRoute`. */
export interface RouteHooks {
  onRequest?: RequestHook;
  onResponse?: ResponseHook;
  /** Buffer this operation's upstream response body (JSON) before the response phase. */
  needsResponseBody?: boolean;
}

/** What `create()` returns: hooks only (name and priority come from the definition). */
export interface PolicyHooks {
  /** Every request (pre-routing policies, priority < routing): runs before routing. */
  onRequest?: RequestHook;
  /** Every response of a request whose request phase reached this policy. */
  onResponse?: ResponseHook;
  /**
   * Routed policies (priority ≥ routing): this policy's hooks for one operation, or
   * `undefined` when it has nothing to do there. Called once per operation per runtime.
   */
  forRoute?(route: RouteInfo): RouteHooks | undefined;
  /**
   * Upstream response headers (any case) this policy removes. The gateway drops them while
   * it parses the upstream head, so no response phase has to delete them one by one.
   */
  dropResponseHeaders?: readonly string[];
  close?(): void | Promise<void>;
}

/** A cross-reference problem found in a whole document; `path` is relative to the key's value. */
export type { XRampartProblem };

/** An `x-rampart` key with a check over the whole document (e.g. `owner.lookup` names an operation). */
export interface XRampartKey<S extends TSchema = TSchema> {
  schema: S;
  /** Runs after the document loaded and its value passed `schema`. */
  check?(value: Static<S>, document: OpenApiDocument): XRampartProblem[];
  /** `'schema'`: written on Schema Objects (properties), not on the document, path items or operations. */
  at?: 'schema';
}

/** The `x-rampart` keys a policy reads: key → schema, or schema + cross-reference check. */
export type XRampartKeys = Readonly<Record<string, TSchema | XRampartKey>>;

/** A policy kind: one folder under src/gateway/policies/<name>/ exporting this. */
export interface PolicyDefinition<S extends TObject = TObject> {
  readonly name: string;
  /** From `priorities.ts`. */
  readonly priority: number;
  /** Options under `policies.<name>` (every field described, with its default). */
  readonly schema: S;
  /** The `x-rampart` keys this policy reads. */
  readonly xRampart?: XRampartKeys;
  /** On when rampart.yaml does not mention it (default true); off with `enabled: false`. */
  readonly enabledByDefault?: boolean;
  /** Options arrive validated against `schema` with defaults applied. */
  create(options: Static<S>, services: PolicyServices): PolicyHooks;
}

/**
 * Declares a policy with its options typed from its schema (no casts).
 * @example
 * export const hello = definePolicy({
 *   name: 'hello', priority: PRIORITIES.roles, schema: Type.Object({}),
 *   xRampart: { hello: Type.Boolean() },
 *   create: () => ({ forRoute: (route) => (route.rampart.hello ? { onRequest: () => undefined } : undefined) }),
 * });
 */
export function definePolicy<S extends TObject>(definition: PolicyDefinition<S>): PolicyDefinition<S> {
  return definition;
}

/** A built policy: its definition's name and priority with the hooks `create` returned. */
export interface Policy {
  readonly name: string;
  readonly priority: number;
  readonly hooks: PolicyHooks;
}

/** Services policies get at build time. */
export interface PolicyServices {
  clock: Clock;
  log: Logger;
  /** The built-in identity service's token keys and revocation view, when identity is on. */
  localIssuer: LocalTokenIssuer | undefined;
  /** API key verification, when identity is on. */
  apiKeys: ApiKeyVerifier | undefined;
  /** Rate-limit, flow and brute-force counters: created once by the app, kept across reloads. */
  counters: CounterStore;
  /** DNS of the SSRF guard on the gateway's own fetches (JWKS, discovery); default the system's. Tests play hostile answers. */
  resolve?: Resolve;
}

/** Ends the request phase with an RFC 9457 problem. */
export function deny(problem: Problem, headers?: Record<string, string>): Denial {
  return headers ? { problem, headers } : { problem };
}

/** Ends the request phase with a bodiless local answer (status < 400), e.g. 204 for a preflight. */
export function answer(status: number, headers: Record<string, string>): Denial {
  return { problem: { type: 'about:blank', title: '', status }, headers, answer: true };
}
