import { randomBytes } from 'node:crypto';
import type { JsonSchema } from '../core/openapi.ts';
import { isObj, propertiesOf, typesOf } from './spec.ts';

/** A short random tag that marks values (and objects) this scan created. */
export const scanTag = (): string => randomBytes(4).toString('hex');

let patternSeed = Math.floor(Math.random() * 1000);

/**
 * Produces one string matching a (simple) regular expression: literals, escapes, character
 * classes, groups, alternation (first branch) and quantifiers (their minimum, at least one).
 * Returns undefined for what it cannot read; the caller falls back to a plain word.
 */
export function sampleFromPattern(pattern: string): string | undefined {
  let i = 0;
  const src = pattern;
  const classChars = (set: string): string[] => {
    const out: string[] = [];
    for (let j = 0; j < set.length; j++) {
      let c = set[j]!;
      if (c === '\\') {
        const e = set[++j]!;
        if (e === 'd') out.push('0', '1', '7');
        else if (e === 'w') out.push('a', 'b', '1');
        else if (e === 's') out.push(' ');
        else out.push(e);
        continue;
      }
      if (set[j + 1] === '-' && j + 2 < set.length) {
        const end = set[j + 2]!;
        for (let k = c.charCodeAt(0); k <= end.charCodeAt(0) && out.length < 64; k++)
          out.push(String.fromCharCode(k));
        j += 2;
        continue;
      }
      c = c ?? '';
      out.push(c);
    }
    return out;
  };
  const seed = patternSeed++;
  const pick = (chars: string[], n: number): string => {
    // Prefer letters and digits; vary with a per-call seed so generated codes differ.
    const nice = chars.filter((c) => /[a-z0-9]/i.test(c));
    const pool = nice.length > 0 ? nice : chars;
    let s = '';
    for (let k = 0; k < n; k++) s += pool[(k * 7 + 3 + seed * 13) % pool.length];
    return s;
  };
  function atom(): { chars: string[] | undefined; text?: string } | undefined {
    const c = src[i]!;
    if (c === '(') {
      i++;
      if (src.startsWith('?:', i)) i += 2;
      const inner = seq(')');
      if (src[i] !== ')') return undefined;
      i++;
      return inner === undefined ? undefined : { chars: undefined, text: inner };
    }
    if (c === '[') {
      const end = src.indexOf(']', i + 2);
      if (end < 0) return undefined;
      let set = src.slice(i + 1, end);
      i = end + 1;
      if (set.startsWith('^')) set = ''; // negated: use a safe letter
      const chars = set ? classChars(set) : ['a'];
      return { chars };
    }
    if (c === '\\') {
      const e = src[i + 1]!;
      i += 2;
      if (e === 'd') return { chars: ['0', '1', '7'] };
      if (e === 'w') return { chars: ['a', 'b', '1'] };
      if (e === 's') return { chars: [' '] };
      return { chars: [e] };
    }
    if (c === '.') {
      i++;
      return { chars: ['a'] };
    }
    i++;
    return { chars: [c] };
  }
  function seq(stop?: string): string | undefined {
    let out = '';
    while (i < src.length && src[i] !== stop) {
      const c = src[i]!;
      if (c === '^' || c === '$') {
        i++;
        continue;
      }
      if (c === '|') {
        // Keep the first alternative: skip to the end of this group.
        let depth = 0;
        while (i < src.length) {
          if (src[i] === '\\') i++;
          else if (src[i] === '(') depth++;
          else if (src[i] === ')') {
            if (depth === 0) break;
            depth--;
          }
          i++;
        }
        break;
      }
      const a = atom();
      if (!a) return undefined;
      let n = 1;
      const q = src[i];
      if (q === '*' || q === '?') {
        n = q === '*' ? 1 : 0;
        i++;
      } else if (q === '+') i++;
      else if (q === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (!m) return undefined;
        n = Math.max(Number(m[1]), m[2] ? Math.min(Number(m[3] || m[1]), Math.max(Number(m[1]), 8)) : 0);
        i += m[0].length;
      }
      if (src[i] === '?') i++;
      out += a.text !== undefined ? a.text.repeat(n) : pick(a.chars!, n);
    }
    return out;
  }
  try {
    const s = seq();
    if (s === undefined) return undefined;
    return new RegExp(pattern, 'u').test(s) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Where generated values come from: values this scan saw or created, by property name. */
export class ValuePool {
  private readonly byName = new Map<string, unknown[]>();

  add(name: string, value: unknown): void {
    if (value === null || value === undefined || typeof value === 'object') return;
    const k = name.toLowerCase();
    const list = this.byName.get(k) ?? [];
    if (!list.includes(value)) list.unshift(value);
    if (list.length > 20) list.pop();
    this.byName.set(k, list);
  }

  /** Records every scalar property of a JSON value (recursively, bounded). */
  learn(value: unknown, depth = 0): void {
    if (depth > 4) return;
    if (Array.isArray(value)) value.slice(0, 20).forEach((v) => this.learn(v, depth + 1));
    else if (isObj(value))
      for (const [k, v] of Object.entries(value)) {
        if (typeof v === 'object') this.learn(v, depth + 1);
        else this.add(k, v);
      }
  }

  get(name: string): unknown[] {
    return this.byName.get(name.toLowerCase()) ?? [];
  }
}

export interface SampleOptions {
  /** URL-typed values point here (the canary), so a server-side fetch never leaves the machine. */
  urlValue: string;
  pool?: ValuePool;
  /** Ignore the pool: new values only (creations that must be unique). */
  fresh?: boolean;
  /** Include optional properties (default: required ones and writable optional strings). */
  allProperties?: boolean;
  tag: string;
}

const isUrlish = (name: string, s: Record<string, unknown>): boolean =>
  s.format === 'uri' ||
  s.format === 'url' ||
  s.format === 'iri' ||
  /(^|_)(url|uri|href|link|callback|webhook)$/i.test(name) ||
  /Url$|Uri$/.test(name);

/** A valid-looking value for a schema (examples, enums, pool values, formats, patterns, bounds). */
export function sampleValue(
  schema: JsonSchema | undefined,
  name: string,
  o: SampleOptions,
  depth = 0,
): unknown {
  if (!isObj(schema)) return `rampart-${o.tag}`;
  if ('const' in schema) return schema.const;
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (Array.isArray(schema.enum) && schema.enum.length > 0)
    return schema.enum.find((v) => v !== null) ?? schema.enum[0];
  for (const k of ['oneOf', 'anyOf'] as const)
    if (Array.isArray(schema[k]) && schema[k].length > 0)
      return sampleValue(schema[k][0] as JsonSchema, name, o, depth + 1);
  const types = typesOf(schema).filter((t) => t !== 'null');
  const type = types[0] ?? (Array.isArray(schema.allOf) ? 'object' : 'string');
  const pooled = o.fresh
    ? undefined
    : o.pool?.get(name).find((v) => typeof v === (type === 'integer' ? 'number' : type));
  if (pooled !== undefined) return pooled;
  switch (type) {
    case 'integer':
    case 'number': {
      const min =
        typeof schema.minimum === 'number'
          ? schema.minimum
          : typeof schema.exclusiveMinimum === 'number'
            ? schema.exclusiveMinimum + 1
            : 1;
      const max = typeof schema.maximum === 'number' ? schema.maximum : undefined;
      return max !== undefined ? Math.min(Math.max(min, 1), max) : Math.max(min, 1);
    }
    case 'boolean':
      return false;
    case 'array':
      return depth > 3 ? [] : [sampleValue(schema.items as JsonSchema, name, o, depth + 1)];
    case 'object':
      return depth > 4 ? {} : sampleObject(schema, o, depth + 1);
    default:
      return sampleString(schema, name, o);
  }
}

function sampleString(s: Record<string, unknown>, name: string, o: SampleOptions): string {
  const minLen = typeof s.minLength === 'number' ? s.minLength : 0;
  const maxLen = typeof s.maxLength === 'number' ? s.maxLength : 64;
  const fit = (v: string): string =>
    (v.length < minLen ? v + 'x'.repeat(minLen - v.length) : v).slice(0, Math.max(maxLen, 1));
  if (typeof s.pattern === 'string') {
    const v = sampleFromPattern(s.pattern);
    if (v !== undefined) return v;
  }
  switch (s.format) {
    case 'email':
      return `rampart.${o.tag}@example.com`;
    case 'date-time':
      return '2026-01-01T00:00:00Z';
    case 'date':
      return '2026-01-01';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    case 'ipv4':
      return '192.0.2.1';
  }
  if (isUrlish(name, s)) return o.urlValue;
  if (/password|secret/i.test(name)) return fit(`Rampart-${o.tag}-Pw1!`);
  if (/^(user)?name$|username|login/i.test(name)) return fit(`rampart${o.tag}`.toLowerCase());
  if (/phone/i.test(name)) return '+1 555 0100';
  return fit(`rampart-${o.tag}`);
}

/** A JSON object with the required properties and the writable optional ones (never readOnly). */
export function sampleObject(
  schema: JsonSchema | undefined,
  o: SampleOptions,
  depth = 0,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObj(schema)) return out;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  for (const part of Array.isArray(schema.allOf) ? (schema.allOf as Array<Record<string, unknown>>) : [])
    for (const r of Array.isArray(part.required) ? (part.required as string[]) : []) required.add(r);
  for (const [k, p] of Object.entries(propertiesOf(schema))) {
    if (p.readOnly === true) continue;
    const t = typesOf(p);
    if (!required.has(k) && !o.allProperties && !(t.includes('string') && Object.keys(out).length < 4))
      continue;
    out[k] = sampleValue(p, k, o, depth);
  }
  return out;
}
