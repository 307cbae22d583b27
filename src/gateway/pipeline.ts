/**
 * The request path (docs/architecture.md), without a listener: given Node's request and
 * response objects and the runtime, it checks the target, reads the body, runs the
 * pre-routing chain, routes, runs the operation's chain, forwards upstream and writes the
 * answer. The listener (listener.ts) calls `handle`; the same pipeline can run embedded
 * (a Fastify plugin, Express middleware) with the objects those frameworks hand over.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Clock } from '../core/clock.ts';
import { problem, PROBLEM_CONTENT_TYPE, ProblemError, type Problem } from '../core/errors.ts';
import type { RampartEvent } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { OBSERVE_SAMPLE_BYTES, type ExchangeObserver, type ObservedExchange } from '../core/observe.ts';
import { hasBody, isJsonType, parseJsonBody, readBody } from './body.ts';
import type { Chain, RequestOutcome } from './chain.ts';
import { Exchange, OBSERVE_BODIES, OBSERVE_HEAD, OBSERVE_NONE, type ExchangeHost } from './exchange.ts';
import type { RequestFraming } from './framing.ts';
import { clientAddress } from './ip.ts';
import { checkRequestTarget } from './path.ts';
import type {
  Denial,
  LookupOptions,
  LookupResponse,
  PolicyState,
  RequestContext,
  ResponseContext,
  RouteMatch,
} from './policy.ts';
import type { RouteResult } from './router.ts';
import type { LocalHandler, Mount, Runtime } from './runtime.ts';
import { upstreamHeaders } from './upstream.ts';

const EMPTY = Buffer.alloc(0);
const NOT_PARSED = Symbol('not parsed');

/** The gateway's RequestContext: the policy view plus what the pipeline keeps per request. */
export class Context implements RequestContext {
  principal: RequestContext['principal'] = undefined;
  body: Buffer | undefined = undefined;
  route: RouteMatch | undefined = undefined;
  readonly upstreamHeaders: Record<string, string> = {};
  readonly responseHeaders: Record<string, string | string[]> = {};
  readonly state: Partial<PolicyState> = {};
  /** The chain this request runs: its operation's, or the pre-routing one when none matched. */
  chain: Chain;
  /** The upstream exchange, once the request is forwarded. */
  exchange: Exchange<Context> | undefined = undefined;
  /** Why the request target was refused (answered 400 after the pre-routing policies). */
  badPath: string | undefined = undefined;
  /** A framing or Host refusal (framing.ts), answered after the pre-routing policies. */
  refusal: Denial | undefined = undefined;
  /** An absolute-form target's authority (the X-Forwarded-Host); else the Host header is. */
  authority: string | undefined = undefined;
  /** The router's answer for a valid target. */
  result: RouteResult<Chain> | undefined = undefined;
  /** When the response head was written (epoch ms; 0 = not yet): the `request` event's ttfbMs. */
  headAt = 0;
  private parsed: unknown = NOT_PARSED;
  private parseError: unknown = undefined;
  constructor(
    /** The runtime (routes, chains, pools) this request started with; kept across a reload. */
    readonly rt: Runtime,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    public id: string,
    readonly method: string,
    readonly path: string,
    readonly query: string,
    readonly headers: IncomingMessage['headers'],
    readonly ip: string,
    readonly peer: string,
    readonly trustedPeer: boolean,
    readonly secure: boolean,
    readonly startedAt: number,
    readonly clock: Clock,
    readonly log: Logger,
    readonly emit: (e: RampartEvent) => void,
  ) {
    this.chain = rt.global;
  }

  json(): unknown {
    if (this.parsed !== NOT_PARSED) return this.parsed;
    if (this.parseError !== undefined) throw this.parseError;
    const body = this.body;
    if (body === undefined || body.length === 0 || !isJsonType(this.headers['content-type'])) {
      this.parsed = undefined;
      return undefined;
    }
    try {
      this.parsed = parseJsonBody(body);
    } catch (err) {
      this.parseError = err;
      throw err;
    }
    return this.parsed;
  }

  /** The body's JSON value when a policy already parsed it (learn mode reuses it), else undefined. */
  parsedJson(): unknown {
    return this.parsed === NOT_PARSED ? undefined : this.parsed;
  }

  lookup(operation: string, params: Record<string, string>, opts?: LookupOptions): Promise<LookupResponse> {
    return this.rt.lookup(this, operation, params, opts);
  }
}

