/**
 * Who a limit counts: selectors (`per`) compiled once per route into a function that reads
 * the consumer's identity from a request. Shared by rate-limit, flow-limit and brute-force.
 *
 * - `ip`: the client address the gateway resolved (X-Forwarded-For only from `trustedProxies`,
 *   so a spoofed header from anyone else changes nothing); IPv6 addresses count per /64 (one
 *   customer's allocation), IPv4-mapped IPv6 as IPv4.
 * - `user`: the principal's id; `api-key`: the API key (id of an authenticated key principal);
 *   `client`: the OAuth client (`client_id`, else `azp`); `route`: the operation itself (one
 *   counter shared by every caller).
 * - `username` (the JSON body's `username`, for logins), `path.<param>`, `query.<name>`,
 *   `header.<name>`, `body.<field.path>`, `claim.<name>`.
 *
 * A selector whose value is missing (no principal on a public route, no such header) counts
 * the request under the client address instead, so leaving a value out never escapes a limit.
 * Long values are hashed: keys stay short and no raw header or body value lands in Redis.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { RequestContext, RouteInfo } from '../../policy.ts';

/** `ipv6Prefix` of the counting policies (rate-limit, brute-force, flow-limit): one schema. */
export const ipv6PrefixSchema = Type.Integer({
  minimum: 32,
  maximum: 128,
  description: 'IPv6 clients are counted per network of this prefix length (one customer allocation).',
  default: 64,
});

const NODE = randomBytes(6).toString('base64url');
let seq = 0;
/** An id unique across gateway nodes and processes (a lease, a failure entry, a flow use). */
export const uniqueId = (): string => `${NODE}:${++seq}`;

export type KeyFn = (ctx: RequestContext) => string;

/** Selector names accepted besides the `<source>.<name>` forms. */
export const SIMPLE_SELECTORS = ['user', 'ip', 'api-key', 'client', 'route', 'username'] as const;
export const SOURCE_SELECTORS = ['path', 'query', 'header', 'body', 'claim'] as const;

/** The network a client address counts under: IPv4 as is, IPv6 by its first `v6Prefix` bits. */
export function ipKey(address: string, v6Prefix = 64): string {
  if (!address.includes(':')) return address; // IPv4 (the resolved client address), as is
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) return address.slice(7);
  if (isIP(address) !== 6) return address;
  const groups = expandV6(address);
  const full = Math.floor(v6Prefix / 16);
  const out = groups.slice(0, full);
  const rest = v6Prefix % 16;
  if (rest) out.push(groups[full]! & (0xffff << (16 - rest)) & 0xffff);
  return `${out.map((g) => g.toString(16)).join(':')}::/${v6Prefix}`;
}

function expandV6(a: string): number[] {
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    tail = [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
    a = a.slice(0, -v4[1]!.length).replace(/:$/, ':0');
  }
  const [head, back] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':').filter((x) => x !== '') : [];
  const b = back ? back.split(':').filter((x) => x !== '') : [];
  const fill = 8 - tail.length - h.length - b.length;
  const groups = [...h, ...Array<string>(Math.max(0, back === undefined ? 0 : fill)).fill('0'), ...b];
  return [...groups.map((g) => parseInt(g, 16) || 0), ...tail].slice(0, 8);
}

const short = (v: string): string =>
  v.length <= 64 && /^[\w.@:/-]*$/.test(v)
    ? v
    : '#' + createHash('sha256').update(v).digest('base64url').slice(0, 22);

function queryValue(query: string, name: string): string | undefined {
  if (!query) return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    try {
      if (decodeURIComponent(k.replace(/\+/g, ' ')) === name)
        return eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function dig(v: unknown, path: readonly string[]): unknown {
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

const scalar = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** One selector → a function returning its value for a request, or undefined when absent. */
function selector(sel: string, route: RouteInfo): (ctx: RequestContext) => string | undefined {
  switch (sel) {
    case 'user':
      return (ctx) => ctx.principal?.id;
    case 'ip':
      return () => undefined; // the fallback is the client network
    case 'api-key':
      return (ctx) => {
        const p = ctx.principal;
        if (p?.kind !== 'api-key') return undefined;
        return scalar(p.claims.keyId) ?? scalar(p.claims.kid) ?? scalar(p.claims.jti) ?? p.id;
      };
    case 'client':
      return (ctx) => scalar(ctx.principal?.claims.client_id) ?? scalar(ctx.principal?.claims.azp);
    case 'route': {
      const id = `${route.operation.method.toUpperCase()} ${route.base}${route.template}`;
      return () => id;
    }
    case 'username':
      return (ctx) => {
        const u = scalar(dig(safeJson(ctx), ['username']));
        return u === undefined ? undefined : u.normalize('NFKC').trim().toLowerCase();
      };
  }
  const dot = sel.indexOf('.');
  const source = sel.slice(0, dot);
  const name = sel.slice(dot + 1);
  switch (source) {
    case 'path':
      return (ctx) => ctx.route?.params[name];
    case 'query':
      return (ctx) => queryValue(ctx.query, name);
    case 'header': {
      const h = name.toLowerCase();
      return (ctx) => {
        const v = ctx.headers[h];
        return Array.isArray(v) ? v.join(',') : v;
      };
    }
    case 'body': {
      const path = name.split('.');
      return (ctx) => scalar(dig(safeJson(ctx), path));
    }
    case 'claim': {
      const path = name.split('.');
      return (ctx) => scalar(dig(ctx.principal?.claims, path));
    }
  }
  throw new Error(`unknown selector '${sel}'`);
}

/** The parsed JSON body, or undefined when there is none or it is malformed (later policies answer that). */
function safeJson(ctx: RequestContext): unknown {
  try {
    return ctx.json();
  } catch {
    return undefined;
  }
}

/**
 * Compiles `per` into one key function: `name=value` parts joined by `|`. A part whose value
 * is missing counts under the client network instead (`ip=…`, once), so a caller cannot
 * dodge a limit by omitting a value, and the other parts still separate the counters.
 */
export function compileKey(per: string | readonly string[], route: RouteInfo, v6Prefix = 64): KeyFn {
  const sels = (Array.isArray(per) ? per : [per]) as readonly string[];
  const parts = sels.map((s) => ({ name: s, get: selector(s, route) }));
  if (sels.every((s) => s === 'ip')) return (ctx) => `ip=${ipKey(ctx.ip, v6Prefix)}`;
  return (ctx) => {
    let out = '';
    let ip = false;
    for (const p of parts) {
      const v = p.name === 'ip' ? undefined : p.get(ctx);
      if (v === undefined || v === '') {
        if (ip) continue;
        ip = true;
        out += (out ? '|' : '') + `ip=${ipKey(ctx.ip, v6Prefix)}`;
      } else out += (out ? '|' : '') + `${p.name}=${short(v)}`;
    }
    return out;
  };
}

/** Whether a selector is known (`rampart check` refuses others with their location). */
export function knownSelector(sel: string): boolean {
  if ((SIMPLE_SELECTORS as readonly string[]).includes(sel)) return true;
  const dot = sel.indexOf('.');
  return (
    dot > 0 &&
    (SOURCE_SELECTORS as readonly string[]).includes(sel.slice(0, dot)) &&
    /^[A-Za-z0-9_.-]+$/.test(sel.slice(dot + 1))
  );
}
