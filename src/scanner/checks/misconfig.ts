import type { Check, FindingDraft, ScanContext } from '../context.ts';
import type { Exchange } from '../http.ts';
import { callers } from '../runner.ts';
import type { ScanOperation } from '../spec.ts';
import { probeTls, type TlsProbe } from '../tls.ts';
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
    const probe = await probeTls(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 443), {
      ca: ctx.http.ca,
    });
    yield* tlsFindings(probe, ctx.now());
  },
};

const SELF_SIGNED_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
const DATE_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const DAY = 86_400_000;

/** Findings from a TLS probe, judged at `now` (the scan's clock). */
export function tlsFindings(probe: TlsProbe, now: number): FindingDraft[] {
  const out: FindingDraft[] = [];
  const details = {
    versions: probe.versions,
    ...(probe.certificate ? { certificate: probe.certificate } : {}),
  };
  const transport = (summary: string) => fix(summary, 'transport');
  const f = (
    key: string,
    severity: FindingDraft['severity'],
    title: string,
    description: string,
    summary: string,
  ) =>
    out.push({
      operation: 'TLS',
      key,
      severity,
      title,
      description,
      exchanges: [],
      confidence: 'confirmed',
      details,
      remediation: transport(summary),
    });
  for (const version of ['TLSv1', 'TLSv1.1'] as const)
    if (probe.versions[version])
      f(
        version,
        'medium',
        `${version} is offered`,
        `The server completes a ${version} handshake; only TLS 1.2 and 1.3 should be offered (RFC 8996 deprecates 1.0 and 1.1).`,
        "Offer TLS 1.2+ only (Rampart's gateway speaks TLS 1.3).",
      );
  if (probe.versions['TLSv1.2'])
    f(
      'TLSv1.2',
      'info',
      'TLS 1.2 is offered',
      `The server completes a TLS 1.2 handshake${probe.versions['TLSv1.3'] ? ' beside TLS 1.3' : ''}. Acceptable with forward-secret AEAD ciphers; TLS 1.3 only is the modern profile.`,
      "Prefer TLS 1.3; keep 1.2 only for clients that need it, with ECDHE + AEAD ciphers (Rampart's gateway speaks TLS 1.3).",
    );
  if (!probe.versions['TLSv1.3'] && Object.values(probe.versions).some(Boolean))
    f(
      'no-TLSv1.3',
      'low',
      'TLS 1.3 is not offered',
      'No TLS 1.3 handshake completed; only older versions are available.',
      'Enable TLS 1.3.',
    );
  const c = probe.certificate;
  if (!c) return out;
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  if (c.validTo < now)
    f(
      'certificate-expired',
      'high',
      'The certificate has expired',
      `The certificate (${c.subject}) expired on ${day(c.validTo)}: clients refuse it, or are taught to click through warnings.`,
      'Renew the certificate and automate renewal (ACME).',
    );
  else if (c.validFrom > now)
    f(
      'certificate-not-yet-valid',
      'medium',
      'The certificate is not valid yet',
      `The certificate (${c.subject}) is valid from ${day(c.validFrom)}.`,
      "Install a certificate that is valid now; check the server's clock.",
    );
  else if (c.validTo - now < 14 * DAY)
    f(
      'certificate-expiring',
      'low',
      'The certificate expires within 14 days',
      `The certificate (${c.subject}) expires on ${day(c.validTo)}.`,
      'Renew the certificate and automate renewal (ACME).',
    );
  if (c.selfSigned || (c.verifyError && SELF_SIGNED_CODES.has(c.verifyError)))
    f(
      'certificate-self-signed',
      'medium',
      'The certificate is self-signed',
      `The certificate (${c.subject}) is signed by itself: no client can tell it from an attacker's without pinning it.`,
      'Use a certificate from a public CA (or your organisation’s CA for internal APIs).',
    );
  else if (c.verifyError && !DATE_CODES.has(c.verifyError))
    f(
      'certificate-untrusted',
      'medium',
      'The certificate is not trusted',
      `Verification against the public root store failed: ${c.verifyError}.`,
      'Serve the full chain of a certificate from a trusted CA.',
    );
  if (c.hostnameError)
    f(
      'certificate-hostname',
      'medium',
      'The certificate does not match the host name',
      c.hostnameError,
      'Serve a certificate whose subjectAltName covers the host name clients use.',
    );
  return out;
}

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
