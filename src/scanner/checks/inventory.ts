import type { Check, ScanContext } from '../context.ts';
import type { Exchange } from '../http.ts';
import { fix, ok, status, OWASP } from './util.ts';

/** Well-known paths that should not answer on a production API unless documented. */
export const COMMON_PATHS: ReadonlyArray<
  [string, 'debug' | 'admin' | 'metrics' | 'config' | 'spec' | 'vcs']
> = [
  ['/debug', 'debug'],
  ['/debug/vars', 'debug'],
  ['/debug/pprof/', 'debug'],
  ['/_debug', 'debug'],
  ['/console', 'debug'],
  ['/trace', 'debug'],
  ['/admin', 'admin'],
  ['/admin/', 'admin'],
  ['/administrator', 'admin'],
  ['/manage', 'admin'],
  ['/metrics', 'metrics'],
  ['/prometheus', 'metrics'],
  ['/stats', 'metrics'],
  ['/status', 'metrics'],
  ['/server-status', 'metrics'],
  ['/actuator', 'metrics'],
  ['/actuator/env', 'config'],
  ['/actuator/health', 'metrics'],
  ['/actuator/heapdump', 'config'],
  ['/env', 'config'],
  ['/.env', 'config'],
  ['/config', 'config'],
  ['/config.json', 'config'],
  ['/settings', 'config'],
  ['/phpinfo.php', 'config'],
  ['/info', 'config'],
  ['/openapi.json', 'spec'],
  ['/openapi.yaml', 'spec'],
  ['/swagger.json', 'spec'],
  ['/swagger-ui/', 'spec'],
  ['/api-docs', 'spec'],
  ['/v2/api-docs', 'spec'],
  ['/v3/api-docs', 'spec'],
  ['/graphql', 'spec'],
  ['/.git/config', 'vcs'],
  ['/.git/HEAD', 'vcs'],
];

const SECRETISH = /secret|password|passwd|private[_-]?key|api[_-]?key|token|credential|DB_|DATABASE_URL/i;

const fingerprint = (x: Exchange): string =>
  `${status(x)}|${(x.response?.text ?? '').replace(/[0-9a-f]{8,}/gi, '').slice(0, 200)}`;

function documented(ctx: ScanContext, path: string): boolean {
  return ctx.ops.some((s) =>
    new RegExp(
      '^' + s.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\\{[^}]+\\\}|\{[^}]+\}/g, '[^/]+') + '/?$',
    ).test(path),
  );
}

/**
 * Improper inventory: well-known undocumented endpoints (debug, admin, metrics, env,
 * actuator, spec files, VCS metadata) at the origin root and under each server base,
 * judged against a random-path baseline (catch-all answers are not findings); and older
 * versions (`/v1` beside `/v2`) still answering the current operations' paths.
 */
export const inventory: Check = {
  id: 'inventory',
  title: 'Improper inventory',
  owasp: 'API9:2023',
  cwe: 1059,
  severity: 'medium',
  applicable: () => undefined,
  async *run(ctx) {
    const bases = ['', ...new Set(ctx.ops.map((s) => s.base).filter(Boolean))];
    const cookie = ctx.identities.find((i) => i.name)?.headers;
    for (const base of bases) {
      const random = await ctx.http.send({ method: 'GET', path: `${base}/rampart-${ctx.tag}-nothing-here` });
      const soft404 = random.response ? fingerprint(random) : '';
      for (const [p, kind] of COMMON_PATHS) {
        const path = base + p;
        if (documented(ctx, path)) continue;
        const x = await ctx.http.send({ method: 'GET', path });
        if (!ok(x) || fingerprint(x) === soft404 || x.response!.text.trim() === '') continue;
        const secrets = SECRETISH.test(x.response!.text);
        yield {
          operation: `GET ${path}`,
          key: path,
          cwe: kind === 'debug' ? 489 : kind === 'spec' ? 200 : 538,
          severity: secrets || kind === 'vcs' ? 'high' : kind === 'spec' ? 'low' : 'medium',
          title: `Undocumented ${kind} endpoint ${path} answers`,
          description: `GET ${path} is in no document yet answered ${status(x)} without credentials${secrets ? ', and its content looks like configuration secrets' : ''}.`,
          exchanges: [
            { x, note: `${status(x)}${secrets ? ', secret-looking content' : ''}` },
            ...(random.response
              ? [{ x: random, note: `baseline for an unknown path: ${status(random)}` }]
              : []),
          ],
          confidence: 'confirmed',
          remediation: fix(
            'Remove debug/admin/metrics endpoints from production builds, or protect and document them; route only what the inventory lists.',
            'routing',
            undefined,
            [OWASP + '0xa9-improper-inventory-management/'],
          ),
        };
      }
    }
    // Older versions beside the current one.
    const documentedBases = new Set(ctx.ops.map((s) => s.base));
    for (const base of documentedBases) {
      const m = /^(.*\/v)(\d+)$/.exec(base);
      if (!m) continue;
      for (let v = Number(m[2]) - 1; v >= 0 && v >= Number(m[2]) - 3; v--) {
        const old = `${m[1]}${v}`;
        if (documentedBases.has(old)) continue;
        for (const sop of ctx.ops
          .filter((s) => s.base === base && s.method === 'GET' && !s.path.includes('{'))
          .slice(0, 4)) {
          const path = old + sop.path.slice(base.length);
          const x = await ctx.http.send({
            method: 'GET',
            path,
            headers: { ...(sop.secured && cookie ? cookie : {}) },
          });
          if (!ok(x)) continue;
          const announced =
            x.response!.headers.deprecation !== undefined || x.response!.headers.sunset !== undefined;
          yield {
            operation: `GET ${path}`,
            key: old,
            severity: announced ? 'low' : 'medium',
            title: `Undocumented older version ${old} still answers`,
            description: `GET ${path} (the ${old} twin of ${sop.key}) answered ${status(x)}${announced ? ' and announces its deprecation' : ' with no Deprecation or Sunset header'}; it is in no document given to the scan, so nobody tests or patches it.`,
            exchanges: [{ x, note: `${status(x)}` }],
            confidence: 'confirmed',
            remediation: fix(
              'Retire old versions, or document them and route them through the same policies with Deprecation/Sunset headers.',
              'versions',
              "x-rampart:\n  deprecated: 'YYYY-MM-DD'\n  sunset: 'YYYY-MM-DD'\n  successor: " + base,
              [OWASP + '0xa9-improper-inventory-management/'],
            ),
          };
          break;
        }
      }
    }
    // Deprecated operations that answer without announcing it.
    for (const sop of ctx.ops.filter((s) => s.op.deprecated)) {
      const o = ctx.observed.get(sop.key)?.find((e) => ok(e.x));
      if (!o) continue;
      const h = o.x.response!.headers;
      if (h.deprecation !== undefined || h.sunset !== undefined) continue;
      yield {
        operation: sop.key,
        key: 'unannounced',
        severity: 'low',
        title: `Deprecated ${sop.key} does not announce its deprecation`,
        description: `The document marks ${sop.key} deprecated, but its answers carry no Deprecation (RFC 9745) or Sunset (RFC 8594) header, so clients never learn to move.`,
        exchanges: [{ x: o.x }],
        confidence: 'confirmed',
        remediation: fix(
          'Send Deprecation, Sunset and a successor-version Link on every answer of a deprecated version.',
          'versions',
          "x-rampart:\n  deprecated: 'YYYY-MM-DD'\n  sunset: 'YYYY-MM-DD'",
        ),
      };
    }
  },
};
