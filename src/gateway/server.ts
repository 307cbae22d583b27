import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from '../core/clock.ts';
import { problem, PROBLEM_CONTENT_TYPE, type Problem, type ProblemCode } from '../core/errors.ts';
import type { RampartEvent } from '../core/events.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { OpenApiDocument } from '../core/openapi.ts';
import type { Pool } from 'undici';
import { Chain } from './chain.ts';
import type { ApiConfig, LimitsConfig, RampartConfig } from './config.ts';
import { IpMatcher, clientAddress } from './ip.ts';
import { checkRequestTarget } from './path.ts';
import type { Denial, Policy, RequestContext, ResponseContext, RouteMatch } from './policy.ts';
import { Router, type RouteResult } from './router.ts';
import { TLS13_OPTIONS, checkExpiry, type CertPair } from './tls.ts';
import {
  MAX_INSPECTED_RESPONSE_BYTES,
  Upstreams,
  cleanResponseHeaders,
  looksLikeLeak,
  pump,
  readBounded,
  upstreamHeaders,
} from './upstream.ts';

const EMPTY = Buffer.alloc(0);

/** Requests reach routing (404/405) after policies below this priority. */
export const ROUTE_PRIORITY = 350;

/** A loaded API version: its config and parsed OpenAPI document. */
export interface LoadedVersion {
  base: string;
  document: OpenApiDocument;
  upstream: string;
  stripBase: boolean;
}

export interface LoadedApi {
  config: ApiConfig;
  versions: LoadedVersion[];
}

/** A handler Rampart serves itself under a path prefix (the identity service). */
export interface Mount {
  prefix: string;
  /**
   * Serves the request. The gateway has already read the body (bounded by
   * limits.maxBodyBytes) and resolved the client address behind trusted proxies.
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    clientIp: string,
  ): Promise<void>;
}

/** Everything a (re)load builds; swapped atomically on SIGHUP. */
export interface RuntimeInput {
  config: RampartConfig;
  apis: LoadedApi[];
  policies: Policy[];
  mounts?: Mount[];
}

export interface GatewayOptions extends RuntimeInput {
  clock?: Clock;
  log?: Logger;
  emit?: (e: RampartEvent) => void;
  /** The TLS certificate; required unless listen.tls is false. */
  certificate?: CertPair;
}

class Runtime {
  readonly router: Router;
  readonly chain: Chain;
  readonly upstreams: Upstreams;
  readonly trusted: IpMatcher;
  readonly limits: LimitsConfig;
  readonly mounts: Mount[];
  readonly versionInfo = new Map<
    string,
    LoadedVersion & { api: string; apiConfig: ApiConfig; pool: Pool; upstreamBase: string }
  >();
  inflight = 0;
  private drained: (() => void) | undefined;

  constructor(input: RuntimeInput) {
    this.limits = input.config.limits;
    this.trusted = new IpMatcher(input.config.trustedProxies);
    this.upstreams = new Upstreams({
      connectTimeoutMs: this.limits.upstreamConnectTimeoutMs,
      connections: 64,
    });
    const routes = [];
    for (const api of input.apis) {
      for (const v of api.versions) {
        const key = `${api.config.name} ${v.base}`;
        const u = new URL(v.upstream);
        const pool = this.upstreams.pool(u.origin, api.config.connections);
        this.versionInfo.set(key, {
          ...v,
          api: api.config.name,
          apiConfig: api.config,
          pool,
          upstreamBase: u.pathname.replace(/\/$/, ''),
        });
        routes.push({ key, api: api.config.name, base: v.base, document: v.document });
      }
    }
    this.router = new Router(routes);
    this.chain = new Chain(input.policies, ROUTE_PRIORITY);
    this.mounts = input.mounts ?? [];
  }

  enter(): void {
    this.inflight++;
  }
  leave(): void {
    if (--this.inflight === 0 && this.drained) this.drained();
  }
  /** Resolves when no request uses this runtime any more. */
  drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => (this.drained = r));
  }
  async close(): Promise<void> {
    await this.drain();
    await this.chain.close();
    await this.upstreams.close();
  }
}

class Context implements RequestContext {
  principal: RequestContext['principal'] = undefined;
  body: Buffer | undefined = undefined;
  json: unknown = undefined;
  route: RouteMatch | undefined = undefined;
  readonly upstreamHeaders: Record<string, string> = {};
  readonly responseHeaders: Record<string, string | string[]> = {};
  readonly state = new Map<string, unknown>();
  constructor(
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
  ) {}
}

