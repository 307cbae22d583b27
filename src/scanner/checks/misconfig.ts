import { connect } from 'node:tls';
import type { Check, ScanContext } from '../context.ts';
import type { Exchange } from '../http.ts';
import { callers } from '../runner.ts';
import type { ScanOperation } from '../spec.ts';
import { fix, ok, status, who, OWASP } from './util.ts';

/** The first operation (document order) that answered 2xx in the crawl, with that answer. */
function firstAnswered(
  ctx: ScanContext,
  filter: (s: ScanOperation) => boolean = () => true,
): { sop: ScanOperation; x: Exchange; identity?: string } | undefined {
  for (const sop of ctx.ops.filter(filter)) {
    const o = ctx.observed.get(sop.key)?.find((e) => ok(e.x));
    if (o) return { sop, x: o.x, ...(o.identity ? { identity: o.identity } : {}) };
  }
  return undefined;
}

const WANTED: Array<[string, (v: string | undefined) => boolean, string]> = [
  ['x-content-type-options', (v) => v?.toLowerCase() === 'nosniff', 'nosniff'],
  ['cache-control', (v) => /no-store/i.test(v ?? ''), 'no-store'],
  [
    'content-security-policy',
    (v) => /frame-ancestors|default-src/i.test(v ?? ''),
    "default-src 'none'; frame-ancestors 'none'",
  ],
  ['x-frame-options', (v) => /deny|sameorigin/i.test(v ?? ''), 'DENY'],
];

/** Security headers on API answers (OWASP REST cheat sheet) and version banners. */
export const headers: Check = {
  id: 'security-headers',
  title: 'Missing security headers',
  owasp: 'API8:2023',
  cwe: 693,
  severity: 'low',
  applicable: (ctx) => (firstAnswered(ctx) ? undefined : 'no operation answered 2xx'),
  async *run(ctx) {
    const { sop, x } = firstAnswered(ctx, (s) => s.method === 'GET')!;
    const h = x.response!.headers;
    const missing = WANTED.filter(([n, good]) => !good(h[n]));
    if (missing.length)
      yield {
        operation: sop.key,
        key: 'missing',
        title: `Answers lack ${missing.map(([n]) => n).join(', ')}`,
        description: `${sop.key} (and, the scan assumes, the rest of the API) answers without ${missing.map(([n, , want]) => `${n}: ${want}`).join('; ')}.`,
        exchanges: [{ x, note: `missing: ${missing.map(([n]) => n).join(', ')}` }],
        confidence: 'confirmed',
        details: { missing: missing.map(([n]) => n) },
        remediation: fix('Send the OWASP REST header set on every answer.', 'security-headers', undefined, [
          'https://cheatsheetseries.owasp.org/cheatsheets/REST_Security_Cheat_Sheet.html#security-headers',
        ]),
      };
    const banners = [
      'x-powered-by',
      'server',
      'x-aspnet-version',
      'x-aspnetmvc-version',
      'x-generator',
    ].filter((n) => h[n] !== undefined && (n !== 'server' || /\d/.test(h[n]!)));
    if (banners.length)
      yield {
        operation: sop.key,
        key: 'banner',
        cwe: 200,
        title: 'Answers announce software and versions',
        description: `Version banners: ${banners.map((n) => `${n}: ${h[n]}`).join('; ')} — a map for known-vulnerability lookups.`,
        exchanges: [{ x, note: banners.join(', ') }],
        confidence: 'confirmed',
        remediation: fix('Remove X-Powered-By and version details from Server.', 'security-headers'),
      };
  },
};

/** CORS: a foreign Origin must not be reflected with credentials (nor `null`). */
export const cors: Check = {
  id: 'cors',
  title: 'Permissive CORS',
  owasp: 'API8:2023',
  cwe: 942,
  severity: 'high',
  applicable: (ctx) =>
    firstAnswered(ctx, (s) => s.method === 'GET') ? undefined : 'no GET operation answered 2xx',
  async *run(ctx) {
    const targets = [
      firstAnswered(ctx, (s) => s.method === 'GET' && s.secured && !s.path.includes('{')),
      firstAnswered(ctx, (s) => s.method === 'GET' && !s.secured),
    ].filter((t) => t !== undefined);
    for (const t of targets
      .slice(0, 1)
      .concat(targets.length > 1 && targets[1]!.sop !== targets[0]!.sop ? [targets[1]!] : [])) {
      const identity = ctx.identities.find((i) => i.name === t.identity);
      for (const origin of [`https://evil-${ctx.tag}.example`, 'null']) {
        const x = await ctx.call(t.sop, { headers: { origin }, ...(identity ? { identity } : {}) });
        const acao = x.response?.headers['access-control-allow-origin'];
        const creds = x.response?.headers['access-control-allow-credentials'] === 'true';
        if (acao !== origin && !(acao === '*' && creds)) continue;
        yield {
          operation: t.sop.key,
          key: origin === 'null' ? 'null' : 'reflect',
          severity: creds ? 'high' : 'low',
          title: creds
            ? `CORS reflects ${origin === 'null' ? 'the null origin' : 'any origin'}, with credentials`
            : `CORS reflects ${origin === 'null' ? 'the null origin' : 'any origin'}`,
          description: `Origin: ${origin} got Access-Control-Allow-Origin: ${acao}${creds ? " and Access-Control-Allow-Credentials: true — any web page can read this API with a victim's cookies or credentials" : ''}.`,
          exchanges: [
            {
              x,
              note: `${who(identity)} with Origin ${origin}: ACAO ${acao}${creds ? ', credentials allowed' : ''}`,
            },
          ],
          confidence: 'confirmed',
          remediation: fix(
            'Allow an explicit list of origins; never reflect the Origin header; never allow credentials with a wildcard or null.',
            'cors',
            undefined,
            [
              'https://cheatsheetseries.owasp.org/cheatsheets/HTML5_Security_Cheat_Sheet.html#cross-origin-resource-sharing',
            ],
          ),
        };
        break;
      }
    }
  },
};

