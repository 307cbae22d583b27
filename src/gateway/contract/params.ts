/**
 * Parameters as OpenAPI serialises them (OpenAPI 3.1 §4.8.12.4 "Style Values"): query
 * `form` (explode or not; an exploded form object's properties are query parameters of their
 * own), `spaceDelimited`, `pipeDelimited`, `deepObject`; path `simple`,
 * `label`, `matrix`; header `simple`; cookie `form`. Each parameter gets, at build time, a
 * reader for its location, a deserialiser for its style and a compiled schema; strings are
 * coerced to the schema's scalar type before validation (`?limit=20` is the integer 20).
 */
import type { JsonSchema, OpenApiParameter } from '../../core/openapi.ts';
import {
  compileSchema,
  type CompiledSchema,
  type Dialect,
  type SchemaIssue,
  type Violation,
} from './schema.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a request offers to the parameter readers. */
export interface ParameterInput {
  /** Path parameters from the router, already percent-decoded. */
  path: Readonly<Record<string, string>>;
  /** Parsed query: name → every value in order. */
  query: ReadonlyMap<string, readonly string[]>;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

const decode = (s: string): string => {
  const plus = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
};

/**
 * Splits a raw query string (without `?`) into name → values, `+` as space, percent-decoded;
 * malformed escapes are kept as written.
 * @example
 * parseQuery('a=1&a=2&b=x+y').get('a') // ['1', '2']
 */
export function parseQuery(raw: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** Cookie header → name → value (RFC 6265 §5.4; first occurrence wins). */
export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      if (name && !out.has(name))
        out.set(
          name,
          decode(
            pair
              .slice(eq + 1)
              .trim()
              .replace(/^"(.*)"$/, '$1'),
          ),
        );
    }
  }
  return out;
}

type Kind = 'scalar' | 'array' | 'object';

