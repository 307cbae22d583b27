/**
 * Everything one configuration builds, swapped as a whole on reload: the router, the
 * compiled policy chains (one for unmatched requests, one per operation), the upstream
 * pools, and the lookup service policies use for sub-requests.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import { deadline } from '../core/deadline.ts';
import type { OpenApiDocument } from '../core/openapi.ts';
import { Chain, ChainCompiler } from './chain.ts';
import type { ApiConfig, LimitsConfig, RampartConfig } from './config.ts';
import { IpMatcher } from './ip.ts';
import {
  LookupError,
  type LookupOptions,
  type LookupResponse,
  type Policy,
  type RequestContext,
  type VersionLifecycle,
} from './policy.ts';
import { Router } from './router.ts';
import { requestHeaderDrops, Upstreams, type RequestHeaderDrops } from './upstream.ts';

/** A loaded API version: its config and parsed OpenAPI document. */
export interface LoadedVersion {
  base: string;
  document: OpenApiDocument;
  upstream: string;
  stripBase: boolean;
  /** Deprecation/sunset/successor from rampart.yaml. */
  lifecycle?: VersionLifecycle;
  /**
   * An in-process upstream: requests that pass the operation's chain are answered by this
   * handler instead of being forwarded to `upstream` (no pool is opened). Rampart's own admin
   * API runs this way, behind the same policies as any protected API.
   */
  local?: LocalHandler;
  /**
   * Learn mode (`mode: learn`): no document yet — every request under the base matches and is
   * forwarded after the pre-routing policies only (the document is empty).
   */
  passthrough?: boolean;
}

/** What a {@link LocalHandler} answers: a JSON (or raw) body, or a stream it writes itself. */
export type LocalAnswer =
  | {
      status: number;
      headers?: Record<string, string | string[]>;
      /** Serialised as JSON (`application/json`) unless a Buffer; absent for 204. */
      body?: unknown;
    }
  | {
      status: 200;
      /** Called after the response phase, with the policies' headers already set on `res`. */
      stream(req: IncomingMessage, res: ServerResponse): void;
    };

/**
 * Answers one request of an in-process API version after its request phase passed. A thrown
 * `ProblemError` becomes the problem answer (the response phase runs for it too).
 */
export type LocalHandler = (ctx: RequestContext) => LocalAnswer | Promise<LocalAnswer>;

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

export interface VersionInfo extends LoadedVersion {
  api: string;
  apiConfig: ApiConfig;
  /** The upstream pool; undefined for an in-process version (`local`). */
  pool: Pool | undefined;
  upstreamBase: string;
  /** `METHOD /template` → template, for lookups. */
  operations: Map<string, string>;
  /** Request header names never forwarded to this API, per kind of peer (built once). */
  drops: RequestHeaderDrops;
  /** Learn mode: the share of observed exchanges whose bodies are sampled; undefined = not observed. */
  learnSample: number | undefined;
}

/** Lookup bounds (per runtime). */
export const LOOKUP_TIMEOUT_MS = 2000;
export const LOOKUP_MAX_CONCURRENT = 64;
export const LOOKUP_MAX_BYTES = 1 << 20;