/** TRACE echoing requests, and TLS versions below 1.2 (https targets). */
export const methods: Check = {
  id: 'trace-tls',
  title: 'TRACE and old TLS',
  owasp: 'API8:2023',
  cwe: 16,
  severity: 'low',
  applicable: () => undefined,
  async *run(ctx) {
    const sop = ctx.ops.find((s) => s.method === 'GET' && !s.path.includes('{'));
    if (sop) {
      const x = await ctx.http.send({
        method: 'TRACE',
        path: sop.path,
        headers: { 'x-rampart-trace': ctx.tag },
      });
      if (ok(x) && x.response!.text.includes(ctx.tag))
        yield {
          operation: `TRACE ${sop.path}`,
          title: 'TRACE is enabled and echoes requests',
          description: `TRACE ${sop.path} answered ${status(x)} with the request echoed back (cross-site tracing can read headers such as cookies).`,
          exchanges: [{ x }],
          confidence: 'confirmed',
          remediation: fix(
            'Disable TRACE; answer methods the document does not declare with 405.',
            'request-limits',
          ),
        };
    }
    const url = new URL(ctx.http.origin);
    if (url.protocol !== 'https:') {
      ctx.note(`trace-tls: ${ctx.http.origin} is plain HTTP — TLS versions not tested`);
      return;
    }
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const accepted = await new Promise<boolean>((resolve) => {
        const s = connect(
          {
            host: url.hostname,
            port: Number(url.port || 443),
            minVersion: version,
            maxVersion: version,
            rejectUnauthorized: false,
            servername: url.hostname,
          },
          () => {
            s.end();
            resolve(true);
          },
        );
        s.setTimeout(5000, () => {
          s.destroy();
          resolve(false);
        });
        s.on('error', () => resolve(false));
      });
      if (accepted)
        yield {
          operation: 'TLS',
          key: version,
          severity: 'medium',
          title: `${version} is offered`,
          description: `The server completes a ${version} handshake; only TLS 1.2 and 1.3 should be offered.`,
          exchanges: [],
          confidence: 'confirmed',
          remediation: fix("Offer TLS 1.2+ only (Rampart's gateway speaks TLS 1.3).", 'transport'),
        };
    }
  },
};

/** Verbose errors: stack traces and database errors in answers (seen anywhere, or provoked with invalid values). */
export const verboseErrors: Check = {
  id: 'verbose-errors',
  title: 'Verbose errors',
  owasp: 'API8:2023',
  cwe: 209,
  severity: 'medium',
  applicable: () => undefined,
  async *run(ctx) {
    // Provoke: invalid enum / integer values in query parameters.
    for (const sop of ctx.ops.filter((s) => s.method === 'GET')) {
      if (ctx.leakyErrors.has(sop.key)) continue;
      const identity = callers(ctx, sop)[0];
      if (sop.secured && !identity) continue;
      for (const p of sop.op.parameters.filter((x) => x.in === 'query').slice(0, 4)) {
        await ctx.call(sop, {
          query: { [p.name]: `rampart-invalid-${ctx.tag}` },
          ...(identity ? { identity } : {}),
        });
        if (ctx.leakyErrors.has(sop.key)) break;
      }
    }
    for (const [key, x] of ctx.leakyErrors) {
      yield {
        operation: key,
        title: `${key} returns internal error details`,
        description: `An error answer (${status(x)}) carries a stack trace or database error text: internals that guide further attacks.`,
        exchanges: [{ x, note: `${status(x)} with internal details` }],
        confidence: 'confirmed',
        remediation: fix(
          'Answer unexpected errors with a generic RFC 9457 problem; log the details server-side only.',
          'validate-response',
          undefined,
          [OWASP + '0xa8-security-misconfiguration/'],
        ),
      };
    }
  },
};
