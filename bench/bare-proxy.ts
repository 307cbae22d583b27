// The floors: bare node:http reverse proxies over an undici Pool, no policies at all.
// argv: upstream URL, mode.
//   request   pool.request() + a body pump: the usual way to write a Node proxy with undici
//             (the "bare node:http + undici Pool" of ../shared/PERFORMANCE.md)
//   dispatch  pool.dispatch() with a handler that writes straight to the response, as the
//             gateway does since it stopped using pool.request(): the strictest floor
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { parseRawHeaders } from '../src/gateway/exchange.ts';

const upstream = process.argv[2]!;
const mode = process.argv[3] ?? 'request';
const pool = new Pool(upstream, { connections: 64, pipelining: 1 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'host',
  'transfer-encoding',
  'te',
  'upgrade',
  'proxy-connection',
]);

function requestHeaders(req: http.IncomingMessage): string[] {
  const headers: string[] = [];
  for (const k in req.headers) if (!HOP.has(k)) headers.push(k, String(req.headers[k]));
  return headers;
}

/**
 * Streams an upstream body to the client with backpressure (the gateway's pump before it
 * moved to dispatch handlers, kept so this floor is as fast as it was). Cheaper than
 * stream.pipeline, which allocates an AbortController per call and aborts it (building
 * a DOMException with a stack trace) on every completion — measurable per request.
 * Either side failing destroys the other. A class with bound methods rather than
 * closures: no per-request function expressions on the hot path.
 */
class Pump {
  constructor(
    private readonly src: Readable,
    private readonly dst: Writable,
  ) {
    this.onData = this.onData.bind(this);
    this.onDrain = this.onDrain.bind(this);
    this.onEnd = this.onEnd.bind(this);
    this.onError = this.onError.bind(this);
    this.onClose = this.onClose.bind(this);
    src.on('data', this.onData);
    src.on('end', this.onEnd);
    src.on('error', this.onError);
    dst.on('drain', this.onDrain);
    dst.on('close', this.onClose);
  }
  onData(chunk: Buffer): void {
    if (!this.dst.write(chunk)) this.src.pause();
  }
  onDrain(): void {
    this.src.resume();
  }
  onEnd(): void {
    this.cleanup();
    this.dst.end();
  }
  onError(): void {
    this.cleanup();
    this.src.destroy();
    this.dst.destroy();
  }
  onClose(): void {
    if (!this.src.readableEnded) this.onError();
  }
  private cleanup(): void {
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.src.off('error', this.onError);
    this.dst.off('drain', this.onDrain);
    this.dst.off('close', this.onClose);
  }
}

function pump(src: Readable, dst: Writable): void {
  new Pump(src, dst);
}

async function viaRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    const r = await pool.request({
      path: req.url!,
      method: req.method as Dispatcher.HttpMethod,
      headers: requestHeaders(req),
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    });
    delete (r.headers as Record<string, unknown>)['connection'];
    delete (r.headers as Record<string, unknown>)['keep-alive'];
    res.writeHead(r.statusCode, r.headers as http.OutgoingHttpHeaders);
    pump(r.body, res);
  } catch {
    res.writeHead(502);
    res.end();
  }
}

class Forward implements Dispatcher.DispatchHandler {
  private resume: (() => void) | undefined;
  private readonly onDrain = () => this.resume?.();
  constructor(private readonly res: http.ServerResponse) {}
  onConnect(): void {}
  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (status < 200) return true;
    this.resume = resume;
    const headers = parseRawHeaders(raw);
    delete headers['connection'];
    delete headers['keep-alive'];
    this.res.writeHead(status, headers);
    return true;
  }
  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.onDrain);
    return false;
  }
  onComplete(): void {
    this.res.end();
  }
  onError(): void {
    if (this.res.headersSent) return void this.res.destroy();
    this.res.writeHead(502);
    this.res.end();
  }
}

function viaDispatch(req: http.IncomingMessage, res: http.ServerResponse): void {
  pool.dispatch(
    {
      path: req.url!,
      method: req.method as Dispatcher.HttpMethod,
      headers: requestHeaders(req),
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    },
    new Forward(res),
  );
}

const server = http.createServer(mode === 'dispatch' ? viaDispatch : viaRequest);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
