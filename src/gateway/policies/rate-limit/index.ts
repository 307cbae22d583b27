/**
 * `rate-limit` (priority 700, after authentication and authorization, so it counts the
 * principal): several limits per operation decided together — exact sliding windows by
 * default, GCRA limits in one counter-store call (burst 20/s + 100/min + 10,000/day), a response-bytes quota charged after the response,
 * and in-flight caps per consumer and per upstream. Every response of a limited operation
 * carries `RateLimit-Policy` and `RateLimit`; a denial is 429 problem+json naming the limit,
 * with `Retry-After`. When Redis is away, each limit follows its fail mode (open: the
 * node-local fallback decides; closed: 503 `limits-unavailable`). docs/rate-limits.md.
 */
import { Type } from '@sinclair/typebox';
import type { LeaseSpec, LimitState, MaybePromise, RateDecision, RateSpec } from '../../../core/counters.ts';
import { problem } from '../../../core/errors.ts';
import {
  definePolicy,
  deny,
  type Denial,
  type PolicyResult,
  type RequestContext,
  type ResponseContext,
  type RouteInfo,
} from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { policyField, retrySeconds, sfString, stateField, tightest, type HeaderLimit } from './headers.ts';
import { compileKey, ipv6PrefixSchema, knownSelector, uniqueId, type KeyFn } from './keys.ts';
import { levelProblems, mergeLevels, type CompiledLimit, type DeclaredLimit } from './limits.ts';
import { concurrencySchema, rateLimitItemSchema, rateLimitXRampart } from './x-rampart.ts';

interface Lease {
  key: string;
  id: string;
}
interface RateLimitState {
  leases: Lease[] | undefined;
  bytes: RateSpec[] | undefined;
}
declare module '../../policy.ts' {
  interface PolicyState {
    'rate-limit': RateLimitState;
  }
}

