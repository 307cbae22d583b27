import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { deadline } from '../core/deadline.ts';
import type { EvidenceExchange } from '../core/findings.ts';

/** One request the scanner sends. `path` is resolved against the target origin. */
export interface ScanRequest {
  method: string;
  /** Absolute path (`/v2/records?q=x`) or a full URL on an allowed origin. */
  path: string;
  headers?: Record<string, string>;
  /** JSON-serialised when not a string. */
  body?: unknown;
  /** Send a string body as-is with this content type instead of JSON. */
  contentType?: string;
}

export interface ScanResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed JSON body, or undefined. */
  json: unknown;
  durationMs: number;
  /** True when the body was cut at the read cap. */
  truncated: boolean;
}

/** One exchange: the request as sent and what came back (or why nothing did). */
export interface Exchange {
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  response?: ScanResponse;
  /** Transport failure: timeout, reset, refused, garbage. */
  error?: string;
  /** The identity whose credentials the request carried (set by ScanContext.call). */
  as?: string;
}

/** The request budget is spent or the scan was stopped. */
export class BudgetExhausted extends Error {
  override name = 'BudgetExhausted';
}

/** A check tried to reach a host other than the target (a scanner bug; never sent). */
export class OriginRefused extends Error {
  override name = 'OriginRefused';
}

export interface ScanHttpOptions {
  target: string;
  maxRequests: number;
  /** Requests per second, 0 = unlimited. */
  rate: number;
  timeoutMs: number;
  /** Stops the scan (Ctrl-C, --max-duration). */
  signal: AbortSignal;
  /** Bytes of a response body kept (the rest is discarded). */
  maxBody?: number;
  /** Extra CA certificates (PEM) trusted for an https target beside the public roots (`--ca`). */
  ca?: string[];
}

const SECRET_HEADERS = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'proxy-authorization',
]);
/** Custom credential headers (X-Api-Key, X-Auth-Token, X-Session…) are masked too. */
const SECRET_HEADER_NAME = /key|token|secret|auth|session|cookie|signature|password|credential/i;
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const SECRET_JSON_KEY =
  /"((?:[A-Za-z_]*)(?:password|passwd|secret|token|apikey|api_key|apiKey|privateKey|otp)[A-Za-z_]*)"\s*:\s*"([^"\\]|\\.)*"/gi;

/** Masks a secret value, keeping a short prefix so an operator can tell which one it was. */
export function maskValue(v: string): string {
  if (v.length <= 8) return '****';
  return `${v.slice(0, 4)}…(${v.length} chars, masked)`;
}

/** Masks JWTs and secret-looking JSON values in a text body. */
export function maskText(text: string): string {
  return text
    .replace(SECRET_JSON_KEY, (_m, key: string) => `"${key}":"****"`)
    .replace(JWT, (t) => maskValue(t));
}

export function maskHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (SECRET_HEADERS.has(k.toLowerCase()) || SECRET_HEADER_NAME.test(k)) {
      const sp = v.indexOf(' ');
      out[k] = sp > 0 && sp < 12 ? `${v.slice(0, sp)} ${maskValue(v.slice(sp + 1))}` : maskValue(v);
    } else out[k] = v;
  }
  return out;
}

const EVIDENCE_BODY = 2048;
const clip = (s: string): string =>
  s.length > EVIDENCE_BODY ? `${s.slice(0, EVIDENCE_BODY)}…(${s.length} chars)` : s;

/** Turns an exchange into finding evidence: secrets masked, bodies clipped. */
export function toEvidence(x: Exchange, note?: string): EvidenceExchange {
  const e: EvidenceExchange = {
    request: {
      method: x.request.method,
      url: x.request.url,
      headers: maskHeaders(x.request.headers),
      ...(x.request.body !== undefined ? { body: clip(maskText(x.request.body)) } : {}),
    },
  };
  if (x.response)
    e.response = {
      status: x.response.status,
      headers: maskHeaders(x.response.headers),
      body: clip(maskText(x.response.text)),
      durationMs: Math.round(x.response.durationMs),
    };
  const n = note ?? (x.error ? `no answer: ${x.error}` : undefined);
  if (n) e.note = n;
  if (x.as) e.as = x.as;
  return e;
}