/**
 * The gateway: HTTPS (TLS 1.3 only) listener, optional plain-HTTP redirect listener,
 * routing by OpenAPI templates, the policy chain, and forwarding over keep-alive pools.
 */
export class Gateway {
  private runtime: Runtime;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly emitEvent: (e: RampartEvent) => void;
  private main: http.Server | https.Server | undefined;
  private redirect: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private closing = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  readonly secure: boolean;

  private constructor(private readonly opts: GatewayOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    this.emitEvent = opts.emit ?? (() => {});
    this.runtime = new Runtime(opts);
    this.secure = opts.config.listen.tls.enabled;
  }

  /** Starts the listeners. Port 0 picks a free port (see `url`). */
  static async start(opts: GatewayOptions): Promise<Gateway> {
    const gw = new Gateway(opts);
    await gw.listen();
    return gw;
  }

  get config(): RampartConfig {
    return this.opts.config;
  }

  /** The public URL (https unless TLS is off). */
  get url(): string {
    const a = this.main!.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
    return `${this.secure ? 'https' : 'http'}://${host}:${a.port}`;
  }

  get port(): number {
    return (this.main!.address() as AddressInfo).port;
  }

  get redirectPort(): number | undefined {
    return this.redirect ? (this.redirect.address() as AddressInfo).port : undefined;
  }

