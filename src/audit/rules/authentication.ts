/** API2 — broken authentication, as far as a contract shows it. */
import { isObj } from '../schema.ts';
import type { Hit, Rule } from '../types.ts';
import {
  isAdminLooking,
  isAuthFlow,
  isCredentialCheck,
  isDebugLooking,
  isObjectIdParam,
  isProbe,
  isWrite,
  tokens,
} from '../words.ts';
import { gatewayPolicy, hasResponse, isPublic, snippet } from './util.ts';

export const noSecurity: Rule = {
  id: 'audit/no-security',
  title: 'Operation requires no authentication',
  owasp: 'API2:2023',
  cwe: 306,
  severity: 'high',
  rationale:
    'Anyone who can reach the API can call it. Writes, admin-looking or debug paths and object reads without authentication are how forgotten endpoints leak data.',
  fix: 'Declare a security requirement (document-level `security` or on the operation); keep `security: []` for operations that are public by design.',
  policy: 'authenticate',
  related: ['auth-missing'],
  operation({ op, audit }) {
    if (!isPublic(op)) return undefined;
    if (isAuthFlow(op) || isProbe(op)) return undefined;
    const explicit = op.raw && 'security' in op.raw;
    const why: string[] = [];
    if (isWrite(op)) why.push(`${op.method.toUpperCase()} changes state`);
    if (isAdminLooking(op)) why.push('the path looks administrative');
    if (isDebugLooking(op)) why.push('the path looks like a debug or internal endpoint');
    if (op.parameters.some((p) => p.in === 'path' && isObjectIdParam(p.name)))
      why.push('it reads an object by id');
    const anySchemes = Object.keys(audit.doc.securitySchemes).length > 0;
    if (!why.length)
      return {
        severity: 'info',
        confidence: 'tentative',
        message: `${op.method.toUpperCase()} ${op.path} is ${explicit ? 'explicitly public (`security: []`)' : anySchemes ? 'not covered by any security requirement' : 'in a document that defines no security scheme'}; confirm it is public by design.`,
      };
    return {
      message: `${op.method.toUpperCase()} ${op.path} requires no authentication although ${why.join(', ')}.`,
      ...(!anySchemes
        ? { title: 'No security scheme is defined, and this operation is unauthenticated' }
        : {}),
    };
  },
};