export interface PipelineOptions {
  clock: Clock;
  log: Logger;
  emit: (e: RampartEvent) => void;
  /** Requests arrive over TLS (the listener's setting; behind a TLS-terminating proxy: false). */
  secure: boolean;
  /** The listener's framing and Host rules (framing.ts); embedded pipelines may leave them out. */
  framing?: RequestFraming;
  /** Learn mode: who sees the exchanges of the APIs that learn (core/observe.ts). */
  observer?: ExchangeObserver;
}

/**
 * Steps 1–8 of the request path. Synchronous as long as every step is (no body to read,
 * no asynchronous policy): a promise is only created where something has to wait.
 */
export class Pipeline implements ExchangeHost<Context> {
  readonly clock: Clock;
  readonly log: Logger;
  readonly emitEvent: (e: RampartEvent) => void;
  readonly secure: boolean;
  private readonly framing: RequestFraming | undefined;
  private readonly observer: ExchangeObserver | undefined;

  constructor(opts: PipelineOptions) {
    this.clock = opts.clock;
    this.log = opts.log;
    this.emitEvent = opts.emit;
    this.secure = opts.secure;
    this.framing = opts.framing;
    this.observer = opts.observer;
  }

  /** Serves one request on `rt` (the listener passes its current runtime). */
  handle(rt: Runtime, req: IncomingMessage, res: ServerResponse): void {
    rt.enter();
    const peer = req.socket.remoteAddress ?? '';
    const trustedPeer = rt.trusted.size > 0 && rt.trusted.has(peer);
    const ip = trustedPeer ? clientAddress(req.headers['x-forwarded-for'], peer, rt.trusted) : peer;
    const framed = this.framing?.check(req, res);
    let refusal: Denial | undefined;
    let authority: string | undefined;
    let url = req.url ?? '';
    if (framed !== undefined) {
      if ('problem' in framed) refusal = framed;
      else {
        authority = framed.authority;
        url = framed.target;
      }
    }
    const target = checkRequestTarget(url);
    const ctx = new Context(
      rt,
      req,
      res,
      randomUUID(),
      req.method ?? 'GET',
      target.ok ? target.path : '',
      target.ok ? target.query : '',
      req.headers,
      ip,
      peer,
      trustedPeer,
      this.secure,
      this.clock.now(),
      this.clock,
      this.log,
      this.emitEvent,
    );
    // `on`, not `once`: 'close' comes once anyway, and `once` allocates a wrapper per request.
    res.on('close', () => {
      rt.leave();
      ctx.exchange?.clientClosed();
    });
    if (refusal !== undefined) ctx.refusal = refusal;
    else if (target.ok) {
      if (authority !== undefined) ctx.authority = authority;
      const result = rt.router.match(ctx.method, target.path);
      if (result.kind === 'match') {
        ctx.route = result.route;
        ctx.chain = result.compiled;
      }
      ctx.result = result;
    } else ctx.badPath = target.reason;
    let pending: void | Promise<void>;
    try {
      pending = this.process(ctx);
    } catch (err) {
      return this.internalError(ctx, err);
    }
    if (pending) pending.catch((err: unknown) => this.internalError(ctx, err));
  }

  private process(ctx: Context): void | Promise<void> {
    const { rt, req, res } = ctx;
    // Body first (bounded), so a denial never leaves an unread body on a keep-alive socket.
    if (hasBody(req)) {
      return readBody(req, rt.limits.maxBodyBytes).then((read) => {
        if (read.problem) {
          res.shouldKeepAlive = false;
          // Refused like a framing error: the pre-routing policies (request id, security
          // headers, CORS) still run, so the 413 carries their headers and the monitor sees it.
          ctx.refusal ??= { problem: read.problem };
          return this.preRouting(ctx);
        }
        ctx.body = read.body;
        return this.preRouting(ctx);
      });
    }
    return this.preRouting(ctx);
  }

  private preRouting(ctx: Context): void | Promise<void> {
    const chain = ctx.chain;
    const outcome = chain.runRequest(ctx, 0, chain.routeIndex);
    if (outcome instanceof Promise) return outcome.then((o) => this.route(ctx, o));
    return this.route(ctx, outcome);
  }