  private serverOptions(): http.ServerOptions {
    const l = this.opts.config.limits;
    return {
      maxHeaderSize: l.maxHeaderBytes,
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, l.headersTimeoutMs),
      requireHostHeader: true,
      insecureHTTPParser: false,
      joinDuplicateHeaders: true,
    };
  }

  private async listen(): Promise<void> {
    const cfg = this.opts.config.listen;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    if (cfg.tls.enabled) {
      const cert = this.opts.certificate;
      if (!cert) throw new Error('listen.tls is on but no certificate was loaded');
      this.main = https.createServer(
        { ...this.serverOptions(), ...TLS13_OPTIONS, cert: cert.cert, key: cert.key },
        handler,
      );
      this.watchExpiry(cert);
    } else {
      this.main = http.createServer(this.serverOptions(), handler);
    }
    this.track(this.main);
    await listenOn(this.main, cfg.port, cfg.host);
    if (cfg.tls.enabled && cfg.http.mode === 'redirect' && cfg.http.port !== undefined) {
      this.redirect = http.createServer(this.serverOptions(), (req, res) => this.redirectToHttps(req, res));
      this.track(this.redirect);
      await listenOn(this.redirect, cfg.http.port, cfg.host);
    }
  }

  private track(server: http.Server): void {
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
    server.on('tlsClientError', () => {
      /* failed handshakes (TLS ≤ 1.2, bad SNI): nothing to answer */
    });
  }

  private redirectToHttps(req: IncomingMessage, res: ServerResponse): void {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const target = checkRequestTarget(req.url ?? '/');
    if (!/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:]+\]$/.test(host) || !target.ok) {
      this.sendRaw(res, problem('bad-request', { detail: 'Invalid Host or path for an HTTPS redirect' }), {});
      return;
    }
    const port = this.port === 443 ? '' : `:${this.port}`;
    res.writeHead(308, {
      location: `https://${host}${port}${req.url}`,
      'content-length': '0',
      'cache-control': 'no-store',
    });
    res.end();
  }

  /** Malformed HTTP the parser rejected: answer once with problem+json, then close. */
  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    let code: ProblemCode = 'bad-request';
    let detail = 'The request could not be parsed as HTTP/1.1';
    switch (err.code) {
      case 'HPE_HEADER_OVERFLOW':
        code = 'headers-too-large';
        detail = 'Request headers exceed the configured limit';
        break;
      case 'ERR_HTTP_REQUEST_TIMEOUT':
      case 'ERR_HTTP_HEADERS_TIMEOUT':
        code = 'request-timeout';
        detail = 'The request was not received in time';
        break;
      case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      case 'HPE_INVALID_TRANSFER_ENCODING':
      case 'HPE_INVALID_CONTENT_LENGTH':
      case 'HPE_INVALID_CHUNK_SIZE':
        code = 'request-smuggling';
        detail = 'Conflicting or invalid Content-Length/Transfer-Encoding';
        break;
      case 'HPE_INVALID_HEADER_TOKEN':
        code = 'invalid-header';
        detail = 'Invalid header name or value';
        break;
    }
    const p = problem(code, { detail });
    const body = JSON.stringify(p);
    this.emitEvent({ type: 'bad-request', at: this.clock.now(), problem: code, detail: err.code ?? 'parse' });
    socket.end(
      `HTTP/1.1 ${p.status} ${p.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n${body}`,
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rt = this.runtime;
    rt.enter();
    res.once('close', () => rt.leave());
    const peer = req.socket.remoteAddress ?? '';
    const trustedPeer = rt.trusted.size > 0 && rt.trusted.has(peer);
    const ip = trustedPeer ? clientAddress(req.headers['x-forwarded-for'], peer, rt.trusted) : peer;
    const target = checkRequestTarget(req.url ?? '');
    const ctx = new Context(
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
    let result: RouteResult | undefined;
    if (target.ok) {
      result = rt.router.match(ctx.method, target.path);
      if (result.kind === 'match') ctx.route = result.route;
    }
    this.process(rt, ctx, req, res, target.ok ? undefined : target.reason, result).catch((err: unknown) => {
      this.log.error({ err, requestId: ctx.id }, 'unhandled gateway error');
      if (!res.headersSent) this.sendRaw(res, problem('internal', { request_id: ctx.id }), {});
      else res.destroy();
    });
  }

  private async process(
    rt: Runtime,
    ctx: Context,
    req: IncomingMessage,
    res: ServerResponse,
    badPath: string | undefined,
    result: RouteResult | undefined,
  ): Promise<void> {
    const chain = rt.chain;
    // Body first (bounded), so a denial never leaves an unread body on a keep-alive socket.
    if (hasBody(req)) {
      const read = await readBody(req, rt.limits.maxBodyBytes);
      if (read.problem) {
        res.shouldKeepAlive = false;
        return this.finishLocal(rt, ctx, res, { problem: read.problem }, 0);
      }
      ctx.body = read.body;
    }
    let outcome = chain.runRequest(ctx, 0, chain.routeIndex);
    if (outcome instanceof Promise) outcome = await outcome;
    if (outcome.denial) return this.deny(rt, ctx, res, outcome.denial, outcome.policy!, outcome.ran);

    if (badPath !== undefined) {
      return this.finishLocal(
        rt,
        ctx,
        res,
        { problem: problem('invalid-path', { detail: badPath }) },
        chain.routeIndex,
      );
    }
    for (const m of rt.mounts) {
      if (ctx.path === m.prefix || ctx.path.startsWith(m.prefix + '/')) {
        // The pre-routing policies that ran (request id, security headers, CORS) set their
        // response headers now; the mounted handler may override them with its own.
        const pre: ResponseContext = { status: 200, headers: {}, body: undefined, local: true };
        const r = chain.runResponse(ctx, pre, chain.routeIndex);
        if (r) await r;
        for (const k in ctx.responseHeaders) pre.headers[k] = ctx.responseHeaders[k];
        for (const k in pre.headers) res.setHeader(k, pre.headers[k]!);
        await m.handle(req, res, ctx.body, ctx.ip);
        this.emitRequest(ctx, res.statusCode, m.prefix + '/*');
        return;
      }
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
      return this.finishLocal(rt, ctx, res, denial, chain.routeIndex);
    }
    outcome = chain.runRequest(ctx, chain.routeIndex, chain.policies.length);
    if (outcome instanceof Promise) outcome = await outcome;
    if (outcome.denial) return this.deny(rt, ctx, res, outcome.denial, outcome.policy!, outcome.ran);
    return this.forward(rt, ctx, res, result.versionKey);
  }

  private deny(
    rt: Runtime,
    ctx: Context,
    res: ServerResponse,
    denial: Denial,
    policy: string,
    ran: number,
  ): Promise<void> {
    if (denial.answer) return this.finishLocal(rt, ctx, res, denial, ran);
    const code = denial.problem.type.slice(denial.problem.type.lastIndexOf('/') + 1);
    this.emitEvent({
      type: 'denied',
      at: this.clock.now(),
      requestId: ctx.id,
      ip: ctx.ip,
      policy,
      problem: code,
      ...(ctx.route ? { route: ctx.route.template } : {}),
      ...(ctx.principal ? { principal: ctx.principal.id } : {}),
    });
    return this.finishLocal(rt, ctx, res, denial, ran);
  }

  /** Answers with a problem; policies that ran see the response first. */
  private async finishLocal(
    rt: Runtime,
    ctx: Context,
    res: ServerResponse,
    denial: Denial,
    ran: number,
  ): Promise<void> {
    const p: Problem = { ...denial.problem, request_id: ctx.id };
    const resCtx: ResponseContext = denial.answer
      ? { status: p.status, headers: { ...denial.headers }, body: EMPTY, local: true }
      : {
          status: p.status,
          headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...denial.headers },
          body: Buffer.from(JSON.stringify(p)),
          local: true,
        };
    const r = rt.chain.runResponse(ctx, resCtx, ran);
    if (r) await r;
    this.write(ctx, res, resCtx, resCtx.body);
  }

  private async forward(rt: Runtime, ctx: Context, res: ServerResponse, versionKey: string): Promise<void> {
    const v = rt.versionInfo.get(versionKey)!;
    const pool = v.pool;
    const upstreamBase = v.upstreamBase;
    const path = (v.stripBase ? ctx.route!.path : ctx.path) + (ctx.query ? '?' + ctx.query : '');
    const body = ctx.body;
    let up;
    try {
      up = await pool.request({
        path: upstreamBase + path,
        method: ctx.method as 'GET',
        headers: upstreamHeaders(ctx, ctx.upstreamHeaders, body ? body.length : 0),
        body: body ?? null,
        headersTimeout: rt.limits.upstreamResponseTimeoutMs,
        bodyTimeout: rt.limits.upstreamResponseTimeoutMs,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const code: ProblemCode =
        e.code === 'UND_ERR_CONNECT_TIMEOUT' || e.code === 'UND_ERR_HEADERS_TIMEOUT'
          ? 'gateway-timeout'
          : e.code === 'ECONNREFUSED' || e.code === 'UND_ERR_CLOSED' || e.code === 'UND_ERR_DESTROYED'
            ? 'upstream-unavailable'
            : 'bad-gateway';
      this.log.warn(
        { requestId: ctx.id, api: v.api, code: e.code, msg: e.message },
        'upstream request failed',
      );
      this.emitEvent({
        type: 'upstream-error',
        at: this.clock.now(),
        requestId: ctx.id,
        api: v.api,
        reason: e.code ?? 'error',
      });
      return this.finishLocal(
        rt,
        ctx,
        res,
        { problem: problem(code, { detail: 'The upstream API did not answer' }) },
        Number.MAX_SAFE_INTEGER,
      );
    }
    const headers = up.headers as Record<string, string | string[]>;
    cleanResponseHeaders(headers);
    const resCtx: ResponseContext = { status: up.statusCode, headers, body: undefined, local: false };
    const isServerError = up.statusCode >= 500;
    if (rt.chain.needsResponseBody || isServerError) {
      let buffered: Buffer | undefined;
      try {
        buffered = await readBounded(up.body, MAX_INSPECTED_RESPONSE_BYTES);
      } catch (err) {
        this.log.warn({ requestId: ctx.id, err: (err as Error).message }, 'upstream body failed');
        return this.finishLocal(
          rt,
          ctx,
          res,
          { problem: problem('bad-gateway', { detail: 'The upstream response was cut short' }) },
          Number.MAX_SAFE_INTEGER,
        );
      }
      if (buffered === undefined) {
        this.log.warn(
          { requestId: ctx.id, api: v.api, status: up.statusCode },
          'upstream response too large to inspect',
        );
        return this.finishLocal(
          rt,
          ctx,
          res,
          { problem: problem('bad-gateway', { detail: 'The upstream response is too large to pass on' }) },
          Number.MAX_SAFE_INTEGER,
        );
      }
      resCtx.body = buffered;
      if (isServerError && looksLikeLeak(resCtx.body.toString('utf8', 0, 65536))) {
        this.log.warn(
          {
            requestId: ctx.id,
            api: v.api,
            status: up.statusCode,
            upstreamBody: resCtx.body.toString('utf8', 0, 4096),
          },
          'replaced an upstream error body that leaked internals',
        );
        this.emitEvent({
          type: 'upstream-error',
          at: this.clock.now(),
          requestId: ctx.id,
          api: v.api,
          status: up.statusCode,
          reason: 'leaky-error-body',
        });
        return this.finishLocal(
          rt,
          ctx,
          res,
          {
            problem: problem('upstream-error', {
              status: up.statusCode,
              detail: 'The upstream API failed; quote the request id when reporting it',
            }),
          },
          Number.MAX_SAFE_INTEGER,
        );
      }
    }
    const r = rt.chain.runResponse(ctx, resCtx, Number.MAX_SAFE_INTEGER);
    if (r) await r;
    // write() sets Content-Length for a buffered body (hop-by-hop framing was removed above).
    this.write(ctx, res, resCtx, resCtx.body);
    if (resCtx.body === undefined) pump(up.body, res);
  }

  private write(ctx: Context, res: ServerResponse, resCtx: ResponseContext, body: Buffer | undefined): void {
    const headers = resCtx.headers;
    const extra = ctx.responseHeaders;
    for (const k in extra) headers[k] = extra[k];
    if (body !== undefined) headers['content-length'] = String(body.length);
    if (ctx.method === 'HEAD' && resCtx.local) body = undefined;
    res.writeHead(resCtx.status, headers as http.OutgoingHttpHeaders);
    if (body !== undefined) res.end(body);
    this.emitRequest(ctx, resCtx.status, ctx.route?.template ?? '(unmatched)');
  }

  private emitRequest(ctx: Context, status: number, route: string): void {
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
      durationMs: this.clock.now() - ctx.startedAt,
      principal: ctx.principal?.id,
    });
  }

  /** Last-resort writer that bypasses the chain (used when the chain itself failed). */
  private sendRaw(res: ServerResponse, p: Problem, headers: Record<string, string>): void {
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

  private watchExpiry(cert: CertPair): void {
    const tls = this.opts.config.listen.tls;
    if (!tls.enabled) return;
    const check = () => {
      const s = checkExpiry(cert.cert, tls.expiryWarningDays, this.clock);
      if (s.threshold !== undefined) {
        this.log.warn(
          { subject: s.subject, notAfter: s.notAfter, daysLeft: s.daysLeft },
          'TLS certificate expires soon',
        );
        this.emitEvent({
          type: 'cert-expiry',
          at: this.clock.now(),
          subject: s.subject,
          notAfter: s.notAfter,
          daysLeft: s.daysLeft,
        });
      }
    };
    check();
    this.expiryTimer = setInterval(check, 12 * 3_600_000);
    this.expiryTimer.unref();
  }

  /**
   * Swaps in a new runtime (routes, policies, upstreams) without dropping a request:
   * requests in flight finish on the old one, which is closed once drained.
   * Listener changes (ports, TLS files) apply the certificate only.
   */
  async reload(input: RuntimeInput & { certificate?: CertPair }): Promise<void> {
    const next = new Runtime(input);
    const old = this.runtime;
    this.runtime = next;
    if (input.certificate && this.main instanceof https.Server) {
      this.main.setSecureContext({
        ...TLS13_OPTIONS,
        cert: input.certificate.cert,
        key: input.certificate.key,
      });
    }
    (this.opts as { config: RampartConfig }).config = input.config;
    void old.close().catch((err: unknown) => this.log.warn({ err }, 'closing the previous runtime failed'));
  }

  /** Graceful shutdown: stop accepting, let in-flight requests finish (up to `graceMs`), then close. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    const servers = [this.main, this.redirect].filter((s): s is http.Server => s !== undefined);
    const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of servers) s.closeIdleConnections();
    const rt = this.runtime;
    const timer = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    timer.unref();
    await rt.drain();
    for (const s of servers) s.closeIdleConnections();
    await closed;
    clearTimeout(timer);
    await rt.close();
  }
}

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3).
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads the whole body up to `max` bytes; 413 beyond (checked on Content-Length first). */
function readBody(req: IncomingMessage, max: number): Promise<{ body?: Buffer; problem?: Problem }> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    req.resume();
    return Promise.resolve({
      problem: problem('payload-too-large', { detail: `Request bodies are limited to ${max} bytes` }),
    });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        resolve({
          problem: problem('payload-too-large', { detail: `Request bodies are limited to ${max} bytes` }),
        });
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        resolve({ problem: problem('bad-request', { detail: 'The request body was cut short' }) });
      }
    });
  });
}

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