const schema = Type.Object(
  {
    defaults: Type.Array(rateLimitItemSchema, {
      description:
        'Limits every operation of every API gets, counted across all of them (e.g. 1000/min per ip). An operation, path or document limit with the same name replaces one.',
      default: [],
    }),
    failMode: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
      description:
        'Default for limits without failMode when Redis is unreachable: open = the node-local fallback limiter decides; closed = 503.',
      default: 'open',
    }),
    headers: Type.Boolean({
      description: 'Send RateLimit-Policy and RateLimit (IETF draft).',
      default: true,
    }),
    legacyHeaders: Type.Boolean({
      description: 'Also send X-RateLimit-Limit/-Remaining/-Reset for the most constrained limit.',
      default: false,
    }),
    ipv6Prefix: ipv6PrefixSchema,
    concurrency: Type.Object(
      {
        perConsumer: Type.Optional(concurrencySchema),
        perUpstream: Type.Optional(
          Type.Integer({ minimum: 1, description: 'In-flight requests per API upstream, across all nodes.' }),
        ),
        leaseTimeout: Type.Integer({
          minimum: 1,
          description: 'Seconds after which an in-flight slot is freed even if its node never released it.',
          default: 60,
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/** Redis hash tags are `{…}`: keep braces of path templates out of the scope part. */
const scopeOf = (s: string): string => s.replace(/[{}]/g, (c) => (c === '{' ? '(' : ')'));

/** What a request's sliding-window and GCRA limits charged (withWindows). */
interface WindowCharge {
  gcra: readonly RateSpec[] | undefined;
  /** Keys of the windows that reserved a slot for request `id`. */
  reserved: readonly string[];
  id: string;
}
/** A request's charge: the GCRA specs alone (one unit each), or the windows' and GCRA's. */
type Charged = readonly RateSpec[] | WindowCharge;

interface RouteLimit {
  limit: CompiledLimit;
  key: KeyFn;
  /** Index of this limit's `per` among the route's distinct ones (each computed once per request). */
  keyIndex: number;
  prefix: string;
}

export const rateLimit = definePolicy({
  name: 'rate-limit',
  priority: PRIORITIES['rate-limit'],
  schema,
  xRampart: rateLimitXRampart,
  create(options, services) {
    const counters = services.counters;
    const defaultsProblems = levelProblems(options.defaults, knownSelector);
    if (defaultsProblems.length)
      throw new Error(
        // Stryker disable next-line ArrayDeclaration: levelProblems gives every problem a path
        defaultsProblems.map((p) => `defaults/${(p.path ?? []).join('/')}: ${p.message}`).join('; '),
      );

    return {
      forRoute(route: RouteInfo) {
        const doc = route.document.raw;
        const pathItem = (doc.paths as Record<string, Record<string, unknown>> | undefined)?.[route.template];
        const x = (o: unknown) => (o as { 'x-rampart'?: Record<string, unknown> } | undefined)?.['x-rampart'];
        const version = `${route.api}${route.base}`;
        const opId = `${version} ${route.operation.method.toUpperCase()} ${route.template}`;
        const merged = mergeLevels(
          [
            {
              // Stryker disable next-line StringLiteral: CompiledLimit.level is not read (the scope and name are)
              level: 'default',
              scope: '*',
              value: options.defaults,
            },
            // Stryker disable next-line StringLiteral: as above
            { level: 'document', scope: version, value: x(doc)?.rateLimit },
            {
              // Stryker disable next-line StringLiteral: as above
              level: 'path',
              scope: `${version}${route.template}`,
              value: x(pathItem)?.rateLimit,
            },
            // Stryker disable next-line StringLiteral: as above
            { level: 'operation', scope: opId, value: x(route.operation.raw)?.rateLimit },
          ],
          options.failMode,
        );
        type Cap = { per: string | string[]; limit: number };
        // The innermost declaration wins, and counts the requests in flight where it is declared:
        // an operation's cap that operation's, a path's that path's, a document's (or the
        // policy default) the whole API version's — as the rate limits' scopes.
        const capAt = (
          [
            [x(route.operation.raw)?.concurrency, opId],
            [x(pathItem)?.concurrency, `${version}${route.template}`],
            [x(doc)?.concurrency, version],
            [options.concurrency.perConsumer, version],
          ] as Array<[Cap | undefined, string]>
        ).find(([cap]) => cap !== undefined);
        const perConsumer = capAt?.[0];
        const capScope = scopeOf(capAt?.[1] ?? version);
        const perUpstream = options.concurrency.perUpstream;
        if (merged.length === 0 && !perConsumer && !perUpstream) return undefined;

        // Limits counting the same `per` share one key function, evaluated once per request.
        const perKeys = new Map<string, number>();
        const keyFns: KeyFn[] = [];
        const compile = (l: CompiledLimit): RouteLimit => {
          const id = l.per.join('\u0000');
          let keyIndex = perKeys.get(id);
          if (keyIndex === undefined) {
            keyIndex = keyFns.push(compileKey(l.per, route, options.ipv6Prefix)) - 1;
            perKeys.set(id, keyIndex);
          }
          return { limit: l, key: keyFns[keyIndex]!, keyIndex, prefix: `rl:${scopeOf(l.scope)}:${l.name}:` };
        };
        // GCRA limits first (one atomic call), then sliding-window ones; header order follows.
        const requests = [
          ...merged.filter((l) => l.unit === 'requests' && l.algorithm === 'gcra'),
          ...merged.filter((l) => l.algorithm === 'sliding-window'), // always request limits (defaultAlgorithm)
        ].map(compile);
        const gcraCount = requests.filter((r) => r.limit.algorithm === 'gcra').length;
        const bytes = merged.filter((l) => l.unit === 'content-bytes').map(compile);
        const headerLimits: HeaderLimit[] = [...requests, ...bytes].map((r) => ({
          name: r.limit.name,
          limit: r.limit.limit,
          windowSeconds: r.limit.windowMs / 1000,
          unit: r.limit.unit,
          quoted: sfString(r.limit.name),
        }));
        /** The request's counter keys, one per distinct `per`. */
        const keysOf = (ctx: RequestContext): string[] => {
          // Stryker disable next-line ArrayDeclaration: a preallocated array; `new Array()` grows to the same elements
          const out = new Array<string>(keyFns.length);
          for (let i = 0; i < keyFns.length; i++) out[i] = keyFns[i]!(ctx);
          return out;
        };
        const gcraLimits = requests.slice(0, gcraCount);
        /** The GCRA specs of a request (one object each: a store may keep them, e.g. for merging). */
        const gcraSpecs = (ctx: RequestContext, keys = keysOf(ctx)): RateSpec[] => {
          // Stryker disable next-line ArrayDeclaration: as in keysOf
          const out = new Array<RateSpec>(gcraLimits.length);
          for (let i = 0; i < gcraLimits.length; i++) {
            const r = gcraLimits[i]!;
            out[i] = specFor(r, keys[r.keyIndex]!);
          }
          return out;
        };
        const policyHeader = policyField(headerLimits);
        /** An undeclared burst is `undefined`: the stores default it to the limit. */
        const specFor = (r: RouteLimit, key: string): RateSpec => ({
          key: `${r.prefix}{${key}}`,
          limit: r.limit.limit,
          windowMs: r.limit.windowMs,
          burst: r.limit.burst,
          failMode: r.limit.failMode,
        });
        const specOf = (r: RouteLimit, ctx: RequestContext): RateSpec => specFor(r, r.key(ctx));
        const leaseTtlMs = options.concurrency.leaseTimeout * 1000;
        const consumer = perConsumer
          ? { key: compileKey(perConsumer.per, route, options.ipv6Prefix), limit: perConsumer.limit }
          : undefined;
        const leaseSpecs = (ctx: RequestContext): LeaseSpec[] => {
          const out: LeaseSpec[] = [];
          if (perUpstream) out.push({ key: `cc:up:{${route.api}}`, limit: perUpstream, ttlMs: leaseTtlMs });
          if (consumer)
            out.push({
              key: `cc:${capScope}:{${consumer.key(ctx)}}`,
              limit: consumer.limit,
              ttlMs: leaseTtlMs,
            });
          return out;
        };
        const stateOf = (ctx: RequestContext): RateLimitState =>
          // Stryker disable next-line ObjectLiteral: both fields start undefined; an empty object reads the same
          (ctx.state['rate-limit'] ??= { leases: undefined, bytes: undefined });

        /** States of the first `states.length` header limits (requests, then bytes). */
        const setHeaders = (ctx: RequestContext, states: readonly LimitState[]): void => {
          if (states.length === 0) return;
          const hl = headerLimits.slice(0, states.length);
          if (options.headers) {
            ctx.responseHeaders['ratelimit-policy'] = policyHeader;
            ctx.responseHeaders['ratelimit'] = stateField(hl, states);
          }
          if (options.legacyHeaders) {
            const i = tightest(hl, states);
            ctx.responseHeaders['x-ratelimit-limit'] = String(hl[i]!.limit);
            ctx.responseHeaders['x-ratelimit-remaining'] = String(states[i]!.remaining);
            ctx.responseHeaders['x-ratelimit-reset'] = String(Math.ceil(states[i]!.resetMs / 1000));
          }
        };

        const refuse = (d: RateDecision, names: readonly HeaderLimit[]): Denial => {
          if (d.degraded === 'closed') {
            return deny(
              problem('limits-unavailable', {
                detail:
                  'The shared limit counters are unreachable and this limit fails closed; try again shortly',
              }),
              { 'Retry-After': String(retrySeconds(Math.max(...d.limits.map((l) => l.retryMs)))) },
            );
          }
          const i = tightest(names, d.limits);
          const s = d.limits[i]!;
          const name = names[i]!.name;
          const wait = retrySeconds(s.retryMs);
          return deny(
            problem('too-many-requests', {
              detail: `Rate limit '${name}' exceeded: ${names[i]!.limit}${names[i]!.unit === 'content-bytes' ? ' response bytes' : ' requests'} per ${names[i]!.windowSeconds} s`,
              limit: name,
              retry_after: wait,
            }),
            { 'Retry-After': String(wait) },
          );
        };

        /**
         * `d`: the request limits' decision (their states first among the header limits);
         * `charged`: what it charged, given back when a later gate (the bytes quota, an
         * in-flight cap) refuses, so a refused request is charged nowhere.
         */
        const afterRates = (
          ctx: RequestContext,
          d: RateDecision,
          charged: Charged | undefined,
        ): MaybePromise<PolicyResult> => {
          if (!d.allowed) {
            setHeaders(ctx, d.limits);
            return refuse(d, headerLimits);
          }
          if (bytes.length === 0) {
            setHeaders(ctx, d.limits);
            return refundIfRefused(leases(ctx), charged);
          }
          const bytesSpecs = bytes.map((r) => specOf(r, ctx));
          const peek = counters.rate(bytesSpecs, { mode: 'peek', cost: 1 });
          const onPeek = (p: RateDecision): MaybePromise<PolicyResult> => {
            setHeaders(ctx, [...d.limits, ...p.limits]);
            if (!p.allowed) {
              giveBack(charged);
              return refuse(p, headerLimits.slice(requests.length));
            }
            stateOf(ctx).bytes = bytesSpecs;
            return refundIfRefused(leases(ctx), charged);
          };
          return peek instanceof Promise ? peek.then(onPeek) : onPeek(peek);
        };

        const refundIfRefused = (
          r: MaybePromise<PolicyResult>,
          charged: Charged | undefined,
        ): MaybePromise<PolicyResult> => {
          if (r instanceof Promise)
            return r.then((x) => {
              if (x !== undefined) giveBack(charged);
              return x;
            });
          if (r !== undefined) giveBack(charged);
          return r;
        };

        /**
         * Gives the request limits' charge back: the sliding windows' reserved slots and the GCRA
         * unit (a forced negative cost; GCRA clamps at now, so no credit builds up).
         */
        const giveBack = (charged: Charged | undefined): void => {
          if (charged === undefined) return;
          if (Array.isArray(charged)) return refundRates(charged);
          const w = charged as WindowCharge;
          for (const key of w.reserved) {
            const u = counters.unwindow(key, w.id);
            if (u instanceof Promise) u.catch(() => undefined);
          }
          if (w.gcra) refundRates(w.gcra);
        };
        const refundRates = (specs: readonly RateSpec[]): void => {
          const r = counters.rate(specs, { mode: 'force', cost: -1 });
          if (r instanceof Promise) r.catch(() => undefined);
        };

        /** No in-flight cap on this route: nothing to acquire (no lease list built per request). */
        const leases = (ctx: RequestContext): MaybePromise<PolicyResult> =>
          // Stryker disable next-line ConditionalExpression: without caps the list is empty and acquireAll answers undefined at once
          perUpstream || consumer ? acquireAll(ctx, leaseSpecs(ctx), 0) : undefined;

        const acquireAll = (
          ctx: RequestContext,
          specs: LeaseSpec[],
          i: number,
        ): MaybePromise<PolicyResult> => {
          if (i === specs.length) return undefined;
          const spec = specs[i]!;
          const id = uniqueId();
          const got = counters.acquire(spec, id);
          const next = (g: {
            allowed: boolean;
            degraded?: 'local' | 'closed';
          }): MaybePromise<PolicyResult> => {
            const st = stateOf(ctx);
            if (!g.allowed) {
              releaseAll(st);
              const upstream = spec.key.startsWith('cc:up:');
              return deny(
                problem(g.degraded === 'closed' ? 'limits-unavailable' : 'too-many-requests', {
                  detail: upstream
                    ? `The upstream already has ${spec.limit} requests in flight`
                    : `At most ${spec.limit} requests in flight per consumer`,
                  limit: upstream ? 'concurrency-upstream' : 'concurrency',
                }),
                { 'Retry-After': '1' },
              );
            }
            (st.leases ??= []).push({ key: spec.key, id });
            return acquireAll(ctx, specs, i + 1);
          };
          return got instanceof Promise ? got.then(next) : next(got);
        };

        /**
         * Sliding-window limits reserve a slot each (exact counts), then the GCRA limits decide
         * in one call; a refusal anywhere gives the reserved slots back, so a refused request
         * is charged nowhere.
         */
        const withWindows = async (
          ctx: RequestContext,
        ): Promise<{ decision: RateDecision; charged: WindowCharge }> => {
          const windows = requests.slice(gcraCount);
          const keys = keysOf(ctx);
          const id = uniqueId();
          const reserved: string[] = [];
          const states: LimitState[] = [];
          let allowed = true;
          /** A limit failed closed (the refusal is 503 limits-unavailable); whether others fell back locally is not needed. */
          let closed = false;
          for (const r of windows) {
            const spec = specFor(r, keys[r.keyIndex]!);
            const w = await counters.window(spec, allowed ? 'reserve' : 'peek', id);
            if (w.degraded === 'closed') closed = true;
            const ok = allowed && w.allowed;
            if (ok) reserved.push(spec.key);
            allowed &&= w.allowed;
            states.push({
              allowed: w.allowed,
              remaining: Math.max(0, r.limit.limit - w.count),
              resetMs: w.resetMs,
              retryMs: w.allowed ? 0 : w.retryMs,
            });
          }
          const gcra = gcraCount ? gcraSpecs(ctx, keys) : undefined;
          const g = gcra
            ? await counters.rate(gcra, allowed ? {} : { mode: 'peek' })
            : { allowed: true, limits: [] };
          if (g.degraded === 'closed') closed = true;
          if (!(allowed && g.allowed)) {
            for (const key of reserved) await counters.unwindow(key, id);
            reserved.forEach(
              (_, i) => (states[i]!.remaining = Math.min(states[i]!.remaining + 1, windows[i]!.limit.limit)),
            );
          }
          const decision: RateDecision = {
            allowed: allowed && g.allowed,
            limits: [...g.limits, ...states],
            ...(closed ? { degraded: 'closed' as const } : {}),
          };
          return { decision, charged: { gcra, reserved, id } };
        };

        const releaseAll = (st: RateLimitState): void => {
          for (const l of st.leases ?? []) {
            const r = counters.release(l.key, l.id);
            if (r instanceof Promise) r.catch(() => undefined);
          }
          st.leases = undefined;
        };

        return {
          ...(bytes.length ? { needsResponseBody: true } : {}),
          onRequest(ctx: RequestContext): PolicyResult | Promise<PolicyResult> {
            if (requests.length === 0) return afterRates(ctx, { allowed: true, limits: [] }, undefined);
            if (gcraCount < requests.length)
              return withWindows(ctx).then((w) => afterRates(ctx, w.decision, w.charged));
            // GCRA limits only: what was charged is these specs, one unit each.
            const specs = gcraSpecs(ctx);
            const d = counters.rate(specs);
            return d instanceof Promise
              ? d.then((x) => afterRates(ctx, x, specs))
              : afterRates(ctx, d, specs);
          },
          onResponse(ctx: RequestContext, res: ResponseContext): void {
            const st = ctx.state['rate-limit'];
            if (!st) return;
            releaseAll(st);
            if (st.bytes && !res.local) {
              const len = Number(res.headers['content-length'] ?? res.body?.length ?? 0);
              if (len > 0) {
                const r = counters.rate(st.bytes, { mode: 'force', cost: len });
                if (r instanceof Promise) r.catch(() => undefined);
              }
            }
          },
        };
      },
    };
  },
});

export { levelProblems, knownSelector };
export type { DeclaredLimit };
