import { Type } from '@sinclair/typebox';
import { problem } from '../../../core/errors.ts';
import type { JsonSchema } from '../../../core/openapi.ts';
import { outboundGuard, SsrfBlocked } from '../../../core/ssrf.ts';
import { parseQuery } from '../../contract/params.ts';
import { definePolicy, deny, type RequestContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { ssrfXRampart } from './x-rampart.ts';

const schema = Type.Object(
  {
    schemes: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9+.-]*$' }), {
      minItems: 1,
      uniqueItems: true,
      description: 'URL schemes allowed in URL fields.',
      default: ['https', 'http'],
    }),
    allowHosts: Type.Array(Type.String({ minLength: 1 }), {
      description: 'If set, the only hosts URL fields may name: example.com, *.example.com, host:port.',
      default: [],
    }),
    allowPrivate: Type.Array(Type.String({ minLength: 1 }), {
      description: 'host[:port] entries allowed even on private/loopback addresses (an internal image host).',
      default: [],
    }),
    maxUrls: Type.Integer({
      minimum: 1,
      description: 'URLs checked per request at most (beyond: 422).',
      default: 16,
    }),
  },
  { additionalProperties: false, description: 'SSRF guard for URLs the upstream will fetch (API7).' },
);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const URL_FORMATS = new Set(['uri', 'url', 'iri']);

/** Pointer patterns (segments, `*` = any array item) of format uri/url strings in a body schema. */
export function urlFields(root: JsonSchema | undefined): string[][] {
  const out: string[][] = [];
  const seen = new Set<unknown>();
  const walk = (s: unknown, path: string[], depth: number): void => {
    if (!isObj(s) || depth > 12 || seen.has(s)) return;
    seen.add(s);
    if (typeof s.format === 'string' && URL_FORMATS.has(s.format)) out.push(path);
    if (isObj(s.properties))
      for (const [k, p] of Object.entries(s.properties)) walk(p, [...path, k], depth + 1);
    if (isObj(s.items)) walk(s.items, [...path, '*'], depth + 1);
    for (const key of ['allOf', 'anyOf', 'oneOf'])
      if (Array.isArray(s[key])) for (const m of s[key] as unknown[]) walk(m, path, depth + 1);
    seen.delete(s);
  };
  walk(root, [], 0);
  return out;
}

/** Every string at a pattern in a value, with its pointer. */
function valuesAt(value: unknown, pattern: readonly string[], at = '/body'): Array<[string, string]> {
  if (pattern.length === 0) return typeof value === 'string' ? [[value, at]] : [];
  const [head, ...rest] = pattern;
  if (head === '*') {
    if (!Array.isArray(value)) return [];
    return value.flatMap((v, i) => valuesAt(v, rest, `${at}/${i}`));
  }
  if (!isObj(value) || !Object.prototype.hasOwnProperty.call(value, head!)) return [];
  return valuesAt(value[head!], rest, `${at}/${head}`);
}

/**
 * ssrf-guard: URLs in requests that the upstream will fetch — properties and query
 * parameters with `format: uri`/`url`, and `x-rampart.ssrf.fields` — must use an allowed
 * scheme, carry no credentials, name an allowed host and resolve only to public addresses
 * (the shared guard of src/core/ssrf.ts). Otherwise 422 `url-not-allowed`.
 */
export const ssrfGuard = definePolicy({
  name: 'ssrf-guard',
  priority: PRIORITIES['ssrf-guard'],
  enabledByDefault: false,
  schema,
  xRampart: ssrfXRampart,
  create(options) {
    const guard = outboundGuard({
      schemes: options.schemes,
      allowHosts: options.allowHosts,
      allowPrivate: options.allowPrivate,
    });
    return {
      forRoute(route) {
        const op = route.operation;
        const bodyPatterns: string[][] = [];
        const queryNames: string[] = [];
        for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
          if (/json/i.test(type)) bodyPatterns.push(...urlFields(media.schema));
        for (const p of op.parameters)
          if (p.in === 'query' && isObj(p.schema) && URL_FORMATS.has(p.schema.format as string))
            queryNames.push(p.name);
        const declared = (route.rampart.ssrf as { fields?: string[] } | undefined)?.fields ?? [];
        for (const f of declared) {
          if (f.startsWith('query.')) queryNames.push(f.slice(6));
          else if (f.startsWith('/'))
            bodyPatterns.push(
              f
                .slice(1)
                .split('/')
                .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')),
            );
          else bodyPatterns.push([f]);
        }
        if (bodyPatterns.length === 0 && queryNames.length === 0) return undefined;
        const unique = [...new Map(bodyPatterns.map((p) => [p.join('/'), p])).values()];
        const routeName = `${op.method.toUpperCase()} ${route.template}`;
        return {
          onRequest: async function ssrfGuardHook(ctx: RequestContext) {
            const urls: Array<[string, string]> = [];
            if (queryNames.length && ctx.query) {
              const q = parseQuery(ctx.query);
              for (const n of queryNames) for (const v of q.get(n) ?? []) urls.push([v, `/query/${n}`]);
            }
            const body = unique.length ? ctx.json() : undefined;
            if (body !== undefined) for (const p of unique) urls.push(...valuesAt(body, p));
            if (urls.length === 0) return undefined;
            if (urls.length > options.maxUrls)
              return deny(
                problem('url-not-allowed', { detail: `At most ${options.maxUrls} URLs per request` }),
              );
            for (const [url, pointer] of urls) {
              try {
                await guard.check(url);
              } catch (err) {
                if (!(err instanceof SsrfBlocked)) throw err;
                ctx.emit({
                  type: 'contract-violation',
                  at: ctx.clock.now(),
                  requestId: ctx.id,
                  ip: ctx.ip,
                  policy: 'ssrf-guard',
                  direction: 'request',
                  action: 'blocked',
                  api: route.api,
                  route: routeName,
                  problem: 'url-not-allowed',
                  violations: [{ pointer, keyword: err.reason }],
                });
                return deny(
                  problem('url-not-allowed', {
                    detail: `The URL at ${pointer} is not allowed: ${err.message}`,
                    errors: [{ pointer, reason: err.reason }],
                  }),
                );
              }
            }
            return undefined;
          },
        };
      },
    };
  },
});