export const insecureScheme: Rule = {
  id: 'audit/insecure-scheme',
  title: 'Security scheme exposes credentials',
  owasp: 'API2:2023',
  cwe: 522,
  severity: 'medium',
  rationale:
    'HTTP Basic sends the reusable password with every request; API keys in the query string end up in logs, proxies and browser history; OAuth implicit and password flows are deprecated (OAuth 2.0 Security BCP, RFC 9700).',
  fix: 'Use bearer tokens (OAuth 2.0 authorization code with PKCE, or client credentials) or API keys in a header, over HTTPS only.',
  related: ['auth-jwt', 'auth-missing'],
  document(audit) {
    const hits: Hit[] = [];
    const servers = Array.isArray(audit.doc.raw.servers)
      ? (audit.doc.raw.servers as Array<{ url?: unknown }>)
      : [];
    const plain = servers.some((s) => typeof s.url === 'string' && /^http:\/\//i.test(s.url));
    for (const [name, s] of Object.entries(audit.doc.securitySchemes)) {
      const at = ['components', 'securitySchemes', name];
      if (s.type === 'http' && String(s.scheme).toLowerCase() === 'basic')
        hits.push({
          key: name,
          at,
          severity: plain ? 'high' : 'medium',
          message: `Scheme '${name}' is HTTP Basic${plain ? ' and a server is plain http://, so the password crosses the network in clear' : ''}.`,
        });
      if (s.type === 'apiKey' && s.in === 'query')
        hits.push({
          key: name,
          at,
          message: `Scheme '${name}' takes the API key in the query parameter '${String(s.name)}'.`,
        });
      if (s.type === 'oauth2' && isObj(s.flows)) {
        for (const flow of ['implicit', 'password'])
          if (flow in s.flows)
            hits.push({
              key: `${name}/${flow}`,
              at: [...at, 'flows', flow],
              message: `Scheme '${name}' offers the deprecated OAuth 2.0 ${flow} flow.`,
            });
        for (const [flow, f] of Object.entries(s.flows))
          for (const k of ['authorizationUrl', 'tokenUrl', 'refreshUrl'])
            if (isObj(f) && typeof f[k] === 'string' && /^http:\/\//i.test(f[k] as string))
              hits.push({
                key: `${name}/${flow}/${k}`,
                at: [...at, 'flows', flow, k],
                severity: 'high',
                message: `Scheme '${name}' ${flow} ${k} is plain http.`,
              });
      }
      if (
        s.type === 'openIdConnect' &&
        typeof s.openIdConnectUrl === 'string' &&
        /^http:\/\//i.test(s.openIdConnectUrl)
      )
        hits.push({
          key: name,
          at: [...at, 'openIdConnectUrl'],
          severity: 'high',
          message: `Scheme '${name}' discovers its provider over plain http.`,
        });
    }
    servers.forEach((s, i) => {
      if (typeof s.url === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(s.url))
        hits.push({
          key: `server-${i}`,
          at: ['servers', String(i), 'url'],
          severity: 'high',
          message: `servers[${i}] has credentials in its URL.`,
        });
    });
    return hits;
  },
};

const CREDENTIAL_PARAM = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'api',
  'key',
  'session',
  'sessionid',
  'auth',
  'authorization',
  'otp',
  'code',
];

export const credentialsInUrl: Rule = {
  id: 'audit/credentials-in-url',
  title: 'Credential passed in the URL',
  owasp: 'API2:2023',
  cwe: 598,
  severity: 'medium',
  rationale: 'Query strings and paths are logged by servers, proxies and browsers, and leak through Referer.',
  fix: 'Move the credential to a header (Authorization) or the request body.',
  related: ['auth-missing'],
  operation({ op, at }) {
    const bad = op.parameters.filter((p) => {
      if (p.in !== 'query' && p.in !== 'path') return false;
      const t = tokens(p.name);
      const j = t.join('');
      if (
        t.includes('password') ||
        t.includes('secret') ||
        j === 'apikey' ||
        j === 'accesstoken' ||
        j === 'token' ||
        j === 'sessionid' ||
        j === 'authtoken' ||
        j === 'refreshtoken'
      )
        return true;
      return t.length === 1 && CREDENTIAL_PARAM.slice(0, 3).includes(t[0]!);
    });
    if (!bad.length) return undefined;
    return {
      at: [...at, 'parameters'],
      message: `Parameter${bad.length > 1 ? 's' : ''} ${bad.map((p) => `'${p.name}' (${p.in})`).join(', ')} carr${bad.length > 1 ? 'y' : 'ies'} a credential in the URL.`,
      details: { parameters: bad.map((p) => p.name) },
    };
  },
};

export const authFlowUnthrottled: Rule = {
  id: 'audit/auth-flow-unthrottled',
  title: 'Credential check with no brute-force protection',
  owasp: 'API2:2023',
  cwe: 307,
  severity: 'high',
  rationale:
    'A sign-in, token or one-time-code operation that neither declares a lockout or rate limit nor documents 429 invites password guessing and credential stuffing (ASVS 2.4.1, 6.3.1).',
  fix: 'Limit failures per account and per client (e.g. 5 per 15 minutes → 429 with Retry-After) and document the 429 response.',
  policy: 'brute-force',
  related: ['brute-force'],
  operation(ctx) {
    const { op } = ctx;
    if (!isCredentialCheck(ctx.op)) return undefined;
    const declared =
      isObj(op.rampart.bruteForce) ||
      isObj(op.rampart.rateLimit) ||
      isObj(op.rampart.flow) ||
      Array.isArray(op.rampart.flow);
    const gateway = gatewayPolicy(ctx.audit, 'brute-force') ?? gatewayPolicy(ctx.audit, 'rate-limit');
    if (declared || gateway) return undefined;
    const documented = hasResponse(op, '429');
    return {
      severity: documented ? 'low' : 'high',
      message: documented
        ? `${op.method.toUpperCase()} ${op.path} documents 429 but no x-rampart bruteForce or rateLimit enforces it at the gateway.`
        : `${op.method.toUpperCase()} ${op.path} checks credentials but declares no lockout or rate limit and documents no 429.`,
      xRampart: snippet({ bruteForce: { per: 'username', limit: 5, window: 900 } }),
    };
  },
};

export const authEnumeration: Rule = {
  id: 'audit/auth-enumeration',
  title: 'Sign-in or reset documents a distinct answer for unknown accounts',
  owasp: 'API2:2023',
  cwe: 204,
  severity: 'medium',
  rationale:
    'A 404 (or a separate status) for an unknown account lets anyone harvest valid usernames before guessing passwords.',
  fix: 'Answer unknown accounts and wrong passwords identically (one 401 with the same detail), and match the timing; at the gateway, declare x-rampart.uniformFailure on the operation.',
  related: ['user-enumeration'],
  operation({ op, at }) {
    if (!isCredentialCheck(op) && !/forgot|reset|recover/i.test(op.path)) return undefined;
    // The gateway answers every failure of this operation alike (uniform-failure policy).
    if (op.rampart.uniformFailure !== undefined) return undefined;
    const codes = Object.keys(op.responses);
    const tell = codes.filter((c) => c === '404' || c === '410');
    if (!tell.length) return undefined;
    return {
      at: [...at, 'responses', tell[0]!],
      message: `${op.method.toUpperCase()} ${op.path} documents ${tell.join(', ')} beside its failure response${codes.includes('401') ? ' 401' : ''}.`,
    };
  },
};