  private route(ctx: Context, outcome: RequestOutcome): void | Promise<void> {
    const { rt, result, chain } = ctx;
    if (outcome.denial) return this.deny(ctx, outcome);
    if (ctx.refusal !== undefined) {
      // Framing and Host refusals are probes more often than mistakes: the monitor sees each.
      const type = ctx.refusal.problem.type;
      this.emitEvent({
        type: 'bad-request',
        at: ctx.startedAt,
        requestId: ctx.id,
        ip: ctx.ip,
        problem: type.slice(type.lastIndexOf('/') + 1),
        detail: ctx.refusal.problem.detail,
      });
      return this.finishLocal(ctx, ctx.refusal, chain.routeIndex);
    }
    if (ctx.badPath !== undefined) {
      return this.finishLocal(
        ctx,
        { problem: problem('invalid-path', { detail: ctx.badPath }) },
        chain.routeIndex,
      );
    }
    for (const m of rt.mounts) {
      if (ctx.path === m.prefix || ctx.path.startsWith(m.prefix + '/')) return this.serveMount(ctx, m);
    }
    if (!result || result.kind !== 'match') {
      // Unknown paths and undeclared methods: shadow-endpoint attempts (API9).
      const unknown = !result || result.kind === 'not-found';
      this.emitEvent({
        type: 'shadow-endpoint',
        at: ctx.startedAt,
        requestId: ctx.id,
        ip: ctx.ip,
        method: ctx.method,
        path: ctx.path.slice(0, 256),
        reason: unknown ? 'unknown-path' : 'method-not-allowed',
      });
      const denial: Denial = unknown
        ? { problem: problem('not-found', { detail: 'No API operation matches this path' }) }
        : {
            problem: problem('method-not-allowed', { detail: `${ctx.method} is not declared for this path` }),
            headers: { allow: result.allow },
          };
      return this.finishLocal(ctx, denial, chain.routeIndex);
    }
    const routed = chain.runRequest(ctx, chain.routeIndex, chain.length);
    if (routed instanceof Promise) return routed.then((o) => this.forwardUnlessDenied(ctx, o));
    return this.forwardUnlessDenied(ctx, routed);
  }

  private forwardUnlessDenied(ctx: Context, outcome: RequestOutcome): void | Promise<void> {
    if (outcome.denial) return this.deny(ctx, outcome);
    return this.forward(ctx);
  }

  /**
   * An in-process version's handler answers in place of the upstream: its answer goes through
   * the response phase of the whole chain like an upstream response; a `ProblemError` it
   * throws is answered as a problem (the response phase sees that too).
   */
  private async serveLocal(ctx: Context, handler: LocalHandler): Promise<void> {
    let answer;
    try {
      answer = await handler(ctx);
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      const denial: Denial = Object.keys(err.headers).length
        ? { problem: err.problem, headers: err.headers }
        : { problem: err.problem };
      return this.finishLocal(ctx, denial, Number.MAX_SAFE_INTEGER);
    }
    if ('stream' in answer) {
      const resCtx: ResponseContext = { status: 200, headers: {}, body: undefined, local: false };
      const r = ctx.chain.runResponse(ctx, resCtx, Number.MAX_SAFE_INTEGER);
      if (r) await r;
      const res = ctx.res;
      for (const k in resCtx.headers) res.setHeader(k, resCtx.headers[k]!);
      for (const k in ctx.responseHeaders) res.setHeader(k, ctx.responseHeaders[k]!);
      ctx.headAt = this.clock.now();
      this.emitRequest(ctx, 200, ctx.route?.template ?? '(unmatched)', 0);
      answer.stream(ctx.req, res);
      return;
    }
    const raw = answer.body;
    const body =
      answer.status === 204 || raw === undefined
        ? EMPTY
        : Buffer.isBuffer(raw)
          ? raw
          : Buffer.from(JSON.stringify(raw));
    const headers: OutgoingHttpHeaders = { ...answer.headers };
    if (body.length > 0 && headers['content-type'] === undefined)
      headers['content-type'] = 'application/json';
    const resCtx: ResponseContext = { status: answer.status, headers, body, local: false };
    const r = ctx.chain.runResponse(ctx, resCtx, Number.MAX_SAFE_INTEGER);
    if (r) await r;
    this.write(ctx, resCtx, resCtx.body ?? EMPTY);
  }

