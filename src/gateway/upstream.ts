import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { HOP_BY_HOP, connectionListed } from '../core/hop-by-hop.ts';
import type { OpenApiOperation } from '../core/openapi.ts';

export { HOP_BY_HOP, connectionListed };

/**
 * Client headers the gateway sets itself (or drops): a client must not be able to
 * pose as the proxy (ASVS 4.1.3).
 */
const GATEWAY_OWNED = new Set([
  'host',
  'content-length',
  'expect',
  'x-request-id',
  'x-real-ip',
  'x-authenticated-user',
  'x-authenticated-roles',
  'x-authenticated-issuer',
]);
/**
 * Forwarding headers the gateway always writes itself: from the peer, or extending a trusted
 * peer's (X-Forwarded-For, Forwarded), so the client's own copies never pass as they are.
 */
const REWRITTEN = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

/**
 * Client-sent headers that some upstream, CDN or framework honours as "the real client
 * IP", "the real path" or "the real method": an upstream that believes any of them serves
 * another client, path or method than the one the gateway authorised. Dropped by default;
 * an API may pass named ones on from trusted proxies only (`trustedRequestHeaders`, e.g.
 * CF-Connecting-IP behind Cloudflare). Never from an untrusted peer. docs/architecture.md.
 */
export const SPOOFABLE_REQUEST_HEADERS: readonly string[] = [
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-forwarded-server',
  'x-forwarded-port',
  'x-forwarded-prefix',
];

/** The request header names one API never forwards, per kind of peer (one lookup per header). */
export interface RequestHeaderDrops {
  /** From a peer that is not a trusted proxy. */
  untrusted: ReadonlySet<string>;
  /** From a trusted proxy. */
  trusted: ReadonlySet<string>;
}

/**
 * Precomputes the dropped request header names for one API: hop-by-hop, gateway-owned,
 * forwarding (always rewritten), the spoofable list and the API's own
 * `dropRequestHeaders`. From trusted proxies only, the spoofable ones the API lists in
 * `trustedRequestHeaders` pass.
 * @example
 * const drops = requestHeaderDrops({ trustedRequestHeaders: ['cf-connecting-ip'] });
 * drops.untrusted.has('cf-connecting-ip') // true
 * drops.trusted.has('cf-connecting-ip') // false
 */
export function requestHeaderDrops(
  api: { dropRequestHeaders?: readonly string[]; trustedRequestHeaders?: readonly string[] } = {},
): RequestHeaderDrops {
  const extra = (api.dropRequestHeaders ?? []).map((n) => n.toLowerCase());
  const passFromTrusted = new Set((api.trustedRequestHeaders ?? []).map((n) => n.toLowerCase()));
  const base = [...HOP_BY_HOP, ...GATEWAY_OWNED, ...REWRITTEN, ...extra];
  return {
    untrusted: new Set([...base, ...SPOOFABLE_REQUEST_HEADERS]),
    trusted: new Set([...base, ...SPOOFABLE_REQUEST_HEADERS.filter((n) => !passFromTrusted.has(n))]),
  };
}

/** The drops of an API without its own settings. */
export const DEFAULT_REQUEST_HEADER_DROPS = requestHeaderDrops();

/** What the upstream headers are built from: the request context's fields. */
export interface ForwardSource {
  readonly id: string;
  readonly headers: IncomingHttpHeaders;
  readonly peer: string;
  readonly trustedPeer: boolean;
  readonly secure: boolean;
  /**
   * The request's authority when it is not the Host header (an absolute-form target,
   * RFC 9112 §3.2.2); validated. Undefined: the (validated) Host header.
   */
  readonly authority?: string | undefined;
}

/**
 * Builds the upstream request headers as a flat [name, value, …] array (undici's cheapest
 * form). X-Forwarded-For/-Proto/-Host are always set by the gateway; RFC 7239 `Forwarded`
 * only when configured (what nginx, Envoy, Kong and Traefik do by default). Either way a
 * client's own forwarding headers never pass unless its peer is a trusted proxy.
 */
export function upstreamHeaders(
  req: ForwardSource,
  extra: Record<string, string>,
  bodyLength: number,
  forwardedHeader: boolean,
  drops: RequestHeaderDrops = DEFAULT_REQUEST_HEADER_DROPS,
): string[] {
  const incoming = req.headers;
  const out: string[] = [];
  const listed = connectionListed(incoming.connection);
  const drop = req.trustedPeer ? drops.trusted : drops.untrusted;
  for (const name in incoming) {
    if (drop.has(name)) continue;
    if (listed?.has(name)) continue;
    const v = incoming[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const item of v) out.push(name, item);
  }
  const priorXff = req.trustedPeer ? incoming['x-forwarded-for'] : undefined;
  const xff = priorXff ? `${priorXff}, ${req.peer}` : req.peer;
  const proto =
    req.trustedPeer && typeof incoming['x-forwarded-proto'] === 'string'
      ? incoming['x-forwarded-proto']
      : req.secure
        ? 'https'
        : 'http';
  const host = req.authority ?? incoming.host;
  out.push('x-forwarded-for', xff, 'x-forwarded-proto', proto);
  if (host) out.push('x-forwarded-host', host);
  if (forwardedHeader) {
    const forwardedFor = req.peer.includes(':') ? `"[${req.peer}]"` : req.peer;
    const forwarded = `for=${forwardedFor};proto=${proto}${host ? `;host="${host.replace(/["\\]/g, '')}"` : ''}`;
    const priorForwarded =
      req.trustedPeer && typeof incoming.forwarded === 'string' ? incoming.forwarded : undefined;
    out.push('forwarded', priorForwarded ? `${priorForwarded}, ${forwarded}` : forwarded);
  }
  out.push('x-request-id', req.id);
  for (const name in extra) out.push(name, extra[name]!);
  if (bodyLength > 0) out.push('content-length', String(bodyLength));
  return out;
}

