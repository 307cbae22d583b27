/** API6, API7, API10 — business flows, SSRF surface, unsafe consumption of third-party APIs. */
import { isObj, openObjects, properties, unboundedKind } from '../schema.ts';
import type { Rule } from '../types.ts';
import { isBusinessFlow, isUrlName } from '../words.ts';
import { bodySchemas, hasResponse, is2xx, list, paramSchema, responseSchemas, snippet } from './util.ts';

export const sensitiveFlowUnlimited: Rule = {
  id: 'audit/sensitive-flow-unlimited',
  title: 'Sensitive business flow without a limit',
  owasp: 'API6:2023',
  cwe: 799,
  severity: 'medium',
  rationale:
    'Redeeming, paying, transferring, booking or inviting without a per-user limit or a documented "already done" answer can be automated: coupons replayed, stock hoarded, money moved in a loop.',
  fix: 'Make the flow idempotent or once-only (409 when already done) and limit it per user at the gateway.',
  policy: 'flow-limit',
  related: ['business-flow-replay'],
  operation({ op }) {
    if (!isBusinessFlow(op)) return undefined;
    if (isObj(op.rampart.rateLimit) || isObj(op.rampart.flow) || Array.isArray(op.rampart.flow))
      return undefined;
    const once = hasResponse(op, '409') || hasResponse(op, '429');
    return {
      severity: once ? 'low' : 'medium',
      message: once
        ? `${op.method.toUpperCase()} ${op.path} documents 409/429 but declares no per-user limit.`
        : `${op.method.toUpperCase()} ${op.path} is a business flow with no per-user limit and no 409 or 429 documented.`,
      xRampart: snippet({ rateLimit: { per: 'user', limit: 5, window: 3600 } }),
    };
  },
};

export const ssrfInput: Rule = {
  id: 'audit/ssrf-input',
  title: 'URL-typed input the server may fetch (SSRF surface)',
  owasp: 'API7:2023',
  cwe: 918,
  severity: 'medium',
  rationale:
    'An input that names a URL (an avatar, a webhook, an import source) can make the server connect to internal services and cloud metadata unless every resolved address is checked.',
  fix: 'Allow only http(s) to public addresses (re-checked at connect time), no redirects, size and type limits — at the gateway with x-rampart ssrf, or in the code.',
  policy: 'ssrf-guard',
  related: ['ssrf-canary'],
  operation(ctx) {
    const { op } = ctx;
    const guarded =
      isObj(op.rampart.ssrf) && Array.isArray(op.rampart.ssrf.fields)
        ? (op.rampart.ssrf.fields as unknown[]).map(String)
        : [];
    const urls: string[] = [];
    const isUrl = (name: string, s: Record<string, unknown>): boolean =>
      (typeof s.format === 'string' && ['uri', 'url', 'iri', 'uri-reference'].includes(s.format)) ||
      (isUrlName(name) && (s.type === 'string' || s.type === undefined));
    for (const p of op.parameters) {
      const s = paramSchema(p.schema);
      if (s && isUrl(p.name, s) && !guarded.includes(p.name)) urls.push(`${p.name} (${p.in})`);
    }
    for (const b of bodySchemas(ctx))
      for (const p of properties(b.schema))
        if (!p.readOnly && isUrl(p.name, p.schema) && !guarded.includes(p.path) && !guarded.includes(p.name))
          urls.push(p.path);
    if (!urls.length) return undefined;
    const fields = [...new Set(urls)];
    return {
      severity: op.method === 'get' ? 'low' : 'medium',
      confidence: 'tentative',
      message: `${op.method.toUpperCase()} ${op.path} takes ${list(fields)} as a URL, with no x-rampart ssrf rule.`,
      details: { fields },
      xRampart: snippet({ ssrf: { fields: fields.map((f) => f.replace(/ \(.*\)$/, '')) } }),
    };
  },
};

const THIRD_PARTY =
  /\b(third[- ]party|external|upstream|partner|provider|remote|vendor)\b|\bcalls?\b[^.]{0,60}\b(api|service|endpoint)\b/i;

export const thirdPartyUnvalidated: Rule = {
  id: 'audit/third-party-unvalidated',
  title: 'Third-party data passed on without a bounded contract',
  owasp: 'API10:2023',
  cwe: 20,
  severity: 'medium',
  rationale:
    "An operation that relays or applies another API's answer trusts that API; without a described, bounded schema for what comes back (types, ranges, lengths) a compromised or buggy upstream injects values the API applies and stores.",
  fix: "Describe the third party's answers (callbacks, webhooks, the fields you relay) with closed, bounded schemas and validate them before use.",
  policy: 'validate-response',
  related: ['data-exposure'],
  operation(ctx) {
    const { op } = ctx;
    const text = `${op.summary ?? ''} ${typeof op.raw?.description === 'string' ? op.raw.description : ''}`;
    const callbacks = isObj(op.raw?.callbacks) ? Object.keys(op.raw.callbacks) : [];
    const depends =
      THIRD_PARTY.test(text) || callbacks.length > 0 || ['502', '503', '504'].some((c) => c in op.responses);
    if (!depends) return undefined;
    // Callbacks without payload schemas.
    const bare: string[] = [];
    for (const name of callbacks) {
      const cb = (op.raw!.callbacks as Record<string, unknown>)[name];
      if (!isObj(cb)) continue;
      for (const item of Object.values(cb))
        if (isObj(item))
          for (const o of Object.values(item))
            if (
              isObj(o) &&
              isObj(o.requestBody) &&
              isObj(o.requestBody.content) &&
              Object.values(o.requestBody.content).some((m) => !isObj(m) || !isObj(m.schema))
            )
              bare.push(name);
    }
    const unbounded: string[] = [];
    let at: string[] | undefined;
    for (const r of responseSchemas(ctx, is2xx))
      for (const p of properties(r.schema)) {
        if (p.readOnly || !unboundedKind(p.schema) || unboundedKind(p.schema) === 'array') continue;
        // Only the values the upstream could have set: not ids and timestamps the API owns.
        if (/(^id$|Id$|_id$|At$|_at$)/.test(p.name)) continue;
        unbounded.push(p.path);
        at ??= r.at;
      }
    if (!bare.length && !unbounded.length) return undefined;
    // Closed, mostly bounded answers are a smaller risk than open ones.
    const open = responseSchemas(ctx, is2xx).some((r) => openObjects(r.schema).length > 0);
    const parts: string[] = [];
    if (bare.length)
      parts.push(
        `callback${bare.length > 1 ? 's' : ''} ${list(bare)} describe${bare.length > 1 ? '' : 's'} no payload schema`,
      );
    if (unbounded.length) parts.push(`its answer relays ${list(unbounded)} with no bounds`);
    return {
      ...(at ? { at } : {}),
      confidence: 'tentative',
      severity: bare.length || open ? 'medium' : 'low',
      message: `${op.method.toUpperCase()} ${op.path} depends on another service and ${parts.join('; ')}.`,
      details: { callbacks: bare, unbounded },
    };
  },
};
