/**
 * Classifiers shared by the path folder and the schema inferrer: what a path segment looks
 * like, which OpenAPI `format` a string has, and whether a value or a property name is
 * personal data. Pure functions, no state — docs/learn.md lists the rules.
 */

/** What a path segment looks like. `int`…`token` fold at once; `file` and `slug` by count; `word` only by high cardinality. */
export type SegmentClass = 'int' | 'uuid' | 'hash' | 'date' | 'token' | 'file' | 'slug' | 'word';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{16,128}$/i;
const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DATE_TIME =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):?[0-5]\d)$/;
const TOKEN = /^[A-Za-z0-9_-]{16,256}$/;
const FILE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\.[A-Za-z0-9]{1,8}$/;
const SLUG = /^[a-z0-9]+(?:[-_][a-z0-9]+)+$/;
const EMAIL =
  /^[^\s@"<>()[\],;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const URI = /^[a-z][a-z0-9+.-]*:\/\/[^\s/?#]+[^\s]*$/i;

/** Classifies one decoded path segment. */
export function classifySegment(seg: string): SegmentClass {
  if (/^\d{1,20}$/.test(seg)) return 'int';
  if (UUID.test(seg)) return 'uuid';
  if (DATE.test(seg) || DATE_TIME.test(seg)) return 'date';
  if (HEX.test(seg) && /\d/.test(seg) && /[a-f]/i.test(seg)) return 'hash';
  if (TOKEN.test(seg) && /\d/.test(seg) && /[A-Za-z]/.test(seg)) return 'token';
  if (FILE.test(seg)) return 'file';
  // A slug has a digit (post-2024-recap) or at least three parts (how-to-learn-x): two-part
  // words like `insurance-claims` or `sign-in` stay literals unless the count folds them.
  if (SLUG.test(seg) && (/\d/.test(seg) || seg.split(/[-_]/).length >= 3)) return 'slug';
  return 'word';
}

/** Classes that become a path parameter the first time they are seen. */
export function foldsAtOnce(c: SegmentClass): boolean {
  return c === 'int' || c === 'uuid' || c === 'hash' || c === 'date' || c === 'token';
}

/** The JSON Schema of a path parameter of that class. */
export function segmentSchema(classes: ReadonlySet<SegmentClass>): Record<string, unknown> {
  if (classes.size === 1) {
    const [c] = classes;
    if (c === 'int') return { type: 'integer' };
    if (c === 'uuid') return { type: 'string', format: 'uuid' };
    if (c === 'date') return { type: 'string', format: 'date' };
  }
  return { type: 'string' };
}

/** The string formats the inferrer recognises, most specific first. */
export type StringFormat = 'uuid' | 'date-time' | 'date' | 'email' | 'ipv4' | 'uri';

export function stringFormat(s: string): StringFormat | undefined {
  if (s.length > 2048 || s.length < 7) return undefined;
  // Cheap guards first: this runs for every string of every sampled body.
  if (s.includes('@')) return EMAIL.test(s) ? 'email' : undefined;
  if (s.includes('://')) return URI.test(s) ? 'uri' : undefined;
  const c = s.charCodeAt(0);
  const hex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
  if (!hex) return undefined;
  if (UUID.test(s)) return 'uuid';
  if (DATE_TIME.test(s) && !Number.isNaN(Date.parse(s))) return 'date-time';
  if (DATE.test(s)) return 'date';
  if (IPV4.test(s)) return 'ipv4';
  return undefined;
}

/** Kinds of personal data found in responses (a suggestion to minimise or mask). */
export type PiiKind =
  'email' | 'phone' | 'card' | 'iban' | 'ssn' | 'birth-date' | 'address' | 'name' | 'secret';

const PHONE = /^\+?[0-9][0-9 ().-]{6,19}[0-9]$/;
const IBAN = /^[A-Z]{2}\d{2}[A-Z0-9 ]{11,34}$/;
const SSN = /^\d{3}-\d{2}-\d{4}$/;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Personal data recognised from a string value alone. */
export function piiOfValue(s: string): PiiKind | undefined {
  if (s.length > 64 || s.length < 7) return undefined;
  if (s.includes('@')) return EMAIL.test(s) ? 'email' : undefined;
  if (!/\d/.test(s)) return undefined;
  if (SSN.test(s)) return 'ssn';
  const digits = s.replace(/[ -]/g, '');
  if (/^\d{13,19}$/.test(digits) && luhn(digits)) return 'card';
  if (IBAN.test(s)) return 'iban';
  if (PHONE.test(s) && s.replace(/\D/g, '').length >= 7) return 'phone';
  return undefined;
}

/** Personal data or secrets recognised from a property name (camelCase, snake_case, kebab). */
export function piiOfName(name: string): PiiKind | undefined {
  const n = name.toLowerCase().replace(/[-_ ]/g, '');
  if (/password|passwd|secret|apikey|token|privatekey|otp|totp|pin$|cvv|cvc/.test(n)) return 'secret';
  if (/email|mail$/.test(n)) return 'email';
  if (/phone|mobile|msisdn|fax/.test(n)) return 'phone';
  if (/cardnumber|creditcard|^pan$|^card$/.test(n)) return 'card';
  if (/iban|accountnumber/.test(n)) return 'iban';
  if (/ssn|socialsecurity|nationalid|taxid/.test(n)) return 'ssn';
  if (/birth|^dob$/.test(n)) return 'birth-date';
  if (/address|street|postcode|zipcode|^zip$/.test(n)) return 'address';
  if (/^(full|first|last|given|family|sur)name$|^surname$/.test(n)) return 'name';
  return undefined;
}

/**
 * True when a string may be kept as an enum candidate: short, not personal data, not a
 * secret-looking token, and not under a sensitive property name. Everything else is counted only.
 */
export function mayKeepValue(s: string, property: string | undefined): boolean {
  if (s.length === 0 || s.length > 32) return false;
  if (property !== undefined && piiOfName(property)) return false;
  if (piiOfValue(s) || stringFormat(s)) return false;
  if (/\d{4,}/.test(s)) return false;
  if (/\s{2,}/.test(s) || hasControl(s)) return false;
  const c = classifySegment(s);
  return c === 'word' || c === 'slug';
}

/** `records` → `record`, `categories` → `category`, `addresses` → `address`. */
export function singular(word: string): string {
  if (/ies$/i.test(word) && word.length > 4) return word.slice(0, -3) + 'y';
  if (/(ss|us|is)$/i.test(word)) return word;
  if (/(sses|xes|ches|shes|zes)$/i.test(word)) return word.slice(0, -2);
  if (/s$/i.test(word) && word.length > 2) return word.slice(0, -1);
  return word;
}

/** `patient-records` → `patientRecord`; `line_items` → `lineItem`. */
export function parameterName(previous: string | undefined): string {
  if (!previous) return 'id';
  const parts = singular(previous)
    .replace(/\.[A-Za-z0-9]+$/, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  if (parts.length === 0) return 'id';
  const camel = parts
    .map((p, i) =>
      i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1),
    )
    .join('');
  return /^[0-9]/.test(camel) ? `p${camel}Id` : `${camel}Id`;
}

/** True when a string holds a C0 control character or DEL. */
export function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
