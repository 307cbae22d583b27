import { createHmac, randomBytes } from 'node:crypto';
import { hasControl, piiOfName, piiOfValue, type PiiKind } from './classify.ts';
import {
  DEFAULT_PATH_LIMITS,
  PARAM,
  PathTrie,
  templateText,
  type PathLimits,
  type TemplateSegment,
} from './paths.ts';
import {
  DEFAULT_SHAPE_LIMITS,
  jsonDepth,
  Shape,
  type Budget,
  type Caller,
  type ShapeLimits,
} from './shape.ts';

/**
 * The learner: observes complete exchanges (request, status, sampled bodies) and keeps, per
 * operation, only shapes and counts — never a body, a token, a cookie value, a password or a
 * personal value. `document()` (document.ts) turns what it holds into OpenAPI 3.1.
 */
export interface Exchange {
  method: string;
  /** The request target as received: path and query. */
  target: string;
  requestHeaders: Readonly<Record<string, string | string[] | undefined>>;
  status: number;
  responseHeaders: Readonly<Record<string, string | string[] | undefined>>;
  /** Bodies when the exchange was sampled; `truncated` when it went past the sample cap. */
  requestBody?: Buffer | readonly Buffer[];
  requestBodyTruncated?: boolean;
  /** The request body's JSON value when the gateway already parsed it (not parsed again). */
  requestJson?: unknown;
  /** A body may come as its chunks: they are joined only when the body is inferred. */
  responseBody?: Buffer | readonly Buffer[];
  responseBodyTruncated?: boolean;
}

export interface LearnLimits {
  paths: PathLimits;
  shapes: ShapeLimits;
  /** Operations kept (confirmed by a 2xx/3xx/401/403 answer); beyond, new ones are counted. */
  maxOperations: number;
  /** Unconfirmed candidate operations (only 404/405/other 4xx so far), least recently used evicted. */
  maxCandidates: number;
  /** Query, header and cookie parameter names per operation and location. */
  maxParams: number;
  /** Distinct statuses per operation. */
  maxStatuses: number;
  /** Content types per operation and direction. */
  maxContentTypes: number;
  /** Distinct principals counted per operation (as keyed hashes, never the values). */
  maxPrincipals: number;
  /**
   * The inference budget per operation, status and content type: the first `bodySamples`
   * bodies are all inferred, then one in `bodyEvery` (the shape has converged; CPU stays bounded).
   */
  bodySamples: number;
  bodyEvery: number;
}

export const DEFAULT_LEARN_LIMITS: LearnLimits = {
  paths: DEFAULT_PATH_LIMITS,
  shapes: DEFAULT_SHAPE_LIMITS,
  maxOperations: 1000,
  maxCandidates: 2000,
  maxParams: 50,
  maxStatuses: 20,
  maxContentTypes: 8,
  maxPrincipals: 1000,
  bodySamples: 100,
  bodyEvery: 20,
};

export type SkipReason =
  | 'hostile-path'
  | 'bad-escape'
  | 'bad-method'
  | 'operations-full'
  | 'not-json'
  | 'invalid-json'
  | 'too-large'
  | 'too-deep'
  | 'binary'
  | 'upstream-down'
  | 'queue-full';

/** A credential kind seen on a request (the value never kept). */
export type Credential =
  | { kind: 'bearer'; jwt: boolean }
  | { kind: 'basic' }
  | { kind: 'apiKey'; in: 'header' | 'query' | 'cookie'; name: string };

