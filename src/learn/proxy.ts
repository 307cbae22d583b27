import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { PROBLEM_CONTENT_TYPE, problem, type ProblemCode } from '../core/errors.ts';
import { HOP_BY_HOP, connectionListed } from '../core/hop-by-hop.ts';
import type { Exchange, Learner } from './learner.ts';
import { ObserveQueue } from './queue.ts';

/**
 * The learning proxy: forwards every request to one upstream (nothing is blocked, undeclared
 * paths included), copies at most `maxSampleBytes` of a sampled exchange's bodies on the side,
 * and hands the finished exchange to the learner from a bounded queue drained after the
 * response, so inference never sits on the request path. An upstream that cannot be reached
 * is answered 502/503/504 problem+json and reported (`Learner.upstreamDown`), never learned.
 */
export interface LearningProxyOptions {
  upstream: string;
  learner: Learner;
  host?: string;
  port?: number;
  /** Share of exchanges whose bodies are sampled, 0–1 (paths, statuses and headers: every exchange). */
  sample?: number;
  /** Bytes of each body copied for inference; a longer body is counted `too-large`. */
  maxSampleBytes?: number;
  /** Exchanges waiting for inference; beyond, they are dropped and counted (`queue-full`). */
  maxQueue?: number;
  random?: () => number;
}

type Headers = Record<string, string | string[] | undefined>;
const EMPTY: readonly Buffer[] = [];

/** The request's headers for the upstream (flat name/value list), hop-by-hop dropped, X-Forwarded-* set. */
function upstreamHeaders(req: IncomingMessage): string[] {
  const listed = connectionListed(req.headers.connection);
  const out: string[] = [];
  for (const k in req.headers) {
    if (HOP_BY_HOP.has(k) || k === 'host' || listed?.has(k) || k === 'x-forwarded-for') continue;
    const v = req.headers[k]!;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, v);
  }
  const peer = req.socket.remoteAddress ?? '';
  const xff = req.headers['x-forwarded-for'];
  out.push('x-forwarded-for', xff ? `${String(xff)}, ${peer}` : peer);
  if (req.headers['x-forwarded-proto'] === undefined) out.push('x-forwarded-proto', 'http');
  if (req.headers.host && req.headers['x-forwarded-host'] === undefined)
    out.push('x-forwarded-host', req.headers.host);
  return out;
}

/** Raw upstream header lines → an object (repeated fields as arrays); hop-by-hop dropped. */
function responseHeaders(raw: Buffer[]): Headers {
  const out: Headers = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toString('latin1').toLowerCase();
    const v = raw[i + 1]!.toString('latin1');
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const listed = connectionListed(out.connection);
  for (const k of Object.keys(out)) if (HOP_BY_HOP.has(k) || listed?.has(k)) delete out[k];
  return out;
}

/**
 * One exchange: an undici dispatch handler that writes the upstream's answer straight to the
 * client (backpressure both ways, no promise or body stream per request), copies a sampled
 * body on the side, and hands the finished exchange to the proxy.
 */
class Relay implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private status = 0;
  private headers: Headers = {};
  private readonly tap: Tap | undefined;
  private clientGone = false;

  constructor(
    private readonly proxy: LearningProxy,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    cap: number,
    private readonly reqTap: Tap | undefined,
  ) {
    this.tap = cap > 0 ? new Tap(cap) : undefined;
    this.onDrain = this.onDrain.bind(this);
    this.onClose = this.onClose.bind(this);
    res.once('close', this.onClose);
  }

  private onDrain(): void {
    this.resume?.();
  }

  private onClose(): void {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    this.abort?.();
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.clientGone) abort();
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true;
    this.status = status;
    this.resume = resume;
    this.headers = responseHeaders(raw);
    this.res.writeHead(status, this.headers as Record<string, string | string[]>);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.tap?.copy(chunk);
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    this.res.end();
    const req = this.req;
    this.proxy.done({
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      requestHeaders: req.headers,
      status: this.status,
      responseHeaders: this.headers,
      ...(this.reqTap
        ? { requestBody: this.reqTap.body() ?? EMPTY, requestBodyTruncated: this.reqTap.truncated }
        : {}),
      ...(this.tap
        ? { responseBody: this.tap.body() ?? EMPTY, responseBodyTruncated: this.tap.truncated }
        : {}),
    });
  }

  onError(err: Error): void {
    if (this.clientGone) return;
    this.proxy.failed(err as NodeJS.ErrnoException, this.res);
  }
}

