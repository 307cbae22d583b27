import type { Check } from '../context.ts';
import { isObj, propertiesOf, responseFor, typesOf } from '../spec.ts';
import type { JsonSchema } from '../../core/openapi.ts';
import { fix, OWASP } from './util.ts';

const SECRET_NAME =
  /pass(word)?(_?hash)?$|passwd|secret|api_?key|api_?token|access_?token|refresh_?token|private_?key|^token$|session|otp|mfa_?secret|salt$|hash$/i;
const PII_NAME =
  /e_?mail|phone|mobile|ssn|social_?security|national_?id|passport|tax_?id|birth|dob|address|iban|card_?number|credit_?card|cvv|salary|diagnosis|username/i;
const SECRET_VALUE: Array<[string, RegExp]> = [
  ['JWT', /^eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/],
  ['bcrypt/scrypt/argon2 hash', /^\$(2[aby]|scrypt|argon2(id|i|d)?)\$/],
  ['MD5/SHA hex digest', /^[a-f0-9]{32}$|^[a-f0-9]{40}$|^[a-f0-9]{64}$/i],
  ['AWS access key', /^AKIA[0-9A-Z]{16}$/],
  ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
];

interface Leak {
  path: string;
  kind: 'secret' | 'pii' | 'undeclared';
  reason?: string;
}

/** Undeclared properties of a JSON value against its schema (bounded walk). */
export function undeclared(
  value: unknown,
  schema: JsonSchema | undefined,
  at = '',
  out: Leak[] = [],
  depth = 0,
): Leak[] {
  if (depth > 6 || !isObj(schema) || out.length > 40) return out;
  if (Array.isArray(value)) {
    for (const v of value.slice(0, 5)) undeclared(v, schema.items as JsonSchema, `${at}[]`, out, depth + 1);
    return out;
  }
  if (!isObj(value)) return out;
  const props = propertiesOf(schema);
  const open =
    Object.keys(props).length === 0 ||
    (schema.additionalProperties !== undefined && schema.additionalProperties !== false) ||
    schema.oneOf ||
    schema.anyOf;
  if (!typesOf(schema).includes('object') && Object.keys(props).length === 0) return out;
  for (const [k, v] of Object.entries(value)) {
    const p = `${at ? at + '.' : ''}${k}`;
    if (k in props) {
      undeclared(v, props[k], p, out, depth + 1);
      continue;
    }
    if (open) continue;
    if (out.some((l) => l.path === p)) continue;
    const valueHit = typeof v === 'string' ? SECRET_VALUE.find(([, re]) => re.test(v)) : undefined;
    if (SECRET_NAME.test(k) || valueHit)
      out.push({ path: p, kind: 'secret', ...(valueHit ? { reason: valueHit[0] } : {}) });
    else if (PII_NAME.test(k)) out.push({ path: p, kind: 'pii' });
    else out.push({ path: p, kind: 'undeclared' });
  }
  return out;
}

/**
 * Excessive data exposure: every JSON answer the scan received for an operation is
 * compared with the response schema the document declares for that status. Properties
 * the schema does not declare are reported, graded by what they hold (secrets and
 * credential hashes high, personal data medium, other extra fields low).
 */
export const exposure: Check = {
  id: 'data-exposure',
  title: 'Excessive data exposure',
  owasp: 'API3:2023',
  cwe: 213,
  severity: 'medium',
  applicable: (ctx) => (ctx.observed.size === 0 ? 'no operation answered during the crawl' : undefined),
  async *run(ctx) {
    for (const sop of ctx.ops) {
      const seen = ctx.observed.get(sop.key) ?? [];
      const leaks: Leak[] = [];
      let evidence: (typeof seen)[number] | undefined;
      for (const o of seen) {
        const r = o.x.response;
        if (!r || r.status < 200 || r.status > 299 || r.json === undefined) continue;
        const schema = responseFor(sop.op, r.status)?.schema;
        if (schema === undefined) continue;
        const found = undeclared(r.json, schema).filter((l) => !leaks.some((x) => x.path === l.path));
        if (found.length && !evidence) evidence = o;
        leaks.push(...found);
      }
      if (!evidence || leaks.length === 0) continue;
      const secrets = leaks.filter((l) => l.kind === 'secret');
      const pii = leaks.filter((l) => l.kind === 'pii');
      const severity = secrets.length ? 'high' : pii.length ? 'medium' : 'low';
      const names = leaks.map((l) => l.path.replace(/^\[\]\./, '')).filter((v, i, a) => a.indexOf(v) === i);
      yield {
        operation: sop.key,
        title: `${sop.key} returns ${secrets.length ? 'secrets' : pii.length ? 'personal data' : 'properties'} the document does not declare`,
        description: `The answer carries ${names.length} undeclared propert${names.length === 1 ? 'y' : 'ies'}: ${names.slice(0, 12).join(', ')}.${secrets.length ? ` Secrets or credential material: ${secrets.map((s) => s.path + (s.reason ? ` (${s.reason})` : '')).join(', ')}.` : ''}`,
        exchanges: [
          {
            x: evidence.x,
            note: `${evidence.identity ? 'as ' + evidence.identity : 'without credentials'}: undeclared ${names.slice(0, 6).join(', ')}`,
          },
        ],
        severity,
        confidence: 'confirmed',
        details: {
          undeclared: names,
          secrets: secrets.map((s) => s.path),
          personalData: pii.map((s) => s.path),
        },
        remediation: fix(
          'Build responses from the documented schema (an allow-list), never by serialising the stored row; keep credentials and identifiers out of API views.',
          'minimise-response',
          'x-rampart:\n  minimiseResponse: true   # drop properties the response schema does not declare',
          [OWASP + '0xa3-broken-object-property-level-authorization/'],
        ),
      };
    }
  },
};