export function credentialName(c: Credential): string {
  if (c.kind === 'bearer') return 'bearerAuth';
  if (c.kind === 'basic') return 'basicAuth';
  return `${c.in}ApiKey_${c.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

const API_KEY_HEADER = /^(x-)?api[-_]?key$|^x-api-token$|^x-auth-token$|^api-token$|^x-access-token$/i;
const API_KEY_QUERY = /^(api[-_]?key|apikey|access[-_]?token|auth[-_]?token)$/i;
const SESSION_COOKIE =
  /^(session|sid|sessionid|session_id|connect\.sid|jsessionid|phpsessid|__host-session|__secure-session)$/i;

/** Request headers that are transport, negotiation or proxying, not part of an API's contract. */
const STANDARD_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'content-type',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-charset',
  'user-agent',
  'authorization',
  'proxy-authorization',
  'cookie',
  'referer',
  'origin',
  'cache-control',
  'pragma',
  'expect',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'dnt',
  'priority',
  'via',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
  'traceparent',
  'tracestate',
  'baggage',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
  'sec-fetch-user',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'upgrade-insecure-requests',
  'content-encoding',
]);

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

export class ParamStats {
  count = 0;
  readonly shape = new Shape();
}

export class BodyStats {
  count = 0;
  /** Samples that were parsed into the shape. */
  parsed = 0;
  shape: Shape | undefined;
}

interface AuthCount {
  calls: number;
  ok: number;
  denied: number;
}

/** What one operation (method + observation key) has seen. Merged when keys fold into one template. */
export class OperationStats {
  calls = 0;
  useful = false;
  used = 0;
  readonly statuses = new Map<number, number>();
  readonly query = new Map<string, ParamStats>();
  readonly headers = new Map<string, ParamStats>();
  readonly cookies = new Map<string, ParamStats>();
  readonly requestBodies = new Map<string, BodyStats>();
  readonly responses = new Map<number, Map<string, BodyStats>>();
  readonly anonymous: AuthCount = { calls: 0, ok: 0, denied: 0 };
  readonly credentials = new Map<string, AuthCount & { credential: Credential }>();
  readonly roles = new Map<string, { ok: number; denied: number }>();
  readonly principals = new Set<string>();
  /** Path parameter position → per role, how often the value equalled the caller's subject. */
  readonly pathOwner = new Map<number, Map<string, { samples: number; matches: number }>>();
  /** Path parameter position → personal data seen in the value. */
  readonly pathPii = new Map<number, Set<PiiKind>>();
  readonly exemplars: string[] = [];
  readonly budget: Budget = { nodes: 0, truncated: 0 };

  constructor(
    readonly method: string,
    readonly key: string,
  ) {}

  /**
   * Merges `o` as the operation of observation key `key` (folded: `/posts/{}`): its redacted
   * exemplars are rewritten to that key, so a segment that folded into a parameter (a slug, a
   * file name) is not kept in them.
   */
  mergeAs(o: OperationStats, key: string): void {
    const from = `${o.method.toUpperCase()} ${exemplarPath(o.key)}`;
    const to = `${o.method.toUpperCase()} ${exemplarPath(key)}`;
    this.merge(o);
    if (from === to) return;
    const rewritten = this.exemplars.map((e) =>
      e.startsWith(from) && (e[from.length] === '?' || e[from.length] === ' ')
        ? to + e.slice(from.length)
        : e,
    );
    this.exemplars.length = 0;
    for (const e of rewritten) if (!this.exemplars.includes(e)) this.exemplars.push(e);
  }

  merge(o: OperationStats): void {
    this.calls += o.calls;
    this.useful ||= o.useful;
    for (const [s, n] of o.statuses) this.statuses.set(s, (this.statuses.get(s) ?? 0) + n);
    for (const [mine, theirs] of [
      [this.query, o.query],
      [this.headers, o.headers],
      [this.cookies, o.cookies],
    ] as const)
      for (const [k, p] of theirs) {
        let m = mine.get(k);
        if (!m) mine.set(k, (m = new ParamStats()));
        m.count += p.count;
        m.shape.merge(p.shape);
      }
    mergeBodies(this.requestBodies, o.requestBodies);
    for (const [s, bodies] of o.responses) {
      let m = this.responses.get(s);
      if (!m) this.responses.set(s, (m = new Map()));
      mergeBodies(m, bodies);
    }
    addAuth(this.anonymous, o.anonymous);
    for (const [k, c] of o.credentials) {
      const m = this.credentials.get(k);
      if (!m) this.credentials.set(k, { ...c });
      else addAuth(m, c);
    }
    for (const [r, c] of o.roles) {
      const m = this.roles.get(r) ?? { ok: 0, denied: 0 };
      m.ok += c.ok;
      m.denied += c.denied;
      this.roles.set(r, m);
    }
    for (const p of o.principals) this.principals.add(p);
    for (const [i, byRole] of o.pathOwner) {
      const m = this.pathOwner.get(i) ?? new Map<string, { samples: number; matches: number }>();
      for (const [r, f] of byRole) {
        const x = m.get(r) ?? { samples: 0, matches: 0 };
        x.samples += f.samples;
        x.matches += f.matches;
        m.set(r, x);
      }
      this.pathOwner.set(i, m);
    }
    for (const [i, kinds] of o.pathPii) {
      const m = this.pathPii.get(i) ?? new Set<PiiKind>();
      for (const k of kinds) m.add(k);
      this.pathPii.set(i, m);
    }
    for (const e of o.exemplars)
      if (this.exemplars.length < 3 && !this.exemplars.includes(e)) this.exemplars.push(e);
    this.budget.nodes += o.budget.nodes;
    this.budget.truncated += o.budget.truncated;
  }
}

function addAuth(a: AuthCount, b: AuthCount): void {
  a.calls += b.calls;
  a.ok += b.ok;
  a.denied += b.denied;
}

function mergeBodies(mine: Map<string, BodyStats>, theirs: Map<string, BodyStats>): void {
  // Copies what it adopts: merging never shares mutable stats with `theirs` (templates() and
  // snapshots merge a learner's live operations into copies, repeatedly).
  for (const [ct, b] of theirs) {
    let m = mine.get(ct);
    if (!m) mine.set(ct, (m = new BodyStats()));
    m.count += b.count;
    m.parsed += b.parsed;
    if (b.shape) {
      if (m.shape) m.shape.merge(b.shape);
      else m.shape = b.shape.clone();
    }
  }
}

export interface LearnStats {
  exchanges: number;
  learned: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** Upstream failures (connection refused, reset, timeout) — reported, never learned as 502s. */
  upstreamErrors: number;
  lastUpstreamError?: string;
}

const isSuccess = (s: number): boolean => s >= 200 && s < 400;
const isDenied = (s: number): boolean => s === 401 || s === 403;

export class Learner {
  readonly trie: PathTrie;
  /** Confirmed operations, by `METHOD key`. */
  readonly operations = new Map<string, OperationStats>();
  /** Unconfirmed candidates, in least-recently-used order (Map insertion order, refreshed on use). */
  readonly candidates = new Map<string, OperationStats>();
  readonly stats: LearnStats = { exchanges: 0, learned: 0, skipped: {}, upstreamErrors: 0 };
  /** Roles seen across the API. */
  readonly allRoles = new Set<string>();
  private readonly principalKey = randomBytes(16);
  private firstSeen: number | undefined;
  private lastSeen: number | undefined;

  /** When the first and the last exchange were observed (ISO 8601), if any. */
  seen(): { from: string; to: string } | undefined {
    const ms = this.seenMs();
    return ms && { from: new Date(ms.from).toISOString(), to: new Date(ms.to).toISOString() };
  }

  /** The same in epoch milliseconds (snapshot.ts). */
  seenMs(): { from: number; to: number } | undefined {
    return this.firstSeen === undefined ? undefined : { from: this.firstSeen, to: this.lastSeen! };
  }

  /** Widens the observed period (a restored snapshot's). */
  widenSeen(from: number, to: number): void {
    this.firstSeen = this.firstSeen === undefined ? from : Math.min(this.firstSeen, from);
    this.lastSeen = this.lastSeen === undefined ? to : Math.max(this.lastSeen, to);
  }

  /** Unconfirmed candidates counted by a restored snapshot (their paths are not kept). */
  private unconfirmedBefore = 0;
  addUnconfirmed(n: number): void {
    this.unconfirmedBefore += n;
  }
  private tick = 0;

  constructor(
    readonly limits: LearnLimits = DEFAULT_LEARN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.trie = new PathTrie(limits.paths);
  }

  skip(reason: SkipReason): void {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1;
  }

  /** An upstream that could not be reached: counted and reported, nothing learned. */
  upstreamDown(message: string): void {
    this.stats.exchanges++;
    this.stats.upstreamErrors++;
    this.stats.lastUpstreamError = message.slice(0, 200);
    this.skip('upstream-down');
  }

  observe(x: Exchange): void {
    this.stats.exchanges++;
    // Milliseconds here, ISO text only when the document is written (toISOString costs µs per call).
    const stamp = this.now();
    this.firstSeen ??= stamp;
    this.lastSeen = stamp;
    const method = x.method.toLowerCase();
    if (!METHODS.has(method)) return this.skip('bad-method');
    const q = x.target.indexOf('?');
    const path = q === -1 ? x.target : x.target.slice(0, q);
    const query = q === -1 ? '' : x.target.slice(q + 1);
    const useful = isSuccess(x.status) || isDenied(x.status);
    const walked = this.trie.observe(path, useful);
    if ('rejected' in walked) return this.skip(walked.rejected);
    const op = this.operation(method, walked.key, useful);
    if (!op) return this.skip('operations-full');
    this.stats.learned++;
    op.calls++;
    op.used = ++this.tick;
    if (op.statuses.has(x.status) || op.statuses.size < this.limits.maxStatuses)
      op.statuses.set(x.status, (op.statuses.get(x.status) ?? 0) + 1);
    const caller = this.security(op, x, query);
    this.pathFacts(op, walked.key, walked.segments, caller);
    this.queryFacts(op, query);
    this.headerFacts(op, x.requestHeaders);
    if (op.exemplars.length < 3) {
      const e = `${method.toUpperCase()} ${exemplarPath(walked.key)}${query ? '?' + redactQuery(query) : ''} → ${x.status}`;
      if (!op.exemplars.includes(e)) op.exemplars.push(e);
    }
    const reqType = mediaType(x.requestHeaders['content-type']);
    if (reqType !== undefined || (x.requestBody && byteLength(x.requestBody) > 0))
      this.body(
        op.requestBodies,
        reqType ?? 'application/octet-stream',
        x.requestBody,
        x.requestBodyTruncated,
        op,
        undefined,
        x.requestJson,
      );
    const resType = mediaType(x.responseHeaders['content-type']);
    if (resType !== undefined || (x.responseBody && byteLength(x.responseBody) > 0)) {
      let bodies = op.responses.get(x.status);
      if (!bodies) {
        bodies = new Map();
        if (op.responses.size < this.limits.maxStatuses) op.responses.set(x.status, bodies);
      }
      this.body(
        bodies,
        resType ?? 'application/octet-stream',
        x.responseBody,
        x.responseBodyTruncated,
        op,
        isSuccess(x.status) ? caller : undefined,
      );
    } else if (!op.responses.has(x.status) && op.responses.size < this.limits.maxStatuses)
      op.responses.set(x.status, new Map());
  }

  private operation(method: string, key: string, useful: boolean): OperationStats | undefined {
    const id = `${method} ${key}`;
    const known = this.operations.get(id);
    if (known) return known;
    let op = this.candidates.get(id);
    if (op) this.candidates.delete(id);
    if (useful || op?.useful) {
      if (this.operations.size >= this.limits.maxOperations) {
        if (op) this.candidates.set(id, op);
        return undefined;
      }
      op ??= new OperationStats(method, key);
      op.useful = true;
      this.operations.set(id, op);
      return op;
    }
    op ??= new OperationStats(method, key);
    this.candidates.set(id, op);
    while (this.candidates.size > this.limits.maxCandidates) {
      const oldest = this.candidates.keys().next().value as string;
      this.candidates.delete(oldest);
    }
    return op;
  }

  /** Records which credential the call carried and what came of it; returns the caller (unverified claims). */
  private security(op: OperationStats, x: Exchange, query: string): Caller {
    const creds: Credential[] = [];
    let caller: Caller = { roles: [] };
    const auth = header(x.requestHeaders, 'authorization');
    if (auth) {
      const [scheme, value] = auth.split(/\s+/, 2);
      if (/^bearer$/i.test(scheme ?? '') && value) {
        const claims = jwtClaims(value);
        creds.push({ kind: 'bearer', jwt: claims !== undefined });
        if (claims) caller = claims;
      } else if (/^basic$/i.test(scheme ?? '')) creds.push({ kind: 'basic' });
    }
    for (const name of Object.keys(x.requestHeaders))
      if (API_KEY_HEADER.test(name)) creds.push({ kind: 'apiKey', in: 'header', name: name.toLowerCase() });
    for (const name of queryNames(query))
      if (API_KEY_QUERY.test(name)) creds.push({ kind: 'apiKey', in: 'query', name });
    for (const name of cookieNames(header(x.requestHeaders, 'cookie')))
      if (SESSION_COOKIE.test(name)) creds.push({ kind: 'apiKey', in: 'cookie', name });
    const ok = isSuccess(x.status) ? 1 : 0;
    const denied = isDenied(x.status) ? 1 : 0;
    if (creds.length === 0) addAuth(op.anonymous, { calls: 1, ok, denied });
    for (const c of creds) {
      const k = credentialName(c);
      let m = op.credentials.get(k);
      if (!m) {
        m = { calls: 0, ok: 0, denied: 0, credential: c };
        op.credentials.set(k, m);
      }
      addAuth(m, { calls: 1, ok, denied });
    }
    for (const r of caller.roles.slice(0, 8)) {
      this.allRoles.add(r);
      const m = op.roles.get(r) ?? { ok: 0, denied: 0 };
      m.ok += ok;
      m.denied += x.status === 403 ? 1 : 0;
      if (op.roles.has(r) || op.roles.size < 32) op.roles.set(r, m);
    }
    if (caller.sub !== undefined && op.principals.size < this.limits.maxPrincipals)
      op.principals.add(
        createHmac('sha256', this.principalKey).update(caller.sub).digest('base64url').slice(0, 16),
      );
    return ok ? caller : { roles: caller.roles };
  }

  private pathFacts(op: OperationStats, key: string, segments: string[], caller: Caller): void {
    const marks = key === '/' ? [] : key.split('/').slice(1);
    // Literal positions may still fold (slugs, file names): facts for every position.
    marks.forEach((_m, i) => {
      const value = segments[i]!;
      const pii = piiOfValue(value);
      if (pii) {
        const s = op.pathPii.get(i) ?? new Set<PiiKind>();
        s.add(pii);
        op.pathPii.set(i, s);
      }
      if (caller.sub === undefined) return;
      const byRole = op.pathOwner.get(i) ?? new Map<string, { samples: number; matches: number }>();
      for (const r of caller.roles.length ? caller.roles.slice(0, 4) : ['*']) {
        const f = byRole.get(r) ?? { samples: 0, matches: 0 };
        f.samples++;
        if (value === caller.sub) f.matches++;
        if (byRole.has(r) || byRole.size < 16) byRole.set(r, f);
      }
      op.pathOwner.set(i, byRole);
    });
  }

  private queryFacts(op: OperationStats, query: string): void {
    if (!query) return;
    const seen = new Set<string>();
    for (const part of query.split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      let name: string;
      let value: string;
      try {
        name = decodeURIComponent((eq === -1 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
        value = decodeURIComponent((eq === -1 ? '' : part.slice(eq + 1)).replace(/\+/g, ' '));
      } catch {
        continue;
      }
      if (seen.has(name) || API_KEY_QUERY.test(name)) continue;
      seen.add(name);
      this.param(op.query, name, value);
    }
  }

  private headerFacts(op: OperationStats, headers: Exchange['requestHeaders']): void {
    for (const [name, v] of Object.entries(headers)) {
      const n = name.toLowerCase();
      if (STANDARD_HEADERS.has(n) || API_KEY_HEADER.test(n) || v === undefined) continue;
      this.param(op.headers, n, Array.isArray(v) ? v[0]! : v);
    }
    for (const name of cookieNames(header(headers, 'cookie')))
      if (!SESSION_COOKIE.test(name)) this.param(op.cookies, name, undefined);
  }

  private param(into: Map<string, ParamStats>, name: string, value: string | undefined): void {
    if (name.length === 0 || name.length > 128 || hasControl(name)) return;
    let p = into.get(name);
    if (!p) {
      if (into.size >= this.limits.maxParams) return;
      p = new ParamStats();
      into.set(name, p);
    }
    p.count++;
    // Cookie and secret-named values are never looked at: only the name is learned.
    if (value === undefined || piiOfName(name) === 'secret') p.shape.seen++;
    else p.shape.observe(typedValue(value), this.limits.shapes, { nodes: 0, truncated: 0 }, undefined, name);
  }

  private body(
    into: Map<string, BodyStats>,
    contentType: string,
    chunks: Buffer | readonly Buffer[] | undefined,
    truncated: boolean | undefined,
    op: OperationStats,
    caller: Caller | undefined,
    parsed?: unknown,
  ): void {
    let b = into.get(contentType);
    if (!b) {
      if (into.size >= this.limits.maxContentTypes) return;
      b = new BodyStats();
      into.set(contentType, b);
    }
    b.count++;
    if (chunks === undefined) return; // not sampled
    // Past the first samples, one body in `bodyEvery`: the others are not even joined.
    if (b.parsed >= this.limits.bodySamples && b.count % this.limits.bodyEvery !== 0) return;
    const body = Buffer.isBuffer(chunks)
      ? chunks
      : chunks.length === 1
        ? chunks[0]!
        : Buffer.concat(chunks as Buffer[]);
    if (!isJson(contentType))
      return this.skip(
        /^(text\/|application\/(xml|x-www-form-urlencoded))/.test(contentType) ? 'not-json' : 'binary',
      );
    if (truncated) return this.skip('too-large');
    if (body.length === 0) return;
    if (body.includes(0)) return this.skip('binary');
    const text = body.toString('utf8');
    // Measured before any recursion over the value, parsed or not (no recursion on hostile input).
    if (jsonDepth(text, this.limits.shapes.maxDepth) === Infinity) return this.skip('too-deep');
    let value: unknown = parsed;
    if (value === undefined)
      try {
        value = JSON.parse(text);
      } catch {
        return this.skip('invalid-json');
      }
    b.shape ??= new Shape();
    b.shape.observe(value, this.limits.shapes, op.budget, caller);
    b.parsed++;
  }

  /** Operations merged by final template (`METHOD /orders/{orderId}`), confirmed ones only. */
  templates(): Array<{ method: string; template: TemplateSegment[]; path: string; op: OperationStats }> {
    const byPath = new Map<
      string,
      { method: string; template: TemplateSegment[]; path: string; op: OperationStats }
    >();
    for (const op of this.operations.values()) {
      const template = this.trie.template(op.key);
      const path = templateText(template);
      const id = `${op.method} ${path}`;
      const known = byPath.get(id);
      const key = '/' + template.map((t) => ('literal' in t ? t.literal : PARAM)).join('/');
      if (!known) {
        const copy = new OperationStats(op.method, key);
        copy.mergeAs(op, key);
        byPath.set(id, { method: op.method, template, path, op: copy });
      } else known.op.mergeAs(op, key);
    }
    return [...byPath.values()].sort((a, b) =>
      a.path === b.path ? (a.method < b.method ? -1 : 1) : a.path < b.path ? -1 : 1,
    );
  }

  /** Candidates never confirmed (only 404/405/other 4xx answers): counted in the report, not documented. */
  unconfirmed(): number {
    return Math.min(this.limits.maxCandidates, this.candidates.size + this.unconfirmedBefore);
  }
}

const byteLength = (b: Buffer | readonly Buffer[]): number =>
  Buffer.isBuffer(b) ? b.length : b.reduce((n, c) => n + c.length, 0);

/** An observation key as exemplars show it (`/orders/:param`). */
const exemplarPath = (key: string): string => key.replace(/\{\}/g, ':param');

function header(h: Exchange['requestHeaders'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export function mediaType(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  const t = s.split(';', 1)[0]!.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(t) ? t : 'application/octet-stream';
}

export function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(mediaType);
}

function queryNames(query: string): string[] {
  if (!query) return [];
  return query.split('&').map((p) => {
    const n = p.split('=', 1)[0]!;
    try {
      return decodeURIComponent(n);
    } catch {
      return n;
    }
  });
}

function cookieNames(cookie: string | undefined): string[] {
  if (!cookie) return [];
  return cookie
    .split(';')
    .map((c) => c.split('=', 1)[0]!.trim())
    .filter((n) => n.length > 0 && n.length <= 128)
    .slice(0, 50);
}

/** A query or header value as the type it spells (`17` → 17, `true` → true). */
function typedValue(v: string): unknown {
  if (/^-?\d{1,15}$/.test(v)) return Number(v);
  if (/^-?\d{1,15}\.\d{1,15}$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

/** `limit=5&q=Cardio` → `limit=:integer&q=:string`: the shape of a query, no value. */
function redactQuery(query: string): string {
  return query
    .split('&')
    .slice(0, 20)
    .map((p) => {
      const [n = '', v = ''] = p.split('=', 2);
      const t = typedValue(v);
      return `${n.slice(0, 64)}=:${typeof t === 'number' ? (Number.isInteger(t) ? 'integer' : 'number') : typeof t}`;
    })
    .join('&');
}

/**
 * The claims of a JWT bearer token, read without verification (the learner only describes
 * what it sees): the subject and the roles. The token itself is never kept.
 */
export function jwtClaims(token: string): Caller | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1]!.length > 8192) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  const roles: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string' && v.length <= 64) roles.push(v);
    else if (Array.isArray(v)) for (const r of v) if (typeof r === 'string' && r.length <= 64) roles.push(r);
  };
  add(p.role);
  add(p.roles);
  add(p.groups);
  const realm = p.realm_access as { roles?: unknown } | undefined;
  if (realm && typeof realm === 'object') add(realm.roles);
  const sub = typeof p.sub === 'string' || typeof p.sub === 'number' ? String(p.sub) : undefined;
  return { ...(sub !== undefined ? { sub } : {}), roles: [...new Set(roles)].slice(0, 8) };
}
