import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { Pool } from 'undici';
import { PROBLEM_CONTENT_TYPE, problem, type ProblemCode } from '../core/errors.ts';
import type { Exchange, Learner } from './learner.ts';

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

/** Hop-by-hop fields (RFC 9110 §7.6.1): never forwarded, in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

type Headers = Record<string, string | string[] | undefined>;

function forwardable(h: Headers): Record<string, string | string[]> {
  const listed = new Set(
    String(h.connection ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim()),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h))
    if (v !== undefined && !HOP_BY_HOP.has(k) && !listed.has(k)) out[k] = v;
  return out;
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
  body(): Buffer | undefined {
    return this.truncated ? undefined : Buffer.concat(this.chunks, this.size);
  }
}

export class LearningProxy {
  private server: Server | undefined;
  private readonly pool: Pool;
  private readonly origin: URL;
  private readonly queue: Exchange[] = [];
  private draining = false;
  private readonly sample: number;
  private readonly cap: number;
  private readonly maxQueue: number;
  private readonly random: () => number;
  url = '';

  constructor(private readonly opts: LearningProxyOptions) {
    this.origin = new URL(opts.upstream);
    this.pool = new Pool(this.origin.origin, { connections: 128, pipelining: 1 });
    this.sample = opts.sample ?? 1;
    this.cap = opts.maxSampleBytes ?? 256 * 1024;
    this.maxQueue = opts.maxQueue ?? 10_000;
    this.random = opts.random ?? Math.random;
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
    while (this.queue.length) this.opts.learner.observe(this.queue.shift()!);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const sampled = this.sample >= 1 || (this.sample > 0 && this.random() < this.sample);
    const hasBody =
      req.headers['content-length'] !== undefined
        ? req.headers['content-length'] !== '0'
        : req.headers['transfer-encoding'] !== undefined;
    const reqTap = sampled && hasBody ? new Tap(this.cap) : undefined;
    const headers = forwardable(req.headers);
    const peer = req.socket.remoteAddress ?? '';
    const xff = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = xff ? `${String(xff)}, ${peer}` : peer;
    headers['x-forwarded-proto'] ??= 'http';
    if (req.headers.host) headers['x-forwarded-host'] ??= req.headers.host;
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const target = req.url ?? '/';
    const basePath = this.origin.pathname.replace(/\/$/, '');
    this.pool
      .request({
        method: req.method as 'GET',
        path: basePath + target,
        headers,
        body: hasBody ? (reqTap ? req.pipe(reqTap) : req) : null,
        signal: abort.signal,
      })
      .then(
        (up) => {
          const resHeaders = forwardable(up.headers as Headers);
          const resTap = sampled ? new Tap(this.cap) : undefined;
          res.writeHead(up.statusCode, resHeaders);
          const body = up.body;
          body.on('data', (chunk: Buffer) => {
            resTap?.copy(chunk);
            if (!res.write(chunk)) body.pause();
          });
          res.on('drain', () => body.resume());
          body.once('end', () => {
            res.end();
            this.enqueue({
              method: req.method ?? 'GET',
              target,
              requestHeaders: req.headers,
              status: up.statusCode,
              responseHeaders: up.headers as Headers,
              ...(reqTap ? reqBody(reqTap) : {}),
              ...(resTap
                ? { responseBody: resTap.body() ?? Buffer.alloc(0), responseBodyTruncated: resTap.truncated }
                : {}),
            });
          });
          body.once('error', () => res.destroy());
        },
        (err: NodeJS.ErrnoException) => {
          if (abort.signal.aborted) return;
          this.opts.learner.upstreamDown(`${err.code ?? 'error'}: ${err.message}`);
          const code: ProblemCode =
            err.code === 'UND_ERR_CONNECT_TIMEOUT' || err.code === 'UND_ERR_HEADERS_TIMEOUT'
              ? 'gateway-timeout'
              : err.code === 'ECONNREFUSED'
                ? 'upstream-unavailable'
                : 'bad-gateway';
          if (res.headersSent) return void res.destroy();
          const p = problem(code, { detail: 'The upstream could not be reached' });
          res.writeHead(p.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' });
          res.end(JSON.stringify(p));
        },
      );
  }

  private enqueue(x: Exchange): void {
    if (this.queue.length >= this.maxQueue) return this.opts.learner.skip('queue-full');
    this.queue.push(x);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drainSome());
    }
  }

  /** Infers a batch per turn of the event loop, so a burst never delays requests for long. */
  private drainSome(): void {
    for (let i = 0; i < 64 && this.queue.length; i++) this.opts.learner.observe(this.queue.shift()!);
    if (this.queue.length) setImmediate(() => this.drainSome());
    else this.draining = false;
  }
}

function reqBody(t: Tap): Pick<Exchange, 'requestBody' | 'requestBodyTruncated'> {
  return { requestBody: t.body() ?? Buffer.alloc(0), requestBodyTruncated: t.truncated };
}