/** Copies the first `cap` bytes that pass through it. */
class Tap extends Transform {
  readonly chunks: Buffer[] = [];
  size = 0;
  truncated = false;
  constructor(private readonly cap: number) {
    super();
  }
  copy(chunk: Buffer): void {
    if (this.truncated) return;
    if (this.size + chunk.length > this.cap) {
      this.truncated = true;
      this.chunks.length = 0;
      return;
    }
    this.size += chunk.length;
    this.chunks.push(chunk);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.copy(chunk);
    done(null, chunk);
  }
  /** The chunks copied (the learner joins them only for a body it infers). */
  body(): readonly Buffer[] | undefined {
    return this.truncated ? undefined : this.chunks;
  }
}

export class LearningProxy {
  private server: Server | undefined;
  private readonly pool: Pool;
  private readonly origin: URL;
  private readonly queue: ObserveQueue<Exchange>;
  private readonly sample: number;
  private readonly cap: number;
  private readonly random: () => number;
  private readonly basePath: string;
  url = '';

  constructor(private readonly opts: LearningProxyOptions) {
    this.origin = new URL(opts.upstream);
    this.pool = new Pool(this.origin.origin, { connections: 128, pipelining: 1 });
    this.sample = opts.sample ?? 1;
    this.cap = opts.maxSampleBytes ?? 256 * 1024;
    const learner = opts.learner;
    this.queue = new ObserveQueue(
      (x) => learner.observe(x),
      () => learner.skip('queue-full'),
      opts.maxQueue ?? 10_000,
    );
    this.random = opts.random ?? Math.random;
    this.basePath = this.origin.pathname.replace(/\/$/, '');
  }

  async start(): Promise<string> {
    const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address() as AddressInfo;
    this.url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    return this.url;
  }

  /** Stops accepting, lets exchanges in flight finish, infers what is queued, closes the pool. */
  async close(): Promise<void> {
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    }
    this.drain();
    await this.pool.close();
  }

  /** Infers what is queued now (before writing the document). */
  drain(): void {
    this.queue.drain();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const sampled = this.sample >= 1 || (this.sample > 0 && this.random() < this.sample);
    const hasBody =
      req.headers['content-length'] !== undefined
        ? req.headers['content-length'] !== '0'
        : req.headers['transfer-encoding'] !== undefined;
    const reqTap = sampled && hasBody ? new Tap(this.cap) : undefined;
    const relay = new Relay(this, req, res, sampled ? this.cap : 0, reqTap);
    this.pool.dispatch(
      {
        method: req.method as 'GET',
        path: this.basePath + (req.url ?? '/'),
        headers: upstreamHeaders(req),
        body: hasBody ? (reqTap ? req.pipe(reqTap) : req) : null,
      },
      relay,
    );
  }

  /** A finished exchange (called by the relay). */
  done(x: Exchange): void {
    this.queue.push(x);
  }

  /** The upstream could not be reached: reported, answered with problem+json, never learned. */
  failed(err: NodeJS.ErrnoException, res: ServerResponse): void {
    this.opts.learner.upstreamDown(`${err.code ?? 'error'}: ${err.message}`);
    if (res.headersSent) return void res.destroy();
    const code: ProblemCode =
      err.code === 'UND_ERR_CONNECT_TIMEOUT' || err.code === 'UND_ERR_HEADERS_TIMEOUT'
        ? 'gateway-timeout'
        : err.code === 'ECONNREFUSED'
          ? 'upstream-unavailable'
          : 'bad-gateway';
    const p = problem(code, { detail: 'The upstream could not be reached' });
    res.writeHead(p.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.end(JSON.stringify(p));
  }
}