/**
 * The scanner's only way out: every request goes to the target's origin (or a listed
 * extra origin), within the request budget, at the configured rate, with a timeout.
 * Transport failures come back as `error` on the exchange, never as a throw.
 */
export class ScanHttp {
  readonly origin: string;
  sent = 0;
  failures = 0;
  private readonly agent: Dispatcher;
  private nextSlot = 0;

  constructor(private readonly opts: ScanHttpOptions) {
    this.origin = new URL(opts.target).origin;
    this.agent = new Agent({
      connections: 8,
      keepAliveTimeout: 4000,
      connect: {
        timeout: opts.timeoutMs,
        ...(opts.ca?.length ? { ca: [...rootCertificates, ...opts.ca] } : {}),
      },
    });
  }

  /** The extra CA certificates the scan trusts (`--ca`), for probes outside HTTP (TLS). */
  get ca(): string[] {
    return this.opts.ca ?? [];
  }

  get remaining(): number {
    return Math.max(0, this.opts.maxRequests - this.sent);
  }

  url(path: string): string {
    const u = new URL(path, this.origin + '/');
    if (u.origin !== this.origin)
      throw new OriginRefused(`refusing to contact ${u.origin}: only ${this.origin} is in scope`);
    return u.href;
  }

  private async pace(): Promise<void> {
    if (this.opts.rate <= 0) return;
    const gap = 1000 / this.opts.rate;
    const now = performance.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + gap;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }

  async send(req: ScanRequest): Promise<Exchange> {
    if (this.opts.signal.aborted) throw new BudgetExhausted('the scan was stopped');
    if (this.sent >= this.opts.maxRequests)
      throw new BudgetExhausted(`the request budget (${this.opts.maxRequests}) is spent`);
    const url = this.url(req.path);
    const headers: Record<string, string> = { 'user-agent': 'rampart-scan/0.1', ...(req.headers ?? {}) };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
        headers['content-type'] = req.contentType ?? 'application/json';
    }
    this.sent++;
    await this.pace();
    const x: Exchange = {
      request: { method: req.method, url, headers, ...(body !== undefined ? { body } : {}) },
    };
    const started = performance.now();
    // One explicit timer per request (core/deadline.ts: AbortSignal.timeout can be collected on Node 20).
    const limit = deadline(this.opts.timeoutMs, this.opts.signal);
    const signal = limit.signal;
    try {
      const res = await request(url, {
        method: req.method as Dispatcher.HttpMethod,
        headers,
        ...(body !== undefined ? { body } : {}),
        dispatcher: this.agent,
        signal,
      });
      const cap = this.opts.maxBody ?? 1024 * 1024;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        if (size + b.length > cap) {
          chunks.push(b.subarray(0, cap - size));
          truncated = true;
          res.body.destroy();
          break;
        }
        size += b.length;
        chunks.push(b);
      }
      const text = Buffer.concat(chunks).toString('utf8');
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers))
        if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
      let json: unknown;
      if (/json/i.test(h['content-type'] ?? '') || /^\s*[[{]/.test(text)) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      x.response = {
        status: res.statusCode,
        headers: h,
        text,
        json,
        durationMs: performance.now() - started,
        truncated,
      };
    } catch (err) {
      this.failures++;
      if (this.opts.signal.aborted) throw new BudgetExhausted('the scan was stopped');
      const e = err as NodeJS.ErrnoException;
      x.error =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `timed out after ${this.opts.timeoutMs} ms`
          : `${e.code ?? e.name}: ${e.message}`;
    } finally {
      limit.clear();
    }
    return x;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
