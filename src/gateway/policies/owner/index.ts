/**
 * The `owner` policy (priority 650): object-level authorization (BOLA, OWASP API1:2023,
 * ASVS 8.2.2), declared per operation with `x-rampart.owner`:
 *
 * - `param` — a path/query value must equal a claim (`/users/{userId}` with `userId == sub`);
 * - `lookup` — a sub-request to the upstream (`'GET /records/{recordId}'`, through
 *   `ctx.lookup`: bounded timeout and concurrency) reads the object's owner `field` before
 *   the request is forwarded; a short bounded cache (TTL, size, invalidated by writes to the
 *   same object through the gateway) keeps repeat checks off the upstream;
 * - `mode: response` — reads are checked on the returned object instead (no extra round
 *   trip), and the answer replaced when it is not the caller's;
 * - `list` — list endpoints: items the caller does not own are filtered out (or the answer
 *   refused);
 * - no lookup on a write — the body's owner `field` must equal the claim.
 *
 * A caller who may not touch the object gets 404, exactly as for a missing object, so
 * existence does not leak. `bypassRoles` (hierarchy applied by `roles`) exempt e.g. admins.
 * A lookup that fails, times out, is not JSON or lacks the field fails closed: 503. See
 * docs/policies/owner.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { problem, PROBLEM_CONTENT_TYPE, type Problem } from '../../../core/errors.ts';
import {
  definePolicy,
  LookupError,
  type Denial,
  type RequestContext,
  type ResponseContext,
  type RouteHooks,
  type RouteInfo,
} from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { hasAnyRole } from '../roles/index.ts';
import { OwnerCache } from './cache.ts';
import { claimValue, dotted, filterOwned, isOwner, ownersOf, paramChecker } from './rules.ts';
import { ownerXRampart, type OwnerRule } from './x-rampart.ts';

export const OWNER_OWASP = 'API1:2023';

export const ownerSchema = Type.Object(
  {
    cacheSize: Type.Integer({
      minimum: 0,
      description:
        'Objects whose owners are remembered (LRU). 0 disables the cache: every check is a lookup.',
      default: 10000,
    }),
    cacheTtlMs: Type.Integer({
      minimum: 0,
      maximum: 600000,
      description:
        'How long a looked-up owner is trusted. Writes through the gateway invalidate at once; this bounds how late a change made elsewhere (another client, a job) is seen.',
      default: 5000,
    }),
    lookupTimeoutMs: Type.Integer({
      minimum: 50,
      maximum: 30000,
      description: 'Time for an ownership lookup to answer completely; slower fails closed with 503.',
      default: 2000,
    }),
    lookupMaxBytes: Type.Integer({
      minimum: 1024,
      maximum: 8388608,
      description: 'Largest lookup answer read; bigger fails closed with 503.',
      default: 1048576,
    }),
  },
  { additionalProperties: false, description: 'Object-level authorization from x-rampart.owner.' },
);

export type OwnerOptions = Static<typeof ownerSchema>;

interface OwnerState {
  /** Cache key of the object, for invalidation after a write. */
  key?: string;
  /** The caller's claim value, for response-phase checks. */
  caller?: string;
}

declare module '../../policy.ts' {
  interface PolicyState {
    owner: OwnerState;
  }
}

const NOT_FOUND_PROBLEM = problem('not-found', { detail: 'No such resource' });
const DENY_404: Denial = { problem: NOT_FOUND_PROBLEM, owasp: OWNER_OWASP };
const DENY_NO_CLAIM: Denial = {
  problem: problem('forbidden', { detail: 'The credentials do not identify an owner for this operation' }),
  owasp: OWNER_OWASP,
};
const DENY_ANONYMOUS: Denial = {
  problem: problem('unauthenticated', { detail: 'This operation needs a signed-in caller' }),
  headers: { 'www-authenticate': 'Bearer realm="rampart"' },
  owasp: OWNER_OWASP,
};
const DENY_UNAVAILABLE: Denial = {
  problem: problem('upstream-unavailable', {
    detail: 'Ownership of the object cannot be checked right now, try again later',
  }),
  headers: { 'retry-after': '5' },
  owasp: OWNER_OWASP,
};