  private async serveMount(ctx: Context, m: Mount): Promise<void> {
    const chain = ctx.chain;
    const res = ctx.res;
    // The pre-routing policies that ran (request id, security headers, CORS) set their
    // response headers now; the mounted handler may override them with its own.
    const pre: ResponseContext = { status: 200, headers: {}, body: undefined, local: true };
    const r = chain.runResponse(ctx, pre, chain.routeIndex);
    if (r) await r;
    for (const k in ctx.responseHeaders) pre.headers[k] = ctx.responseHeaders[k];
    for (const k in pre.headers) res.setHeader(k, pre.headers[k]!);
    await m.handle(ctx.req, res, ctx.body, ctx.ip);
    this.emitRequest(ctx, res.statusCode, m.prefix + '/*', Number(res.getHeader('content-length') ?? 0) || 0);
  }

  private deny(ctx: Context, outcome: RequestOutcome): Promise<void> {
    const denial = outcome.denial!;
    if (denial.answer) return this.finishLocal(ctx, denial, outcome.ran);
    const code = denial.problem.type.slice(denial.problem.type.lastIndexOf('/') + 1);
    this.emitEvent({
      type: 'denied',
      at: this.clock.now(),
      requestId: ctx.id,
      ip: ctx.ip,
      policy: outcome.policy!,
      problem: code,
      ...(ctx.route ? { route: ctx.route.template } : {}),
      ...(ctx.principal ? { principal: ctx.principal.id } : {}),
      ...(denial.owasp ? { owasp: denial.owasp } : {}),
    });
    if (code === 'insufficient-user-authentication')
      this.emitEvent({
        type: 'mfa',
        at: this.clock.now(),
        requestId: ctx.id,
        ip: ctx.ip,
        outcome: 'step-up-required',
        ...(ctx.route ? { route: ctx.route.template } : {}),
        ...(ctx.principal ? { principal: ctx.principal.id } : {}),
      });
    return this.finishLocal(ctx, denial, outcome.ran);
  }

