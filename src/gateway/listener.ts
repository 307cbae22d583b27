/**
 * Step 1 of the request path: the listeners. node:http(s) parses the request (Node's
 * strict parser), `clientError` answers what it refuses, the TLS 1.3 context and the
 * plain-HTTP redirect live here, and every parsed request goes to the pipeline with the
 * current runtime. Reload swaps the runtime; shutdown drains it.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from '../core/clock.ts';
import { problem, PROBLEM_CONTENT_TYPE, type ProblemCode } from '../core/errors.ts';
import type { RampartEvent } from '../core/events.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { RampartConfig } from './config.ts';
import { RequestFraming, closeAfterAccepted } from './framing.ts';
import { hostnameOf, validHost } from './host.ts';
import { checkRequestTarget } from './path.ts';
import { Pipeline, sendRaw } from './pipeline.ts';
import { Runtime, type RuntimeInput } from './runtime.ts';
import type { ExchangeObserver } from '../core/observe.ts';
import { TLS13_OPTIONS, checkExpiry, type CertPair } from './tls.ts';

export type { LoadedApi, LoadedVersion, Mount, RuntimeInput } from './runtime.ts';

export interface GatewayOptions extends RuntimeInput {
  clock?: Clock;
  log?: Logger;
  emit?: (e: RampartEvent) => void;
  /** The TLS certificate; required unless listen.tls is false. */
  certificate?: CertPair;
  /** Learn mode: sees the exchanges of the APIs with `mode: learn` or `learn: true` (core/observe.ts). */
  observer?: ExchangeObserver;
}

/**
 * The gateway: HTTPS (TLS 1.3 only) listener, optional plain-HTTP redirect listener,
 * routing by OpenAPI templates, the policy chain, and forwarding over keep-alive pools.
 */
export class Gateway {
  private runtime: Runtime;
  readonly clock: Clock;
  readonly log: Logger;
  readonly emitEvent: (e: RampartEvent) => void;
  /** The request path, listener-free (pipeline.ts). */
  readonly pipeline: Pipeline;
  private main: http.Server | https.Server | undefined;
  private redirect: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  /**
   * Connections whose last accepted request said `Connection: close` (or was HTTP/1.0, or
   * was refused): later requests on them are neither forwarded nor answered.
   */
  private readonly closingSockets = new Set<Socket>();
  private closing = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  readonly secure: boolean;

  /** The framing and Host rules, bound at start like the other server-level limits. */
  private readonly framing: RequestFraming;

  private constructor(private readonly opts: GatewayOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    this.emitEvent = opts.emit ?? (() => {});
    this.runtime = new Runtime(opts);
    this.secure = opts.config.listen.tls.enabled;
    this.framing = new RequestFraming({
      maxHeaderCount: opts.config.limits.maxHeaderCount,
      acceptedHosts: opts.config.listen.acceptedHosts,
      secure: this.secure,
    });
    this.pipeline = new Pipeline({
      clock: this.clock,
      log: this.log,
      emit: this.emitEvent,
      secure: this.secure,
      // Bound at start, like the other server-level limits: a reload does not change them.
      framing: this.framing,
      ...(opts.observer ? { observer: opts.observer } : {}),
    });
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
      // framing.ts answers a missing Host on HTTP/1.1 with a problem (Node's own 400 is bare).
      requireHostHeader: false,
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
    // The global connection cap (API4): Node closes connections accepted beyond it.
    if (this.opts.config.limits.maxConnections > 0)
      server.maxConnections = this.opts.config.limits.maxConnections;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => {
        this.sockets.delete(s);
        this.closingSockets.delete(s);
      });
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.clientError(err, socket));
    server.on('tlsClientError', () => {
      /* failed handshakes (TLS ≤ 1.2, bad SNI): nothing to answer */
    });
  }

  private redirectToHttps(req: IncomingMessage, res: ServerResponse): void {
    const authority = req.headers.host;
    const target = checkRequestTarget(req.url ?? '/');
    // The same Host rules as the HTTPS listener: the Location must never name a host
    // this gateway does not serve.
    if (!validHost(authority) || !target.ok) {
      res.shouldKeepAlive = false;
      sendRaw(res, problem('invalid-host', { detail: 'Invalid Host or path for an HTTPS redirect' }), {});
      return;
    }
    if (!this.framing.serves(authority)) {
      res.shouldKeepAlive = false;
      sendRaw(res, problem('misdirected-request', { detail: 'This listener does not serve that host' }), {});
      return;
    }
    const host = hostnameOf(authority);
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
    this.emitEvent({ type: 'bad-request', at: this.clock.now(), problem: code, detail: err.code ?? 'parse' });
    // Bytes after an accepted request: its answer is written in full, then the connection
    // closes (docs/architecture.md "Framing rules"); a raw 400 now would overwrite it.
    if (closeAfterAccepted(socket)) return;
    const p = problem(code, { detail });
    const body = JSON.stringify(p);
    socket.end(
      `HTTP/1.1 ${p.status} ${p.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n${body}`,
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    // A request after one that closes the connection: Node parsed it, but its answer
    // would never be written — so it must not reach an upstream either.
    if (this.closingSockets.size !== 0 && this.closingSockets.has(socket)) {
      req.resume();
      return;
    }
    this.pipeline.handle(this.runtime, req, res);
    if (!res.shouldKeepAlive) this.closingSockets.add(socket);
  }

  private watchExpiry(cert: CertPair): void {
    const tls = this.opts.config.listen.tls;
    if (!tls.enabled) return;
    const check = () => {
      const s = checkExpiry(cert.cert, tls.expiryWarningDays, this.clock);
      if (s.threshold !== undefined)
        this.log.warn(
          { subject: s.subject, notAfter: s.notAfter, daysLeft: s.daysLeft },
          'TLS certificate expires soon',
        );
      // Always: the expiry gauge is there from the start; the alert rules judge daysLeft.
      this.emitEvent({
        type: 'cert-expiry',
        at: this.clock.now(),
        subject: s.subject,
        notAfter: s.notAfter,
        daysLeft: s.daysLeft,
      });
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

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