export class Runtime {
  readonly router: Router<Chain>;
  readonly policies: ChainCompiler;
  readonly upstreams: Upstreams;
  readonly trusted: IpMatcher;
  readonly limits: LimitsConfig;
  readonly forwardedHeader: boolean;
  readonly mounts: Mount[];
  readonly versionInfo = new Map<string, VersionInfo>();
  inflight = 0;
  private lookups = 0;
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
        const key = versionKey(api.config.name, v.base);
        const u = new URL(v.upstream);
        const pool = v.local ? undefined : this.upstreams.pool(u.origin, api.config.connections);
        const operations = new Map<string, string>();
        for (const op of v.document.operations)
          operations.set(`${op.method.toUpperCase()} ${op.path}`, op.path);
        this.versionInfo.set(key, {
          ...v,
          api: api.config.name,
          apiConfig: api.config,
          pool,
          upstreamBase: u.pathname.replace(/\/$/, ''),
          operations,
          drops: requestHeaderDrops(api.config),
          learnSample:
            api.config.mode === 'learn' || api.config.learn ? (api.config.learnSample ?? 1) : undefined,
        });
        routes.push({
          key,
          api: api.config.name,
          base: v.base,
          document: v.document,
          ...(v.lifecycle ? { lifecycle: v.lifecycle } : {}),
          ...(v.passthrough ? { passthrough: true } : {}),
        });
      }
    }
    this.policies = new ChainCompiler(input.policies);
    // Per-route chains, compiled once: a policy with nothing to do on an operation is not in its chain.
    // A learn-mode version's requests run the pre-routing chain only (nothing is declared to check).
    this.router = new Router(
      routes,
      (route) => this.policies.forRoute(route),
      () => this.policies.global,
    );
    this.mounts = input.mounts ?? [];
  }

  /** The chain of requests that match no operation. */
  get global(): Chain {
    return this.policies.global;
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
    await this.policies.close();
    await this.upstreams.close();
  }

  /**
   * `ctx.lookup`: a GET (or any declared method) to the same upstream as the request's
   * version, through its pool. The operation must be declared by the route's document.
   */
  async lookup(
    ctx: RequestContext,
    operation: string,
    params: Record<string, string>,
    opts: LookupOptions = {},
  ): Promise<LookupResponse> {
    const route = ctx.route;
    if (!route) throw new LookupError('no-route', 'lookups need a matched route');
    const v = this.versionInfo.get(versionKey(route.api, route.base));
    const pool = v?.pool;
    if (!v || !pool) throw new LookupError('no-route', 'the route has no upstream');
    const sp = operation.indexOf(' ');
    const method = operation.slice(0, sp).toUpperCase();
    const template = v.operations.get(`${method} ${operation.slice(sp + 1).trim()}`);
    if (sp < 1 || template === undefined)
      throw new LookupError(
        'unknown-operation',
        `'${operation}' is not an operation of ${route.api} ${route.base}`,
      );
    let missing: string | undefined;
    const filled = template.replace(/\{([^{}]+)\}/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) {
        missing = name;
        return '';
      }
      return encodeURIComponent(value);
    });
    if (missing !== undefined)
      throw new LookupError('unknown-operation', `parameter '${missing}' is missing`);
    if (this.lookups >= LOOKUP_MAX_CONCURRENT) throw new LookupError('busy', 'too many lookups in flight');
    const headers: Record<string, string> = { ...ctx.upstreamHeaders, accept: 'application/json' };
    headers['x-request-id'] = ctx.id;
    const authorization = ctx.headers.authorization;
    if (opts.forwardAuthorization !== false && typeof authorization === 'string')
      headers.authorization = authorization;
    if (opts.headers) Object.assign(headers, opts.headers);
    const timeout = opts.timeoutMs ?? LOOKUP_TIMEOUT_MS;
    const maxBytes = opts.maxBytes ?? LOOKUP_MAX_BYTES;
    const path =
      v.upstreamBase +
      (v.stripBase || v.base === '/' ? '' : v.base) +
      filled +
      (opts.query ? '?' + opts.query : '');
    const limit = deadline(timeout);
    const signal = limit.signal;
    this.lookups++;
    try {
      const r = await pool.request({
        path,
        method: method as Dispatcher.HttpMethod,
        headers,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of r.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          r.body.destroy();
          throw new LookupError('too-large', `the lookup answer exceeds ${maxBytes} bytes`);
        }
        chunks.push(chunk);
      }
      const body = Buffer.concat(chunks, size);
      const out: Record<string, string | string[]> = {};
      for (const [k, val] of Object.entries(r.headers)) if (val !== undefined) out[k] = val;
      return {
        status: r.statusCode,
        headers: out,
        body,
        json: () => JSON.parse(body.toString('utf8')) as unknown,
      };
    } catch (err) {
      if (err instanceof LookupError) throw err;
      if (signal.aborted) throw new LookupError('timeout', `the lookup took longer than ${timeout} ms`);
      throw new LookupError(
        'upstream',
        `the lookup failed (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    } finally {
      limit.clear();
      this.lookups--;
    }
  }
}

export const versionKey = (api: string, base: string): string => `${api} ${base}`;