/** A lookup answer that means "no such object (for this caller)": answered 404, never cached. */
const GONE = null;
type Owners = readonly string[] | typeof GONE;

/** Why a lookup could not decide (for the `upstream-error` event; never upstream content). */
class Undecidable extends Error {
  // Stryker disable next-line StringLiteral: never read; failed() tells an Undecidable by instanceof and reports its message
  override name = 'Undecidable';
}

const SAFE = new Set(['get', 'head']);

export const owner = definePolicy({
  name: 'owner',
  priority: PRIORITIES.owner,
  schema: ownerSchema,
  xRampart: ownerXRampart,
  create(options, services) {
    const cache = new OwnerCache<Owners>(options.cacheSize, options.cacheTtlMs, services.clock);
    const lookupOpts = { timeoutMs: options.lookupTimeoutMs, maxBytes: options.lookupMaxBytes };

    return {
      forRoute(route: RouteInfo): RouteHooks | undefined {
        const rule = route.rampart.owner as OwnerRule | undefined;
        if (!rule) return undefined;
        return compile(route, rule);
      },
      close() {
        cache.clear();
      },
    };

    function compile(route: RouteInfo, rule: OwnerRule): RouteHooks {
      const where = `${route.operation.method.toUpperCase()} ${route.base}${route.template}`;
      const claim = rule.claim ?? 'sub';
      const bypass = rule.bypassRoles;
      const fields = [rule.field, rule.alsoField].filter((f): f is string => f !== undefined);
      const method = route.operation.method;
      const self = rule.lookup !== undefined && sameOperation(rule.lookup, method, route.template);

      /** Common start of every mode: who is calling, may they skip the check, what is their claim. */
      function caller(ctx: RequestContext): string | Denial | undefined {
        const p = ctx.principal;
        if (p === undefined) return DENY_ANONYMOUS;
        if (bypass !== undefined && hasAnyRole(ctx, bypass)) return undefined;
        return claimValue(p, claim) ?? DENY_NO_CLAIM;
      }

      // (a) A parameter equals the claim.
      if (rule.param !== undefined) {
        const name = rule.param;
        const inPath = route.template.includes(`{${name}}`);
        return {
          onRequest: function ownerParam(ctx) {
            const c = caller(ctx);
            if (typeof c !== 'string') return c;
            const v = inPath ? ctx.route!.params[name] : new URLSearchParams(ctx.query).get(name);
            return v === c ? undefined : DENY_404;
          },
        };
      }

      if (fields.length === 0) throw new Error(`owner: ${where} needs owner.field or owner.param`);

      // (d) Lists: filter (or refuse) the items of the answer.
      if (rule.list !== undefined) {
        const itemsPath = rule.list.items ?? 'items';
        const refuse = rule.list.action === 'refuse';
        return {
          needsResponseBody: true,
          onRequest: function ownerList(ctx) {
            const c = caller(ctx);
            if (typeof c !== 'string') return c;
            ctx.state.owner = { caller: c };
            return undefined;
          },
          onResponse: function ownerListResponse(ctx, res) {
            const c = ctx.state.owner?.caller;
            if (c === undefined || res.local || res.status < 200 || res.status > 299) return;
            const doc = parseBody(res);
            const list = itemsPath === '' ? doc : dotted(doc, itemsPath); // dotted(undefined) is undefined
            if (!Array.isArray(list))
              return replace(ctx, res, DENY_UNAVAILABLE.problem, 'owner list: no items');
            const { kept, removed } = filterOwned(list, fields, c);
            if (removed === 0) return;
            if (refuse) return replace(ctx, res, NOT_FOUND_PROBLEM, undefined);
            if (itemsPath === '') res.body = Buffer.from(JSON.stringify(kept));
            else {
              setDotted(doc, itemsPath, kept);
              res.body = Buffer.from(JSON.stringify(doc));
            }
          },
        };
      }

      // (c) Reads checked on the returned object.
      const responseMode =
        rule.mode === 'response' ||
        (rule.mode === undefined &&
          (rule.lookup === undefined ? SAFE.has(method) : self && SAFE.has(method)));
      if (responseMode) {
        return {
          needsResponseBody: true,
          onRequest: function ownerRead(ctx) {
            const c = caller(ctx);
            if (typeof c !== 'string') return c;
            // A HEAD answer has no body to read the owner from: fail closed (use mode: lookup for HEAD clients).
            if (ctx.method === 'HEAD') return DENY_404;
            ctx.state.owner = { caller: c };
            return undefined;
          },
          onResponse: function ownerReadResponse(ctx, res) {
            const c = ctx.state.owner?.caller;
            if (c === undefined || res.local || res.status < 200 || res.status > 299) return;
            const owners = ownersOf(parseBody(res), fields);
            if (owners === undefined)
              return replace(ctx, res, DENY_UNAVAILABLE.problem, 'owner field missing in the response');
            if (!isOwner(owners, c)) replace(ctx, res, NOT_FOUND_PROBLEM, undefined);
          },
        };
      }

      // (a') A write without a lookup: the body's owner field must be the caller's.
      if (rule.lookup === undefined) {
        return {
          onRequest: function ownerBody(ctx) {
            const c = caller(ctx);
            if (typeof c !== 'string') return c;
            const owners = ownersOf(ctx.json(), fields);
            return owners !== undefined && isOwner(owners, c) ? undefined : DENY_404;
          },
        };
      }

      // (b) A lookup before forwarding.
      const lookup = rule.lookup;
      const target = findOperation(route, lookup);
      if (!target) throw new Error(`owner: ${where}: lookup '${lookup}' is not an operation of the document`);
      const names = [...target.path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!);
      for (const n of names)
        if (!route.template.includes(`{${n}}`))
          throw new Error(
            `owner: ${where}: lookup '${lookup}' needs the path parameter '${n}', which this operation lacks`,
          );
      const checkers = names.map((n) => {
        const param = route.operation.parameters.find((p) => p.in === 'path' && p.name === n);
        return paramChecker(param?.schema);
      });
      const invalid = names.map((n): Denial => ({
        problem: problem('bad-request', { detail: `Path parameter '${n}' is not valid` }),
      }));
      const write = !SAFE.has(method);

      const load = (ctx: RequestContext, params: Record<string, string>): Promise<Owners> =>
        ctx.lookup(lookup, params, lookupOpts).then((res) => {
          if (res.status === 404 || res.status === 403 || res.status === 401 || res.status === 410)
            return GONE;
          if (res.status < 200 || res.status > 299) throw new Undecidable(`lookup answered ${res.status}`);
          let body: unknown;
          try {
            body = res.json();
          } catch {
            throw new Undecidable('lookup answer is not JSON');
          }
          const owners = ownersOf(body, fields);
          if (owners === undefined) throw new Undecidable('lookup answer lacks the owner field');
          return owners;
        });

      const decide = (owners: Owners, c: string): Denial | undefined =>
        owners !== GONE && isOwner(owners, c) ? undefined : DENY_404;

      return {
        onRequest: function ownerLookup(ctx) {
          const c = caller(ctx);
          const params = ctx.route!.params;
          // The lookup and each value, one per line (neither holds a line break).
          let key = lookup;
          // Stryker disable next-line EqualityOperator: one step past the end appends '\nundefined' to every key alike
          for (let i = 0; i < names.length; i++) {
            const v = params[names[i]!]!;
            const check = checkers[i];
            if (check !== undefined && check(v) !== undefined) return invalid[i];
            key += '\n' + v;
          }
          // Writes invalidate the object's cached owner afterwards, bypassed or not.
          if (write) ctx.state.owner = { key };
          if (typeof c !== 'string') return c;
          const hit = cache.get(key);
          if (hit !== undefined) {
            // Stryker disable next-line UpdateOperator: a statistic no decision reads
            cache.hits++;
            return decide(hit, c);
          }
          const picked: Record<string, string> = {};
          for (const n of names) picked[n] = params[n]!;
          return Promise.resolve(
            cache.through(
              key,
              () => load(ctx, picked),
              (v) => v !== GONE,
            ),
          ).then(
            (owners) => decide(owners, c),
            (err: unknown) => failed(ctx, route, err),
          );
        },
        ...(write
          ? {
              onResponse: function ownerInvalidate(ctx: RequestContext, res: ResponseContext) {
                const key = ctx.state.owner?.key;
                if (key !== undefined && !res.local && res.status < 400) cache.invalidate(key);
              },
            }
          : {}),
      };
    }
  },
});

