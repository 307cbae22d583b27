import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { TSchema } from '@sinclair/typebox';
import type { Clock } from '../core/clock.ts';
import type { Problem } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/types.ts';
import type { OpenApiOperation } from '../core/openapi.ts';
import type { ApiKeyVerifier, LocalTokenIssuer, Principal } from '../core/auth.ts';
import type { RampartEvent } from '../core/events.ts';
import type { CounterStore } from '../core/counters.ts';

export type { Principal };

/** The API/version/operation a request matched in the OpenAPI documents. */
export interface RouteMatch {
  api: string;
  /** Base path of the version, e.g. `/v2`. */
  base: string;
  version: string;
  /** Path template from the document, e.g. `/orders/{orderId}`. */
  template: string;
  /** Path after the base, as received (normalised). */
  path: string;
  params: Record<string, string>;
  operation: OpenApiOperation;
  /** `x-rampart` extension merged from document, path and operation levels. */
  rampart: Readonly<Record<string, unknown>>;
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
  /** Request body, buffered; only present when a policy asked for it (`needsBody`). */
  body: Buffer | undefined;
  /** Parsed JSON body, when the body is JSON and a policy asked for it. */
  json: unknown;
  readonly startedAt: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** Emits a typed event to the monitor. */
  emit(event: RampartEvent): void;
  /** Per-request scratch space for policies (keyed by policy name). */
  readonly state: Map<string, unknown>;
}

/** The response as policies see it in the response phase. */
export interface ResponseContext {
  status: number;
  headers: OutgoingHttpHeaders;
  /** Buffered body, when a response policy asked for it (`needsResponseBody`); else undefined (streamed). */
  body: Buffer | undefined;
  /** True when the gateway itself produced this response (denial, error). */
  readonly local: boolean;
}

/** A request-phase result: nothing to continue, a Denial to stop with problem+json. */
export interface Denial {
  problem: Problem;
  headers?: Record<string, string>;
  /**
   * Set by `answer()`: not a denial but a complete local answer (e.g. a CORS
   * preflight): status and headers only, no problem body, no `denied` event.
   */
  answer?: true;
}

export type PolicyResult = Denial | undefined | void;

/** Services policies get at build time. */
export interface PolicyServices {
  clock: Clock;
  log: Logger;
  db: Db | undefined;
  /** The built-in identity service's token keys and revocation view, when identity is on. */
  localIssuer: LocalTokenIssuer | undefined;
  /** API key verification, when identity is on. */
  apiKeys: ApiKeyVerifier | undefined;
  /** Rate-limit, flow and brute-force counters: created once by the app, kept across reloads. */
  counters: CounterStore;
}

/** A built policy: named closures, validated options already applied. */
export interface Policy {
  readonly name: string;
  /** Lower runs earlier in the request phase and later in the response phase. */
  readonly priority: number;
  /** Ask the gateway to buffer the request body before this policy runs. */
  readonly needsBody?: boolean;
  /** Ask the gateway to buffer the upstream response body (JSON) before the response phase. */
  readonly needsResponseBody?: boolean;
  /**
   * Upstream response headers (any case) this policy removes. The gateway drops them while
   * it parses the upstream head, so no response phase has to delete them one by one.
   */
  readonly dropResponseHeaders?: readonly string[];
  onRequest?(ctx: RequestContext): PolicyResult | Promise<PolicyResult>;
  onResponse?(ctx: RequestContext, res: ResponseContext): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** A policy kind: one folder under src/gateway/policies/<name>/ exporting this. */
export interface PolicyDefinition<S extends TSchema = TSchema> {
  name: string;
  priority: number;
  /** Config schema (every field described, with its default). */
  schema: S;
  /** Validates nothing itself: options arrive validated against `schema` with defaults applied. */
  create(options: import('@sinclair/typebox').Static<S>, services: PolicyServices): Policy;
}

/** Ends the request phase with an RFC 9457 problem. */
export function deny(problem: Problem, headers?: Record<string, string>): Denial {
  return headers ? { problem, headers } : { problem };
}

/** Ends the request phase with a bodiless local answer (status < 400), e.g. 204 for a preflight. */
export function answer(status: number, headers: Record<string, string>): Denial {
  return { problem: { type: 'about:blank', title: '', status }, headers, answer: true };
}
