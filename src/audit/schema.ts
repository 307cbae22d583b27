/**
 * Walking resolved JSON Schemas (the loader leaves cycles as shared objects): every
 * property with its path, whether an object accepts undeclared properties, whether a
 * value is bounded. Each walk visits a schema object once per path, so cycles end.
 */
import type { JsonSchema } from '../core/openapi.ts';

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface PropertyInfo {
  name: string;
  schema: Obj;
  /** Dotted path from the root (`items[].owner.id`). */
  path: string;
  readOnly: boolean;
  writeOnly: boolean;
}

const MAX_DEPTH = 12;

/** The subschemas a value must (or may) also match: allOf/anyOf/oneOf members. */
function parts(s: Obj): Obj[] {
  const out: Obj[] = [s];
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[k];
    if (Array.isArray(list)) for (const m of list) if (isObj(m)) out.push(...parts(m));
  }
  return out;
}

function types(s: Obj): string[] {
  const t = s.type;
  return typeof t === 'string'
    ? [t]
    : Array.isArray(t)
      ? t.filter((x): x is string => typeof x === 'string')
      : [];
}

/** Every property reachable from `schema` (through objects, arrays, compositions), depth-limited. */
export function properties(schema: JsonSchema | undefined): PropertyInfo[] {
  const out: PropertyInfo[] = [];
  const walk = (s: unknown, prefix: string, depth: number, seen: Set<object>): void => {
    if (!isObj(s) || depth > MAX_DEPTH || seen.has(s)) return;
    const next = new Set(seen).add(s);
    for (const p of parts(s)) {
      if (p !== s && next.has(p)) continue;
      if (isObj(p.properties)) {
        for (const [name, ps] of Object.entries(p.properties)) {
          if (!isObj(ps)) continue;
          const path = prefix ? `${prefix}.${name}` : name;
          out.push({
            name,
            schema: ps,
            path,
            readOnly: ps.readOnly === true,
            writeOnly: ps.writeOnly === true,
          });
          walk(ps, path, depth + 1, next);
        }
      }
      if (isObj(p.items)) walk(p.items, `${prefix}[]`, depth + 1, next);
      if (isObj(p.additionalProperties)) walk(p.additionalProperties, `${prefix}{}`, depth + 1, next);
    }
  };
  walk(schema, '', 0, new Set());
  return out;
}

/** True when the schema (or one of its composition members) describes an object. */
export function isObjectSchema(s: unknown): s is Obj {
  if (!isObj(s)) return false;
  return parts(s).some((p) => types(p).includes('object') || isObj(p.properties));
}

/**
 * Object schemas reachable from `schema` that accept properties they do not declare
 * (no `additionalProperties: false` / `unevaluatedProperties: false` on it or on a member
 * of its composition). Paths as in {@link properties}; `''` is the root.
 */
export function openObjects(schema: JsonSchema | undefined): string[] {
  const out: string[] = [];
  const walk = (s: unknown, prefix: string, depth: number, seen: Set<object>): void => {
    if (!isObj(s) || depth > MAX_DEPTH || seen.has(s)) return;
    const next = new Set(seen).add(s);
    const members = parts(s);
    if (isObjectSchema(s)) {
      const closed = members.some(
        (p) =>
          p.additionalProperties === false ||
          p.unevaluatedProperties === false ||
          isObj(p.additionalProperties),
      );
      if (!closed) out.push(prefix);
    }
    for (const p of members) {
      if (isObj(p.properties))
        for (const [name, ps] of Object.entries(p.properties))
          walk(ps, prefix ? `${prefix}.${name}` : name, depth + 1, next);
      if (isObj(p.items)) walk(p.items, `${prefix}[]`, depth + 1, next);
    }
  };
  walk(schema, '', 0, new Set());
  return out;
}

/** A `pattern` that caps length: anchored at both ends with no unbounded quantifier. */
export function patternBounds(pattern: string): boolean {
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) return false;
  const body = pattern.replace(/\\./g, '');
  return !/[*+]|\{\d+,\}/.test(body);
}

const BOUNDED_FORMATS = new Set([
  'date',
  'date-time',
  'time',
  'uuid',
  'ipv4',
  'ipv6',
  'int32',
  'int64',
  'duration',
]);

/** What about a leaf value is unbounded: `string`, `array`, `integer`/`number`, or undefined when bounded. */
export function unboundedKind(s: Obj): 'string' | 'array' | 'number' | undefined {
  if (s.enum !== undefined || s.const !== undefined) return undefined;
  const t = types(s);
  if (t.includes('string')) {
    if (typeof s.maxLength === 'number') return undefined;
    if (typeof s.format === 'string' && BOUNDED_FORMATS.has(s.format)) return undefined;
    if (typeof s.pattern === 'string' && patternBounds(s.pattern)) return undefined;
    return 'string';
  }
  if (t.includes('array')) return typeof s.maxItems === 'number' ? undefined : 'array';
  if (t.includes('integer') || t.includes('number')) {
    if (typeof s.maximum === 'number' || typeof s.exclusiveMaximum === 'number') return undefined;
    if (s.format === 'int32') return undefined;
    return 'number';
  }
  return undefined;
}

/** Leaves (and arrays) of a schema that are unbounded, with their paths (`''` for the root). */
export function unboundedValues(schema: JsonSchema | undefined): Array<{ path: string; kind: string }> {
  const out: Array<{ path: string; kind: string }> = [];
  if (!isObj(schema)) return out;
  const root = unboundedKind(schema);
  if (root && !isObjectSchema(schema)) out.push({ path: '', kind: root });
  for (const p of properties(schema)) {
    if (p.readOnly) continue;
    const k = unboundedKind(p.schema);
    if (k) out.push({ path: p.path, kind: k });
  }
  return out;
}

/** The schemas of an operation's JSON-ish request body media types (all of them). */
export function mediaSchemas(content: Record<string, { schema?: JsonSchema }> | undefined): Obj[] {
  const out: Obj[] = [];
  for (const [media, m] of Object.entries(content ?? {})) {
    if (!isObj(m.schema)) continue;
    if (/json|form|xml|\*\/\*/i.test(media) || media === 'text/plain') out.push(m.schema);
  }
  return out;
}