export default owner;

/** A lookup that could not decide: logged as an `upstream-error` event, answered 503. */
function failed(ctx: RequestContext, route: RouteInfo, err: unknown): Denial {
  const reason =
    err instanceof Undecidable
      ? err.message
      : err instanceof LookupError
        ? `lookup ${err.code}`
        : 'lookup failed';
  ctx.emit({
    type: 'upstream-error',
    at: ctx.clock.now(),
    requestId: ctx.id,
    ip: ctx.ip,
    api: route.api,
    reason: `owner: ${reason}`,
  });
  return DENY_UNAVAILABLE;
}

function sameOperation(lookup: string, method: string, template: string): boolean {
  const sp = lookup.indexOf(' ');
  return lookup.slice(0, sp).toLowerCase() === method && lookup.slice(sp + 1) === template;
}

function findOperation(route: RouteInfo, lookup: string) {
  const sp = lookup.indexOf(' ');
  const m = lookup.slice(0, sp).toLowerCase();
  const t = lookup.slice(sp + 1);
  return route.document.operations.find((o) => o.method === m && o.path === t);
}

function parseBody(res: ResponseContext): unknown {
  if (res.body === undefined) return undefined;
  try {
    return JSON.parse(res.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function setDotted(doc: unknown, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = doc as Record<string, unknown>;
  for (let i = 0; i < parts.length - 1; i++) cur = cur[parts[i]!] as Record<string, unknown>;
  cur[parts.at(-1)!] = value;
}

/**
 * Replaces an upstream answer with a problem (response-phase denial): the object is not the
 * caller's (404, exactly like a missing one) or its owner cannot be told (503). Emits the
 * `denied` event the gateway emits for request-phase denials.
 */
function replace(ctx: RequestContext, res: ResponseContext, p: Problem, reason: string | undefined): void {
  res.status = p.status;
  res.headers = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (p.status === 503) res.headers['retry-after'] = '5';
  res.body = Buffer.from(JSON.stringify({ ...p, request_id: ctx.id }));
  const code = p.type.slice(p.type.lastIndexOf('/') + 1);
  ctx.emit({
    type: 'denied',
    at: ctx.clock.now(),
    requestId: ctx.id,
    ip: ctx.ip,
    policy: 'owner',
    problem: code,
    ...(ctx.route ? { route: ctx.route.template } : {}),
    ...(ctx.principal ? { principal: ctx.principal.id } : {}),
    owasp: OWNER_OWASP,
  });
  if (reason !== undefined)
    ctx.emit({
      type: 'upstream-error',
      at: ctx.clock.now(),
      requestId: ctx.id,
      ip: ctx.ip,
      // Stryker disable next-line OptionalChaining,StringLiteral: a route's response hook runs only for requests that matched the route
      api: ctx.route?.api ?? '',
      reason: `owner: ${reason}`,
    });
}