function typesOf(schema: JsonSchema | undefined): Set<string> {
  if (!isObj(schema)) return new Set();
  const t = schema.type;
  const list = Array.isArray(t) ? t : typeof t === 'string' ? [t] : [];
  const out = new Set<string>(list as string[]);
  if (schema.nullable === true) out.add('null');
  if (out.size === 0) {
    for (const k of ['allOf', 'anyOf', 'oneOf'])
      if (Array.isArray(schema[k]))
        for (const m of schema[k] as JsonSchema[]) for (const x of typesOf(m)) out.add(x);
  }
  return out;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A string as the scalar the schema wants, when it reads as one; else the string. */
export function coerceScalar(s: string, types: ReadonlySet<string>): unknown {
  if ((types.has('integer') || types.has('number')) && NUMBER.test(s)) return Number(s);
  if (types.has('boolean') && (s === 'true' || s === 'false')) return s === 'true';
  if (types.has('null') && s === '' && !types.has('string')) return null;
  return s;
}

/** Splits on `sep` and coerces each item to the item schema's scalar type. */
function splitList(s: string, sep: string, itemTypes: ReadonlySet<string>): unknown[] {
  return (s === '' ? [] : s.split(sep)).map((x) => coerceScalar(x, itemTypes));
}

/** `k1,v1,k2,v2` → { k1: v1, k2: v2 } (non-exploded objects); `k=v,k2=v2` when exploded (simple/matrix). */
function pairsToObject(s: string, sep: string, exploded: boolean, props: Obj): Obj {
  const out: Obj = {};
  const parts = s === '' ? [] : s.split(sep);
  const put = (k: string, v: string): void => {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') return;
    out[k] = coerceScalar(v, typesOf(props[k] as JsonSchema));
  };
  if (exploded)
    for (const p of parts) {
      const eq = p.indexOf('=');
      put(eq < 0 ? p : p.slice(0, eq), eq < 0 ? '' : p.slice(eq + 1));
    }
  else for (let i = 0; i + 1 < parts.length; i += 2) put(parts[i]!, parts[i + 1]!);
  return out;
}

interface CompiledParameter {
  name: string;
  in: OpenApiParameter['in'];
  required: boolean;
  pointer: string;
  read(input: ParameterInput, cookies: () => Map<string, string>): unknown;
  schema: CompiledSchema | undefined;
}

/** Headers the OpenAPI specification says parameter definitions do not describe. */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

export interface CompiledParameters {
  /** Every violation of the request's parameters (missing, malformed, out of bounds). */
  check(input: ParameterInput): Violation[];
  /** The declared query parameter names (for rejecting unknown ones), with the properties of exploded form objects. */
  readonly queryNames: ReadonlySet<string>;
  /** True when an exploded form object allows additional properties: every query name is someone's. */
  readonly anyQuery: boolean;
  readonly issues: readonly SchemaIssue[];
}

/**
 * Compiles an operation's parameters once.
 * @example
 * const p = compileParameters(op.parameters, '3.1', op.pointer);
 * p.check({ path: { id: '7' }, query: parseQuery('limit=500'), headers: {} });
 * // [{ pointer: '/query/limit', keyword: 'maximum', detail: 'must be <= 100' }]
 */
export function compileParameters(
  params: readonly OpenApiParameter[],
  dialect: Dialect,
  basePointer = '',
): CompiledParameters {
  const issues: SchemaIssue[] = [];
  const compiled: CompiledParameter[] = [];
  const queryNames = new Set<string>();
  /** Names of the plain query parameters (not exploded form objects), known once every parameter is compiled. */
  const plainQuery = new Set<string>();
  const exploded: Array<{ name: string; props: string[]; where: string }> = [];
  let anyQuery = false;
  params.forEach((p, index) => {
    if (p.in === 'header' && IGNORED_HEADERS.has(p.name.toLowerCase())) return;
    const schema = p.schema;
    const types = typesOf(schema);
    const kind: Kind = types.has('array')
      ? 'array'
      : types.has('object') && !types.has('string')
        ? 'object'
        : 'scalar';
    const items = isObj(schema) ? (schema.items as JsonSchema | undefined) : undefined;
    const itemTypes = typesOf(items);
    const props = isObj(schema) && isObj(schema.properties) ? schema.properties : {};
    const style = p.style ?? (p.in === 'query' || p.in === 'cookie' ? 'form' : 'simple');
    const explode = p.explode ?? style === 'form';
    const where = `${basePointer}/parameters/${index}`;
    const allowed: Record<OpenApiParameter['in'], string[]> = {
      query: ['form', 'spaceDelimited', 'pipeDelimited', 'deepObject'],
      path: ['simple', 'label', 'matrix'],
      header: ['simple'],
      cookie: ['form'],
    };
    if (!allowed[p.in].includes(style)) {
      issues.push({
        pointer: `${where}/style`,
        keyword: 'style',
        message: `style '${style}' is not defined for ${p.in} parameters (use ${allowed[p.in].join(', ')})`,
      });
      return;
    }
    const explodedObject = kind === 'object' && p.in === 'query' && style === 'form' && explode;
    // An exploded form object has no query name of its own: its properties are the names.
    if (p.in === 'query' && !explodedObject) {
      plainQuery.add(p.name);
      queryNames.add(p.name);
    }
    let read: CompiledParameter['read'];
    const scalar = (s: string): unknown =>
      kind === 'array'
        ? splitList(s, ',', itemTypes)
        : kind === 'object'
          ? pairsToObject(s, ',', explode, props)
          : coerceScalar(s, types);
    if (explodedObject) {
      // `?color=blue&size=L` is the object { color: 'blue', size: 'L' } (OpenAPI style form,
      // explode true): each declared property is a query parameter of its own; with
      // additional properties allowed, so is every query name no other parameter declares.
      const names = Object.keys(props).filter(
        (k) => k !== '__proto__' && k !== 'constructor' && k !== 'prototype',
      );
      const open =
        isObj(schema) && schema.additionalProperties !== undefined && schema.additionalProperties !== false;
      if (open) anyQuery = true;
      for (const k of names) queryNames.add(k);
      exploded.push({ name: p.name, props: names, where });
      const propTypes = new Map(names.map((k) => [k, typesOf(props[k] as JsonSchema)]));
      const itemTypesOf = new Map(
        names.map((k) => [k, typesOf((props[k] as Obj | undefined)?.items as JsonSchema | undefined)]),
      );
      const value = (k: string, vs: readonly string[]): unknown => {
        const t = propTypes.get(k) ?? new Set<string>();
        if (t.has('array')) return vs.map((v) => coerceScalar(v, itemTypesOf.get(k)!));
        // A scalar property given twice is ambiguous (parameter pollution): validated as a list, it fails.
        return vs.length > 1 ? vs : coerceScalar(vs[0]!, t);
      };
      read = (input) => {
        let out: Obj | undefined;
        if (open) {
          for (const [k, vs] of input.query) {
            if (plainQuery.has(k) || k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
            (out ??= {})[k] = value(k, vs);
          }
        } else
          for (const k of names) {
            const vs = input.query.get(k);
            if (vs !== undefined) (out ??= {})[k] = value(k, vs);
          }
        return out;
      };
    } else if (p.in === 'query') {
      const name = p.name;
      if (style === 'deepObject') {
        const prefix = name + '[';
        read = (input) => {
          let out: Obj | undefined;
          for (const [k, vs] of input.query) {
            if (!k.startsWith(prefix) || !k.endsWith(']')) continue;
            const key = k.slice(prefix.length, -1);
            if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
            out ??= {};
            out[key] = coerceScalar(vs[vs.length - 1]!, typesOf(props[key] as JsonSchema));
          }
          return out;
        };
      } else {
        const sep = style === 'spaceDelimited' ? ' ' : style === 'pipeDelimited' ? '|' : ',';
        read = (input) => {
          const vs = input.query.get(name);
          if (vs === undefined) return undefined;
          if (kind === 'array')
            return explode && style === 'form'
              ? vs.map((v) => coerceScalar(v, itemTypes))
              : splitList(vs[vs.length - 1]!, sep, itemTypes);
          // A scalar given twice is ambiguous (parameter pollution): validate it as a list so it fails.
          if (vs.length > 1) return vs;
          return kind === 'object' ? pairsToObject(vs[0]!, ',', false, props) : coerceScalar(vs[0]!, types);
        };
      }
    } else if (p.in === 'path') {
      const name = p.name;
      read = (input) => {
        let s = input.path[name];
        if (s === undefined) return undefined;
        if (style === 'label') s = s.startsWith('.') ? s.slice(1) : s;
        else if (style === 'matrix') {
          const prefix = `;${name}=`;
          s = s.startsWith(prefix) ? s.slice(prefix.length) : s;
        }
        if (kind === 'array') return splitList(s, style === 'label' && explode ? '.' : ',', itemTypes);
        if (kind === 'object')
          return pairsToObject(s, style === 'label' && explode ? '.' : ',', explode, props);
        return coerceScalar(s, types);
      };
    } else if (p.in === 'header') {
      const name = p.name.toLowerCase();
      read = (input) => {
        const v = input.headers[name];
        if (v === undefined) return undefined;
        return scalar(Array.isArray(v) ? v.join(',') : v);
      };
    } else {
      const name = p.name;
      read = (_input, cookies) => {
        const v = cookies().get(name);
        return v === undefined ? undefined : scalar(v);
      };
    }
    let compiledSchema: CompiledSchema | undefined;
    if (schema !== undefined) {
      compiledSchema = compileSchema(schema, { dialect, closeObjects: true, pointer: `${where}/schema` });
      issues.push(...compiledSchema.issues);
    }
    compiled.push({
      name: p.name,
      in: p.in,
      required: p.required,
      pointer: `/${p.in}/${p.name.replace(/~/g, '~0').replace(/\//g, '~1')}`,
      read,
      schema: compiledSchema,
    });
  });
  // An exploded object's property named like another query parameter: the query cannot say whose it is.
  for (const e of exploded)
    for (const k of e.props)
      if (plainQuery.has(k) || exploded.some((o) => o !== e && o.props.includes(k)))
        issues.push({
          pointer: `${e.where}/schema/properties/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`,
          keyword: 'style',
          message: `property '${k}' of the exploded form object '${e.name}' is also another query parameter: the query cannot say whose it is (use style: deepObject)`,
        });
  if (exploded.length > 1 && anyQuery)
    issues.push({
      pointer: `${exploded[1]!.where}/style`,
      keyword: 'style',
      message:
        'two exploded form objects and one allows additional properties: unknown query names have no owner (use style: deepObject)',
    });
  return {
    issues,
    queryNames,
    anyQuery,
    check(input) {
      if (compiled.length === 0) return NONE;
      let cookieMap: Map<string, string> | undefined;
      const cookies = (): Map<string, string> => (cookieMap ??= parseCookies(input.headers.cookie));
      let out: Violation[] | undefined;
      for (const p of compiled) {
        const value = p.read(input, cookies);
        if (value === undefined) {
          if (p.required)
            (out ??= []).push({ pointer: p.pointer, keyword: 'required', detail: 'is required' });
          continue;
        }
        if (!p.schema) continue;
        const v = p.schema.check(value, p.pointer);
        if (v.length) (out ??= []).push(...v);
      }
      return out ?? NONE;
    },
  };
}

const NONE: Violation[] = [];
