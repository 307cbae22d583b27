/** API8 — security misconfiguration visible in a contract (and in rampart.yaml with -c). */
import { properties } from '../schema.ts';
import type { Hit, Rule } from '../types.ts';
import { isFileParam, tokens } from '../words.ts';
import {
  gatewayPolicy,
  hasResponse,
  isError,
  isPublic,
  list,
  paramSchema,
  responseSchemas,
  roles,
  scopes,
} from './util.ts';

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

export const httpServer: Rule = {
  id: 'audit/http-server',
  title: 'Plain-HTTP server or listener',
  owasp: 'API8:2023',
  cwe: 319,
  severity: 'medium',
  rationale:
    'Tokens, passwords and personal data sent over plain HTTP can be read and changed by anyone on the path.',
  fix: 'Serve the API over HTTPS only (TLS 1.3, HSTS); keep plain http:// for loopback development servers.',
  policy: 'transport',
  related: ['trace-tls'],
  document(audit) {
    const hits: Hit[] = [];
    const servers = Array.isArray(audit.doc.raw.servers)
      ? (audit.doc.raw.servers as Array<{ url?: unknown }>)
      : [];
    servers.forEach((s, i) => {
      if (typeof s.url !== 'string') return;
      const m = /^http:\/\/([^/]+)/i.exec(s.url);
      if (!m) return;
      const host = m[1]!.replace(/^[^@]*@/, '');
      hits.push({
        key: `server-${i}`,
        at: ['servers', String(i), 'url'],
        severity: LOOPBACK.test(host) ? 'info' : 'medium',
        message: `servers[${i}] is ${s.url}${LOOPBACK.test(host) ? ' (loopback: fine for development only)' : ''}.`,
      });
    });
    const g = audit.gateway;
    if (
      g &&
      !g.tls &&
      g.listenHost !== undefined &&
      !LOOPBACK.test(g.listenHost) &&
      !gatewayPolicy(audit, 'transport')?.requireTls
    )
      hits.push({
        key: 'gateway-listen',
        at: [],
        message: `${g.configFile}: the gateway listens on ${g.listenHost} without TLS.`,
      });
    if (
      g &&
      gatewayPolicy(audit, 'security-headers') === undefined &&
      g.policies['security-headers'] !== undefined
    )
      hits.push({
        key: 'security-headers-off',
        at: [],
        severity: 'low',
        message: `${g.configFile}: the security-headers policy is switched off.`,
      });
    return hits;
  },
};

export const missingErrorResponses: Rule = {
  id: 'audit/missing-error-responses',
  title: 'Authentication, authorization or rate-limit answers not documented',
  owasp: 'API8:2023',
  severity: 'info',
  rationale:
    'Clients, gateways and scanners rely on the documented 401/403/429: when they are missing, denials look like contract violations and tests cannot tell a denial from a bug.',
  fix: 'Document 401 on every authenticated operation, 403 where a role or scope is required, 429 where a rate limit applies (with Retry-After).',
  related: ['auth-missing', 'bfla-role-swap'],
  operation({ op, at }) {
    if ('default' in op.responses || '4XX' in op.responses) return undefined;
    const missing: string[] = [];
    if (!isPublic(op) && !hasResponse(op, '401')) missing.push('401');
    if ((roles(op).length || scopes(op).length) && !hasResponse(op, '403')) missing.push('403');
    // Only the operation's own limits: a document-wide rate limit is one fact, not one per operation.
    const own = (op.raw?.['x-rampart'] ?? {}) as Record<string, unknown>;
    const limited = ['rateLimit', 'bruteForce', 'flow'].some((k) => typeof own[k] === 'object');
    if (limited && !hasResponse(op, '429')) missing.push('429');
    if (!missing.length) return undefined;
    return {
      at: [...at, 'responses'],
      message: `${op.method.toUpperCase()} ${op.path} does not document ${missing.join(', ')}.`,
      details: { missing },
    };
  },
};

const VERBOSE = [
  'stack',
  'stacktrace',
  'trace',
  'traceback',
  'exception',
  'sql',
  'query',
  'debug',
  'file',
  'line',
  'backtrace',
];

export const verboseErrorSchema: Rule = {
  id: 'audit/verbose-error-schema',
  title: 'Error responses carry internals (stack, SQL, exception)',
  owasp: 'API8:2023',
  cwe: 209,
  severity: 'medium',
  rationale:
    'Stack traces, SQL text and exception names in errors map the internals for an attacker (ASVS 16.5.1).',
  fix: 'Answer errors with RFC 9457 problem details (type, title, status, detail) and log the internals server-side.',
  related: ['verbose-errors'],
  operation(ctx) {
    const leaks: string[] = [];
    let where: string[] | undefined;
    for (const r of responseSchemas(ctx, isError))
      for (const p of properties(r.schema)) {
        const t = tokens(p.name).join('');
        if (VERBOSE.includes(t) || t.endsWith('stacktrace') || t === 'sqlstate' || t === 'sqlmessage') {
          leaks.push(`${r.code}: ${p.path}`);
          where ??= r.at;
        }
      }
    if (!leaks.length) return undefined;
    return {
      at: where!,
      message: `Error responses declare ${list([...new Set(leaks)])}.`,
      details: { properties: [...new Set(leaks)] },
    };
  },
};

export const fileParameter: Rule = {
  id: 'audit/file-parameter-unconstrained',
  title: 'File-name input without a pattern (path traversal surface)',
  owasp: 'API8:2023',
  cwe: 22,
  severity: 'medium',
  rationale:
    'A file or path name taken as any string reaches the file system with `../` in it unless the server constrains it.',
  fix: 'Constrain it with a strict `pattern` (e.g. `^[a-z0-9-]{1,64}\\.txt$`) or an enum, and resolve it inside a fixed directory on the server.',
  related: ['injection'],
  operation({ op, at }) {
    const bad = op.parameters.filter((p) => {
      if (!isFileParam(p.name, op.path)) return false;
      const s = paramSchema(p.schema) ?? {};
      return s.pattern === undefined && s.enum === undefined && s.format !== 'uuid' && s.type !== 'integer';
    });
    if (!bad.length) return undefined;
    return {
      at: [...at, 'parameters'],
      message: `${list(bad.map((p) => `${p.name} (${p.in})`))} ${bad.length > 1 ? 'are' : 'is'} any string.`,
      details: { parameters: bad.map((p) => p.name) },
    };
  },
};
