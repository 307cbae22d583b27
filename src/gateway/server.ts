import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from '../core/clock.ts';
import { problem, PROBLEM_CONTENT_TYPE, type Problem, type ProblemCode } from '../core/errors.ts';
import type { RampartEvent } from '../core/events.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { OpenApiDocument } from '../core/openapi.ts';
import type { Dispatcher, Pool } from 'undici';
import { Chain, type RequestOutcome } from './chain.ts';
import { Exchange, type ExchangeHost } from './exchange.ts';
import type { ApiConfig, LimitsConfig, RampartConfig } from './config.ts';
import { IpMatcher, clientAddress } from './ip.ts';
import { checkRequestTarget } from './path.ts';
import type { Denial, Policy, RequestContext, ResponseContext, RouteMatch } from './policy.ts';
import { Router, type RouteResult } from './router.ts';
import { TLS13_OPTIONS, checkExpiry, type CertPair } from './tls.ts';
import { Upstreams, upstreamHeaders } from './upstream.ts';

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
  readonly forwardedHeader: boolean;
  readonly mounts: Mount[];
  readonly versionInfo = new Map<
    string,
    LoadedVersion & { api: string; apiConfig: ApiConfig; pool: Pool; upstreamBase: string }
  >();
  inflight = 0;
  private drained: (() => void) | undefined;

  constructor(input: RuntimeInput) {
    this.limits = input.config.limits;
    this.forwardedHeader = input.config.forwardedHeader;
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
  /** The upstream exchange, once the request is forwarded. */
  exchange: Exchange<Context> | undefined = undefined;
  /** Why the request target was refused (answered 400 after the pre-routing policies). */
  badPath: string | undefined = undefined;
  /** The router's answer for a valid target. */
  result: RouteResult | undefined = undefined;
  constructor(
    /** The runtime (routes, chain, pools) this request started with; kept across a reload. */
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
  ) {}
}

/**
 * The gateway: HTTPS (TLS 1.3 only) listener, optional plain-HTTP redirect listener,
 * routing by OpenAPI templates, the policy chain, and forwarding over keep-alive pools.
 */
export class Gateway implements ExchangeHost<Context> {
  private runtime: Runtime;
  readonly clock: Clock;
  readonly log: Logger;
  readonly emitEvent: (e: RampartEvent) => void;
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
    const peer = req.socket.remoteAddress ?? '';
    const trustedPeer = rt.trusted.size > 0 && rt.trusted.has(peer);
    const ip = trustedPeer ? clientAddress(req.headers['x-forwarded-for'], peer, rt.trusted) : peer;
    const target = checkRequestTarget(req.url ?? '');
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
    if (target.ok) {
      const result = rt.router.match(ctx.method, target.path);
      if (result.kind === 'match') ctx.route = result.route;
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

  /**
   * The request path. Synchronous as long as every step is (no body to read, no
   * asynchronous policy): a promise is only created where something has to wait.
   */
  private process(ctx: Context): void | Promise<void> {
    const { rt, req, res } = ctx;
    // Body first (bounded), so a denial never leaves an unread body on a keep-alive socket.
    if (hasBody(req)) {
      return readBody(req, rt.limits.maxBodyBytes).then((read) => {
        if (read.problem) {
          res.shouldKeepAlive = false;
          return this.finishLocal(ctx, { problem: read.problem }, 0);
        }
        ctx.body = read.body;
        return this.preRouting(ctx);
      });
    }
    return this.preRouting(ctx);
  }

  private preRouting(ctx: Context): void | Promise<void> {
    const chain = ctx.rt.chain;
    const outcome = chain.runRequest(ctx, 0, chain.routeIndex);
    if (outcome instanceof Promise) return outcome.then((o) => this.route(ctx, o));
    return this.route(ctx, outcome);
  }

  private route(ctx: Context, outcome: RequestOutcome): void | Promise<void> {
    const { rt, result } = ctx;
    const chain = rt.chain;
    if (outcome.denial) return this.deny(ctx, outcome);
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
    const routed = chain.runRequest(ctx, chain.routeIndex, chain.policies.length);
    if (routed instanceof Promise) return routed.then((o) => this.forwardUnlessDenied(ctx, o));
    return this.forwardUnlessDenied(ctx, routed);
  }

  private forwardUnlessDenied(ctx: Context, outcome: RequestOutcome): void | Promise<void> {
    if (outcome.denial) return this.deny(ctx, outcome);
    this.forward(ctx);
  }

  private async serveMount(ctx: Context, m: Mount): Promise<void> {
    const chain = ctx.rt.chain;
    const res = ctx.res;
    // The pre-routing policies that ran (request id, security headers, CORS) set their
    // response headers now; the mounted handler may override them with its own.
    const pre: ResponseContext = { status: 200, headers: {}, body: undefined, local: true };
    const r = chain.runResponse(ctx, pre, chain.routeIndex);
    if (r) await r;
    for (const k in ctx.responseHeaders) pre.headers[k] = ctx.responseHeaders[k];
    for (const k in pre.headers) res.setHeader(k, pre.headers[k]!);
    await m.handle(ctx.req, res, ctx.body, ctx.ip);
    this.emitRequest(ctx, res.statusCode, m.prefix + '/*');
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
    const r = ctx.rt.chain.runResponse(ctx, resCtx, ran);
    if (r) await r;
    this.write(ctx, resCtx, resCtx.body);
  }

  private forward(ctx: Context): void {
    const rt = ctx.rt;
    const v = rt.versionInfo.get((ctx.result as Extract<RouteResult, { kind: 'match' }>).versionKey)!;
    const path = (v.stripBase ? ctx.route!.path : ctx.path) + (ctx.query ? '?' + ctx.query : '');
    const body = ctx.body;
    const exchange = new Exchange(this, rt.chain, ctx, ctx.res, v.api);
    ctx.exchange = exchange;
    v.pool.dispatch(
      {
        path: v.upstreamBase + path,
        method: ctx.method as Dispatcher.HttpMethod,
        headers: upstreamHeaders(ctx, ctx.upstreamHeaders, body ? body.length : 0, rt.forwardedHeader),
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
    if (!res.headersSent) this.sendRaw(res, problem('internal', { request_id: ctx.id }), {});
    else res.destroy();
  }

  /** Writes a response after its response phase (ExchangeHost). */
  write(ctx: Context, resCtx: ResponseContext, body: Buffer | undefined): void {
    const res = ctx.res;
    const headers = resCtx.headers;
    const extra = ctx.responseHeaders;
    for (const k in extra) headers[k] = extra[k];
    if (body !== undefined) headers['content-length'] = String(body.length);
    if (ctx.method === 'HEAD' && resCtx.local) body = undefined;
    res.writeHead(resCtx.status, headers as http.OutgoingHttpHeaders);
    if (body !== undefined) res.end(body);
    this.emitRequest(ctx, resCtx.status, ctx.route?.template ?? '(unmatched)');
  }

  private emitRequest(ctx: RequestContext, status: number, route: string): void {
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