/** Response headers that leak implementation details (OWASP Secure Headers: remove). */
export const LEAKY_RESPONSE_HEADERS = [
  'server',
  'x-powered-by',
  'x-aspnet-version',
  'x-aspnetmvc-version',
  'x-runtime',
  'x-version',
  'x-generator',
  'x-drupal-cache',
  'x-drupal-dynamic-cache',
  'x-backend-server',
  'x-debug-token',
  'x-debug-token-link',
  'x-sourcemap',
  'sourcemap',
  // Via names the upstream's proxies and often their versions ("1.1 varnish (Varnish/6.0)");
  // RFC 9110 §7.6.3 lets a gateway replace it, and Rampart adds none of its own.
  'via',
];

/**
 * Largest upstream response body the gateway buffers to inspect (5xx leak check, response
 * policies). A larger one is not passed on unchecked: the caller answers 502.
 */
export const MAX_INSPECTED_RESPONSE_BYTES = 8 * 1024 * 1024;

/** One keep-alive pool per upstream origin. */
export class Upstreams {
  private readonly pools = new Map<string, Pool>();
  constructor(private readonly opts: { connectTimeoutMs: number; connections: number }) {}

  pool(origin: string, connections?: number): Pool {
    let p = this.pools.get(origin);
    if (!p) {
      p = new Pool(origin, {
        connections: connections ?? this.opts.connections,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        connect: { timeout: this.opts.connectTimeoutMs },
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }
}

/**
 * Upstream 5xx bodies that look like stack traces or framework error pages leak
 * internals (API8); the gateway replaces them with a generic problem.
 */
const LEAK_PATTERNS = [
  /\bat [\w$.<>[\]]+ \((?:file:\/\/)?\/?[^)]*:\d+:\d+\)/, // Node/JS stack frame
  /\n\s+at [\w$.]+\([\w$]+\.java:\d+\)/, // Java
  /Traceback \(most recent call last\)/, // Python
  /File "[^"]+", line \d+/,
  /Exception in thread "/,
  /\bstack(?:trace|_trace)?["']?\s*[:=]/i,
  /Whitelabel Error Page/,
  /<title>[^<]*(?:Error|Exception)[^<]*<\/title>/i,
  /\bSQLSTATE\[|\bORA-\d{5}\b|SQLITE_[A-Z]+|syntax error at or near|You have an error in your SQL syntax/,
  /\bat System\.[\w.]+\(|\bMicrosoft\.AspNetCore\./,
  /Django Version:|Werkzeug Debugger|Laravel|Symfony\\Component/,
  /(?:^|\n)#\d+ \/[^\n]+\.php\(\d+\)/,
  /goroutine \d+ \[running\]/,
];

export function looksLikeLeak(body: string): boolean {
  return LEAK_PATTERNS.some((re) => re.test(body));
}

const PROBLEM_JSON = 'application/problem+json';

/**
 * Whether the operation's document declares an `application/problem+json` answer for
 * this status (the exact code, its `5XX` range, or `default`). Only such 5xx bodies
 * reach the client, and bounded (`boundedProblem`); every other one is replaced.
 */
export function declaresProblemJson(operation: OpenApiOperation | undefined, status: number): boolean {
  if (operation === undefined) return false;
  const r = operation.responses;
  const declared = r[String(status)] ?? r[`${Math.floor(status / 100)}XX`] ?? r.default;
  return declared?.content?.[PROBLEM_JSON] !== undefined;
}

/** Whether a response's Content-Type is application/problem+json (parameters ignored). */
export function isProblemJson(contentType: unknown): boolean {
  if (typeof contentType !== 'string') return false;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === PROBLEM_JSON;
}

/** Longest string member of an upstream problem passed on; longer ones are cut. */
export const MAX_PROBLEM_STRING = 256;
const MAX_PROBLEM_MEMBERS = 16;
const MAX_PROBLEM_BYTES = 64 * 1024;

/**
 * An upstream's RFC 9457 problem, bounded for the client: a JSON object of at most 64 KiB
 * that matches none of the leak patterns; string members (`detail` first) cut to
 * MAX_PROBLEM_STRING characters; extension members kept only as strings, numbers or
 * booleans, at most 16 of them; nested objects and arrays dropped. Undefined when the body
 * is not such a problem — the caller then replaces it with a generic one.
 * @example
 * boundedProblem(Buffer.from('{"type":"about:blank","detail":"db down"}'))
 * // Buffer of {"type":"about:blank","detail":"db down"}
 */
export function boundedProblem(body: Buffer): Buffer | undefined {
  if (body.length === 0 || body.length > MAX_PROBLEM_BYTES) return undefined;
  const text = body.toString('utf8');
  if (looksLikeLeak(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const out: Record<string, string | number | boolean> = {};
  let members = 0;
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (members >= MAX_PROBLEM_MEMBERS || k === '__proto__' || k.length > 64) continue;
    if (typeof v === 'string') {
      out[k] = v.length > MAX_PROBLEM_STRING ? v.slice(0, MAX_PROBLEM_STRING - 1) + '…' : v;
    } else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') out[k] = v;
    else continue;
    members++;
  }
  return Buffer.from(JSON.stringify(out));
}
