/**
 * PII and secret masking for responses (API3): e-mail addresses, phone numbers, payment
 * card numbers (Luhn-checked, last four kept as PCI DSS 3.4 allows), IBANs (ISO 13616
 * mod-97 checked), national identifiers (US SSN, UK NINO, Irish PPSN) and API-key/token-
 * shaped strings (JWTs, AWS access keys, GitHub/Slack/Stripe tokens, long hex secrets).
 *
 * A masker is compiled per response schema: it walks the value along the schema and masks
 * strings, except in properties whose `x-rampart.visibleTo` lists one of the caller's roles
 * (role-based unmasking; stripping properties by role is the property-access policy's job).
 */
import type { JsonSchema } from '../../core/openapi.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export type PiiKind = 'email' | 'phone' | 'card' | 'iban' | 'national-id' | 'token';
export const PII_KINDS: readonly PiiKind[] = ['token', 'card', 'iban', 'national-id', 'phone', 'email'];

/** Luhn (ISO/IEC 7812-1) check of a digit string. */
export function luhn(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return digits.length >= 12 && sum % 10 === 0;
}

/** IBAN mod-97 check (ISO 13616-1 §7). */
export function ibanValid(raw: string): boolean {
  const s = raw.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s)) return false;
  const moved = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const val = code >= 65 ? String(code - 55) : ch;
    for (const d of val) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

/** Keeps the last `keep` characters that match `what`, masks the others of that class. */
function keepLast(s: string, keep: number, what: RegExp): string {
  let seen = 0;
  const total = [...s].filter((c) => what.test(c)).length;
  return s.replace(new RegExp(what.source, 'g'), (c) => (++seen > total - keep ? c : '*'));
}

interface Detector {
  kind: PiiKind;
  re: RegExp;
  mask(match: string): string;
}

const DETECTORS: Detector[] = [
  {
    kind: 'token',
    re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bxox[abpors]-[A-Za-z0-9-]{10,}|\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}\b|\b[a-f0-9]{32,}\b|\b[A-F0-9]{32,}\b/g,
    mask: () => '[redacted]',
  },
  {
    kind: 'card',
    re: /\b\d(?:[ -]?\d){12,18}\b/g,
    mask: (m) => (luhn(m.replace(/\D/g, '')) ? keepLast(m, 4, /\d/) : m),
  },
  {
    kind: 'iban',
    re: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g,
    mask: (m) => (ibanValid(m) ? m.slice(0, 2) + keepLast(m.slice(2), 4, /[A-Z0-9]/) : m),
  },
  {
    kind: 'national-id',
    re: /\b\d{3}-\d{2}-\d{4}\b|\b[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b|\b\d{7}[A-W][A-IW]?\b/g,
    mask: (m) => keepLast(m, 2, /[A-Z0-9]/),
  },
  {
    kind: 'phone',
    re: /(?<![\w.])\+?\d[\d ().-]{6,18}\d(?![\w.])/g,
    mask: (m) => {
      if (/^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$/.test(m)) return m; // a date, not a number to call
      const digits = m.replace(/\D/g, '').length;
      return digits >= 7 && digits <= 15 ? keepLast(m, 2, /\d/) : m;
    },
  },
  {
    kind: 'email',
    re: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g,
    mask: (m) => {
      const at = m.indexOf('@');
      return m[0] + '***' + m.slice(at);
    },
  },
];

/**
 * Masks every enabled kind in one string.
 * @example
 * maskString('card 4111 1111 1111 1111', new Set(['card'])) // 'card **** **** **** 1111'
 */
export function maskString(s: string, kinds: ReadonlySet<PiiKind>): string {
  let out = s;
  for (const d of DETECTORS) {
    if (!kinds.has(d.kind)) continue;
    d.re.lastIndex = 0;
    if (d.re.test(out)) {
      d.re.lastIndex = 0;
      out = out.replace(d.re, d.mask);
    }
  }
  return out;
}

/** Masks a value in place (objects/arrays) or returns the masked string. */
export type Masker = (value: unknown, roles: readonly string[]) => unknown;

const visibleTo = (schema: unknown): readonly string[] | undefined => {
  if (!isObj(schema)) return undefined;
  const x = schema['x-rampart'];
  return isObj(x) && Array.isArray(x.visibleTo) ? (x.visibleTo as string[]) : undefined;
};

/**
 * Compiles a masker for a response schema and a set of kinds (none → undefined: nothing to do).
 * @example
 * const mask = compileMasker(recordSchema, new Set(['card', 'token']));
 * mask?.(record, principal.roles);
 */
export function compileMasker(root: JsonSchema | undefined, kinds: ReadonlySet<PiiKind>): Masker | undefined {
  if (kinds.size === 0) return undefined;
  const anyString: Masker = function maskAny(v, roles) {
    if (typeof v === 'string') return maskString(v, kinds);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = maskAny(v[i], roles);
      return v;
    }
    if (isObj(v)) for (const k of Object.keys(v)) v[k] = maskAny(v[k], roles);
    return v;
  };
  const memo = new Map<Obj, Masker>();
  const build = (schema: unknown): Masker => {
    if (!isObj(schema)) return anyString;
    const known = memo.get(schema);
    if (known) return known;
    let real: Masker = anyString;
    memo.set(schema, (v, r) => real(v, r));
    const props = new Map<string, { mask: Masker; unmaskFor: readonly string[] | undefined }>();
    const gather = (s: Obj, seen: Set<Obj>): void => {
      if (seen.has(s)) return;
      seen.add(s);
      if (isObj(s.properties))
        for (const [k, p] of Object.entries(s.properties))
          if (!props.has(k)) props.set(k, { mask: build(p), unmaskFor: visibleTo(p) });
      for (const key of ['allOf', 'oneOf', 'anyOf'])
        if (Array.isArray(s[key])) for (const m of s[key] as unknown[]) if (isObj(m)) gather(m, seen);
    };
    gather(schema, new Set());
    const items = isObj(schema.items) ? build(schema.items) : anyString;
    real = (v, roles) => {
      if (typeof v === 'string') return maskString(v, kinds);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) v[i] = items(v[i], roles);
        return v;
      }
      if (!isObj(v)) return v;
      for (const k of Object.keys(v)) {
        const p = props.get(k);
        if (p?.unmaskFor && roles.some((r) => p.unmaskFor!.includes(r))) continue;
        v[k] = (p ? p.mask : anyString)(v[k], roles);
      }
      return v;
    };
    memo.set(schema, real);
    return real;
  };
  return build(root);
}
