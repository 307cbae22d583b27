import type { Check } from '../context.ts';
import { propertiesOf, requestSchema } from '../spec.ts';
import { fix, status, who, OWASP } from './util.ts';
import { writableTargets } from './resource.ts';

const URLISH = (name: string, s: Record<string, unknown>): boolean =>
  s.format === 'uri' ||
  s.format === 'url' ||
  s.format === 'iri' ||
  /(url|uri|href|link|callback|webhook|endpoint|redirect|image|avatar|feed|source)$/i.test(name);

/**
 * SSRF: URL-typed inputs (format uri/url, or url-like names) get a URL of the scanner's
 * local canary listener; a request arriving there with the planted token proves the
 * target fetches what callers ask it to (confirmed, no guesswork).
 */
export const ssrf: Check = {
  id: 'ssrf-canary',
  title: 'Server-side request forgery',
  owasp: 'API7:2023',
  cwe: 918,
  severity: 'high',
  applicable: (ctx) => (!ctx.canary ? 'no canary listener' : undefined),
  async *run(ctx) {
    const canary = ctx.canary!;
    for (const t of writableTargets(ctx, ['POST', 'PUT', 'PATCH']).concat(
      // Own-resource writes without path parameters (PUT /me/avatar-like).
      ctx.ops
        .filter(
          (s) =>
            ['PUT', 'PATCH'].includes(s.method) && !s.path.includes('{') && requestSchema(s.op) !== undefined,
        )
        .map((sop) => ({ sop, params: {}, ...(ctx.users[0] ? { identity: ctx.users[0] } : {}) })),
    )) {
      for (const [name] of Object.entries(propertiesOf(requestSchema(t.sop.op)))
        .filter(([k, s]) => URLISH(k, s))
        .slice(0, 3)) {
        const token = canary.newToken();
        const url = canary.url(token);
        const body = { ...(ctx.sampleBody(t.sop) ?? {}), [name]: url };
        const x = await ctx.call(t.sop, {
          params: t.params,
          body,
          ...(t.identity ? { identity: t.identity } : {}),
        });
        const hit = await canary.waitFor(token, 1500);
        if (!hit) continue;
        yield {
          operation: t.sop.key,
          key: name,
          title: `${t.sop.key} fetches any URL given in '${name}'`,
          description: `'${name}' was set to the scanner's loopback canary (${url}); the canary received ${hit.method} ${hit.path} from ${hit.remoteAddress}${hit.userAgent ? ` (${hit.userAgent})` : ''}. The API makes requests to addresses its callers choose, including internal ones.`,
          exchanges: [{ x, note: `${who(t.identity)}: ${status(x)}; canary hit from ${hit.remoteAddress}` }],
          confidence: 'confirmed',
          details: { canaryHit: hit },
          remediation: fix(
            'Allow only http(s) to an allow-list of hosts, resolve and refuse private/loopback/link-local addresses at connect time, do not follow redirects, never echo the fetched content.',
            'ssrf-guard',
            `x-rampart:\n  ssrf: { fields: [${name}] }`,
            [OWASP + '0xa7-server-side-request-forgery/'],
          ),
        };
      }
    }
  },
};