  /** Answers with a problem; policies that ran see the response first. */
  private async finishLocal(ctx: Context, denial: Denial, ran: number): Promise<void> {
    const p: Problem = { ...denial.problem, request_id: ctx.id };
    const resCtx: ResponseContext = denial.answer
      ? { status: p.status, headers: { ...denial.headers }, body: EMPTY, local: true }
      : {
          status: p.status,
          headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...denial.headers },
          body: Buffer.from(JSON.stringify(p)),
          local: true,
        };
    const r = ctx.chain.runResponse(ctx, resCtx, ran);
    if (r) await r;
    this.write(ctx, resCtx, resCtx.body);
  }

  private forward(ctx: Context): void | Promise<void> {
    const rt = ctx.rt;
    const v = rt.versionInfo.get((ctx.result as Extract<RouteResult<Chain>, { kind: 'match' }>).versionKey)!;
    if (v.local) return this.serveLocal(ctx, v.local);
    const path = (v.stripBase ? ctx.route!.path : ctx.path) + (ctx.query ? '?' + ctx.query : '');
    const body = ctx.body;
    // Learn mode: one comparison for the APIs that do not learn; bodies of a sampled share only.
    const sample = v.learnSample;
    const observe =
      sample === undefined || this.observer === undefined
        ? OBSERVE_NONE
        : sample >= 1 || Math.random() < sample
          ? OBSERVE_BODIES
          : OBSERVE_HEAD;
    const exchange = new Exchange(
      this,
      ctx.chain,
      rt.policies.droppedResponseHeaders,
      ctx,
      ctx.res,
      v.api,
      observe,
    );
    ctx.exchange = exchange;
    v.pool!.dispatch(
      {
        path: v.upstreamBase + path,
        method: ctx.method as Dispatcher.HttpMethod,
        headers: upstreamHeaders(
          ctx,
          ctx.upstreamHeaders,
          body ? body.length : 0,
          rt.forwardedHeader,
          v.drops,
        ),
        body: body ?? null,
        headersTimeout: rt.limits.upstreamResponseTimeoutMs,
        bodyTimeout: rt.limits.upstreamResponseTimeoutMs,
      },
      exchange,
    );
  }

  /** ExchangeHost: a gateway problem in place of the upstream response. */
  answer(ctx: Context, denial: Denial): void {
    this.finishLocal(ctx, denial, Number.MAX_SAFE_INTEGER).catch((err: unknown) =>
      this.internalError(ctx, err),
    );
  }

  /** ExchangeHost and the request path: a failure of the gateway itself (a policy threw). */
  internalError(ctx: Context, err: unknown): void {
    const res = ctx.res;
    this.log.error({ err, requestId: ctx.id }, 'unhandled gateway error');
    if (!res.headersSent) sendRaw(res, problem('internal', { request_id: ctx.id }), {});
    else res.destroy();
  }

  /** Writes a response after its response phase (ExchangeHost). */
  write(ctx: Context, resCtx: ResponseContext, body: Buffer | undefined): void {
    const res = ctx.res;
    const headers = resCtx.headers;
    const extra = ctx.responseHeaders;
    for (const k in extra) headers[k] = extra[k];
    // RFC 9110 §8.6: no Content-Length on 204 (an in-process answer may be one).
    if (body !== undefined && resCtx.status !== 204) headers['content-length'] = String(body.length);
    if (ctx.method === 'HEAD' && resCtx.local) body = undefined;
    res.writeHead(resCtx.status, headers as OutgoingHttpHeaders);
    ctx.headAt = this.clock.now();
    if (body === undefined && ctx.exchange !== undefined && !resCtx.local) return; // streamed: completed() reports it
    if (body !== undefined) res.end(body);
    this.emitRequest(ctx, resCtx.status, ctx.route?.template ?? '(unmatched)', body ? body.length : 0);
  }

  /** ExchangeHost, learn mode: hands the finished exchange to the observer (which only enqueues). */
  observed(
    ctx: Context,
    status: number,
    headers: ResponseContext['headers'],
    body: Buffer | readonly Buffer[] | undefined,
    truncated: boolean,
  ): void {
    const route = ctx.route!;
    const sampled = body !== undefined || truncated;
    const reqBody = ctx.body;
    const reqFits = reqBody !== undefined && reqBody.length <= OBSERVE_SAMPLE_BYTES;
    this.observer!.observe({
      api: route.api,
      base: route.base,
      method: ctx.method,
      target: ctx.query ? `${route.path}?${ctx.query}` : route.path,
      requestHeaders: ctx.headers,
      status,
      responseHeaders: headers as ObservedExchange['responseHeaders'],
      requestBody: sampled && reqFits ? reqBody : undefined,
      requestBodyTruncated: sampled && reqBody !== undefined && !reqFits,
      requestJson: sampled && reqFits ? ctx.parsedJson() : undefined,
      responseBody: body,
      responseBodyTruncated: truncated,
    });
  }

  /** ExchangeHost, learn mode: an observed exchange's upstream was down. */
  observedDown(ctx: Context, reason: string): void {
    this.observer!.upstreamDown?.(ctx.route!.api, ctx.route!.base, reason);
  }

  /** ExchangeHost: a streamed upstream body ended (or broke off) after `bytesOut` bytes. */
  completed(ctx: Context, bytesOut: number): void {
    this.emitRequest(ctx, ctx.res.statusCode, ctx.route?.template ?? '(unmatched)', bytesOut);
  }

  private emitRequest(ctx: Context, status: number, route: string, bytesOut = 0): void {
    const now = this.clock.now();
    // The route's last path parameter (`/records/{recordId}` → its value): object-enumeration rules.
    let objectId: string | undefined;
    const params = ctx.route?.params;
    if (params !== undefined) for (const k in params) objectId = params[k];
    const p = ctx.principal;
    this.emitEvent({
      type: 'request',
      at: ctx.startedAt,
      requestId: ctx.id,
      ip: ctx.ip,
      method: ctx.method,
      route,
      // One fixed shape (no conditional spreads): this runs for every request.
      api: ctx.route?.api,
      version: ctx.route?.base,
      status,
      durationMs: now - ctx.startedAt,
      ttfbMs: (ctx.headAt || now) - ctx.startedAt,
      bytesIn: ctx.body ? ctx.body.length : 0,
      bytesOut,
      principal: p?.id,
      apiKeyId: p?.kind === 'api-key' ? (p.claims.key_id as string | undefined) : undefined,
      objectId,
    });
  }
}

/** Last-resort writer that bypasses the chain (used when the chain itself failed). */
export function sendRaw(res: ServerResponse, p: Problem, headers: Record<string, string>): void {
  const body = JSON.stringify(p);
  res.writeHead(p.status, {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}
