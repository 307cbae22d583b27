/**
 * OpenAPI schemas → JSON Schema 2020-12 for ajv, compiled once per operation.
 *
 * - OpenAPI 3.0 schemas are rewritten to 2020-12: `nullable: true` becomes a `null` type
 *   (and a `null` enum member), boolean `exclusiveMinimum`/`exclusiveMaximum` become the
 *   numeric form, `example` is dropped. 3.1 schemas are 2020-12 already (`example` dropped).
 * - The loader leaves `$ref` cycles as shared objects; ajv needs a tree, so every object
 *   that is its own ancestor becomes a `$defs` entry referenced by `$ref`.
 * - Request bodies are closed: an object schema that does not say `additionalProperties`
 *   (or `unevaluatedProperties`/`patternProperties`) gets `unevaluatedProperties: false`,
 *   which sees through `allOf`/`anyOf`/`oneOf` (members of those are not closed on their
 *   own, their union is). Mass assignment of an undeclared property is therefore a 422.
 * - Response schemas can be opened (`additionalProperties: false` removed): undeclared
 *   properties in answers are minimise-response's to drop, not a reason for a 502.
 * - Unsupported or invalid keywords are reported as {@link SchemaIssue}s (pointer + keyword)
 *   for `rampart check`, never silently ignored.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '../../core/openapi.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export type Dialect = '3.0' | '3.1';

/** A keyword the validator cannot honour, or an invalid schema, with where it is. */
export interface SchemaIssue {
  /** JSON pointer of the schema (document-relative when the caller gave a base pointer). */
  pointer: string;
  keyword: string;
  message: string;
}

/** One violation of a request/response against the contract. */
export interface Violation {
  /** JSON pointer into the checked value (`/query/limit`, `/body/items/0/name`). */
  pointer: string;
  /** The JSON Schema keyword that failed (`maximum`, `required`, `additionalProperties`…). */
  keyword: string;
  detail: string;
}

/** Keywords JSON Schema 2020-12 defines that ajv evaluates. */
const VALIDATION_KEYWORDS = new Set([
  'type',
  'enum',
  'const',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxContains',
  'minContains',
  'maxProperties',
  'minProperties',
  'required',
  'dependentRequired',
  'properties',
  'patternProperties',
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'prefixItems',
  'contains',
  'unevaluatedItems',
  'propertyNames',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'format',
  '$defs',
]);
/** Annotations: kept or dropped, never evaluated. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  'examples',
  'example',
  '$comment',
  '$schema',
  '$id',
  '$anchor',
  'contentMediaType',
  'contentEncoding',
  'contentSchema',
  'discriminator',
  'xml',
  'externalDocs',
  'nullable',
  'definitions',
]);
/** Keywords the compiled schemas keep besides the validation ones. */
const KEPT_ANNOTATIONS = new Set(['title', 'description', 'default', 'deprecated', 'readOnly', 'writeOnly']);

const SCHEMA_MAP_KEYS = new Set([
  'properties',
  'patternProperties',
  'dependentSchemas',
  '$defs',
  'definitions',
]);
const SCHEMA_LIST_KEYS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_KEYS = new Set([
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'contains',
  'unevaluatedItems',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'contentSchema',
]);

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

/** Formats ajv-formats checks; any other format is an annotation (OpenAPI formats are open). */
const KNOWN_FORMATS = new Set([
  'date',
  'time',
  'date-time',
  'iso-time',
  'iso-date-time',
  'duration',
  'uri',
  'uri-reference',
  'uri-template',
  'url',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'regex',
  'uuid',
  'json-pointer',
  'json-pointer-uri-fragment',
  'relative-json-pointer',
  'byte',
  'int32',
  'int64',
  'float',
  'double',
  'password',
  'binary',
]);

export interface ConvertOptions {
  dialect: Dialect;
  /** Close objects that do not say `additionalProperties` (request bodies). Default false. */
  closeObjects?: boolean;
  /** Remove `additionalProperties: false` / `unevaluatedProperties: false` (responses). Default false. */
  openObjects?: boolean;
  /** Pointer of the schema in its document, prefixed to issue pointers. */
  pointer?: string;
}

export interface Converted {
  schema: Obj | boolean;
  issues: SchemaIssue[];
}

const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Schema children of a schema object, with their relative pointer segments. */
function children(node: Obj): Array<[string[], unknown]> {
  const out: Array<[string[], unknown]> = [];
  for (const [k, v] of Object.entries(node)) {
    if (SCHEMA_MAP_KEYS.has(k) && isObj(v)) for (const [n, s] of Object.entries(v)) out.push([[k, n], s]);
    else if (SCHEMA_LIST_KEYS.has(k) && Array.isArray(v)) v.forEach((s, i) => out.push([[k, String(i)], s]));
    else if (k === 'items' && Array.isArray(v)) v.forEach((s, i) => out.push([[k, String(i)], s]));
    else if (SCHEMA_KEYS.has(k)) out.push([[k], v]);
  }
  return out;
}

/** Objects reachable from `root` that are their own ancestors (the loader's `$ref` cycles). */
function cyclicNodes(root: unknown): Set<Obj> {
  const cyclic = new Set<Obj>();
  const onStack = new Set<Obj>();
  const done = new Set<Obj>();
  const visit = (n: unknown): void => {
    if (!isObj(n)) return;
    if (onStack.has(n)) {
      cyclic.add(n);
      return;
    }
    if (done.has(n)) return;
    onStack.add(n);
    for (const [, c] of children(n)) visit(c);
    onStack.delete(n);
    done.add(n);
  };
  visit(root);
  return cyclic;
}

type Mode = 'closed' | 'member' | 'plain';

/**
 * Converts an OpenAPI schema (3.0 or 3.1) to JSON Schema 2020-12 for ajv, reporting
 * keywords that cannot be honoured.
 * @example
 * const { schema, issues } = toJsonSchema({ type: 'integer', nullable: true }, { dialect: '3.0' });
 * // schema: { type: ['integer', 'null'] }
 */
export function toJsonSchema(input: JsonSchema, opts: ConvertOptions): Converted {
  const issues: SchemaIssue[] = [];
  const issueKeys = new Set<string>();
  const base = opts.pointer ?? '';
  const issue = (segs: string[], keyword: string, message: string): void => {
    const pointer = base + segs.map((s) => '/' + esc(s)).join('');
    const key = `${pointer}\0${keyword}`;
    if (issueKeys.has(key)) return;
    issueKeys.add(key);
    issues.push({ pointer, keyword, message });
  };
  const cyclic = cyclicNodes(input);
  const defs: Obj = {};
  const defIds = new Map<Obj, Map<Mode, string>>();

  const convert = (node: unknown, segs: string[], mode: Mode): Obj | boolean => {
    if (typeof node === 'boolean') return node;
    if (!isObj(node)) {
      issue(
        segs,
        'schema',
        `expected a schema object or boolean, got ${node === null ? 'null' : typeof node}`,
      );
      return true;
    }
    if (cyclic.has(node)) {
      let byMode = defIds.get(node);
      if (!byMode) defIds.set(node, (byMode = new Map()));
      let id = byMode.get(mode);
      if (id === undefined) {
        id = `s${Object.keys(defs).length}`;
        byMode.set(mode, id);
        defs[id] = true; // placeholder while its own body refers back to it
        defs[id] = body(node, segs, mode);
      }
      return { $ref: `#/$defs/${id}` };
    }
    return body(node, segs, mode);
  };

  const body = (node: Obj, segs: string[], mode: Mode): Obj => {
    const out: Obj = {};
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith('x-')) continue;
      if (VALIDATION_KEYWORDS.has(k) || KEPT_ANNOTATIONS.has(k)) continue; // handled below
      if (ANNOTATIONS.has(k)) {
        if (k === 'nullable' && opts.dialect === '3.1')
          issue([...segs, k], k, "'nullable' is OpenAPI 3.0; in 3.1 write type: [T, 'null']");
        if (k === 'definitions')
          issue([...segs, k], k, "'definitions' is not evaluated; put schemas under components.schemas");
        continue;
      }
      if (k === '$ref')
        issue(
          [...segs, k],
          k,
          `unresolved $ref '${String(v)}' (only local and relative-file refs are supported)`,
        );
      else issue([...segs, k], k, `unsupported schema keyword '${k}'`);
    }
    // type
    if (node.type !== undefined) {
      const t = node.type;
      const list = Array.isArray(t) ? t : [t];
      if (!list.every((x) => typeof x === 'string' && TYPES.has(x)) || list.length === 0)
        issue([...segs, 'type'], 'type', `invalid type ${JSON.stringify(t)}`);
      else {
        out.type = t;
        if (Array.isArray(t) && opts.dialect === '3.0')
          issue(
            [...segs, 'type'],
            'type',
            "a list of types is OpenAPI 3.1; in 3.0 use one type (and 'nullable')",
          );
      }
    }
    if (opts.dialect === '3.0' && node.nullable === true) {
      if (typeof out.type === 'string') out.type = [out.type, 'null'];
      else if (out.type === undefined) {
        /* no type: anything goes, null included */
      }
    }
    for (const k of [
      'enum',
      'const',
      'multipleOf',
      'maxLength',
      'minLength',
      'pattern',
      'maxItems',
      'minItems',
      'uniqueItems',
      'maxContains',
      'minContains',
      'maxProperties',
      'minProperties',
      'required',
      'dependentRequired',
      'maximum',
      'minimum',
      ...KEPT_ANNOTATIONS,
    ]) {
      if (node[k] !== undefined) out[k] = node[k];
    }
    if (
      opts.dialect === '3.0' &&
      node.nullable === true &&
      Array.isArray(out.enum) &&
      !out.enum.includes(null)
    )
      out.enum = [...out.enum, null];
    if (typeof node.pattern === 'string') {
      try {
        new RegExp(node.pattern, 'u');
      } catch {
        issue([...segs, 'pattern'], 'pattern', `invalid regular expression ${JSON.stringify(node.pattern)}`);
        delete out.pattern;
      }
    }
    for (const k of ['exclusiveMinimum', 'exclusiveMaximum'] as const) {
      const v = node[k];
      if (v === undefined) continue;
      const bound = k === 'exclusiveMinimum' ? 'minimum' : 'maximum';
      if (typeof v === 'boolean') {
        if (opts.dialect === '3.1')
          issue([...segs, k], k, `'${k}' is a number in OpenAPI 3.1, not a boolean`);
        if (v && typeof node[bound] === 'number') {
          out[k] = node[bound];
          delete out[bound];
        }
      } else if (typeof v === 'number') out[k] = v;
      else issue([...segs, k], k, `'${k}' must be a number`);
    }
    if (node.format !== undefined) {
      if (typeof node.format !== 'string') issue([...segs, 'format'], 'format', "'format' must be a string");
      else if (KNOWN_FORMATS.has(node.format)) out.format = node.format;
    }
    // subschemas
    const isObjectSchema =
      node.type === 'object' ||
      (Array.isArray(node.type) && node.type.includes('object')) ||
      (node.type === undefined && (isObj(node.properties) || Array.isArray(node.required)));
    const childMode: Mode = mode === 'plain' ? 'plain' : 'closed';
    for (const k of ['properties', 'patternProperties', 'dependentSchemas', '$defs']) {
      const v = node[k];
      if (v === undefined) continue;
      if (!isObj(v)) {
        issue([...segs, k], k, `'${k}' must be an object of schemas`);
        continue;
      }
      const m: Obj = {};
      for (const [n, s] of Object.entries(v)) m[n] = convert(s, [...segs, k, n], childMode);
      out[k] = m;
    }
    for (const k of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) {
      const v = node[k];
      if (v === undefined) continue;
      if (!Array.isArray(v) || v.length === 0) {
        issue([...segs, k], k, `'${k}' must be a non-empty array of schemas`);
        continue;
      }
      const memberMode: Mode = k === 'prefixItems' ? childMode : mode === 'plain' ? 'plain' : 'member';
      out[k] = v.map((s, i) => convert(s, [...segs, k, String(i)], memberMode));
    }
    if (Array.isArray(node.items)) {
      if (opts.dialect === '3.0')
        issue([...segs, 'items'], 'items', "'items' must be a schema in OpenAPI 3.0, not a list");
      else issue([...segs, 'items'], 'items', "a list 'items' is draft 4–2019; in 2020-12 use 'prefixItems'");
    } else if (node.items !== undefined) out.items = convert(node.items, [...segs, 'items'], childMode);
    for (const k of ['contains', 'unevaluatedItems', 'propertyNames', 'not', 'if', 'then', 'else']) {
      if (node[k] !== undefined) out[k] = convert(node[k], [...segs, k], k === 'not' ? 'plain' : childMode);
    }
    for (const k of ['additionalProperties', 'unevaluatedProperties'] as const) {
      const v = node[k];
      if (v === undefined) continue;
      if (v === false && opts.openObjects) continue;
      out[k] = typeof v === 'boolean' ? v : convert(v, [...segs, k], childMode);
    }
    if (
      opts.closeObjects &&
      mode === 'closed' &&
      isObjectSchema &&
      node.additionalProperties === undefined &&
      node.unevaluatedProperties === undefined &&
      node.patternProperties === undefined
    )
      out.unevaluatedProperties = false;
    else if (
      opts.closeObjects &&
      mode === 'closed' &&
      node.additionalProperties === undefined &&
      node.unevaluatedProperties === undefined &&
      (Array.isArray(node.allOf) || Array.isArray(node.oneOf) || Array.isArray(node.anyOf)) &&
      node.type === undefined &&
      composedOfObjects(node)
    )
      out.unevaluatedProperties = false;
    return out;
  };

  const root = convert(input, [], opts.closeObjects ? 'closed' : 'plain');
  if (Object.keys(defs).length === 0) return { schema: root, issues };
  const schema: Obj = typeof root === 'boolean' ? { allOf: [root] } : { ...root };
  schema.$defs = { ...(isObj(schema.$defs) ? schema.$defs : {}), ...defs };
  return { schema, issues };
}

/** True when an allOf/anyOf/oneOf schema's members all describe objects. */
function composedOfObjects(node: Obj): boolean {
  const members = [node.allOf, node.anyOf, node.oneOf].filter(Array.isArray).flat() as unknown[];
  return (
    members.length > 0 &&
    members.every((m) => isObj(m) && (m.type === 'object' || isObj(m.properties) || composedOfObjects(m)))
  );
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const instances: { full?: Ajv2020; first?: Ajv2020 } = {};

function newAjv(allErrors: boolean): Ajv2020 {
  const a = new Ajv2020({
    allErrors,
    strict: false,
    validateFormats: true,
    // Our own keywords only; schemas are compiled once per operation and kept by the caller.
    addUsedSchema: false,
    unicodeRegExp: true,
  });
  addFormats(a);
  return a;
}

/** The ajv instance that reports every error: 2020-12, formats from ajv-formats; schemas are never added by id. */
export function ajv(): Ajv2020 {
  return (instances.full ??= newAjv(true));
}

/** The same, stopping at the first error: what runs on every request (valid ones never need the rest). */
function firstErrorAjv(): Ajv2020 {
  return (instances.first ??= newAjv(false));
}

/**
 * The two validators of one converted schema: `first` answers valid or not, stopping at the
 * first error (ajv's allErrors costs about a third more on valid data); `full` collects every
 * error, run only once `first` has said invalid. They decide alike (allErrors changes what is
 * reported, not what is valid; a test holds them to it). A schema ajv refuses is reported as
 * an issue and validates nothing.
 */
export function compileValidators(
  schema: Obj | boolean,
  issues: SchemaIssue[],
  pointer: string,
): { first: ValidateFunction; full: ValidateFunction } {
  try {
    return { first: firstErrorAjv().compile(schema as Obj), full: ajv().compile(schema as Obj) };
  } catch (err) {
    issues.push({ pointer, keyword: 'schema', message: (err as Error).message.slice(0, 300) });
    return { first: firstErrorAjv().compile(true), full: ajv().compile(true) };
  }
}

export interface CompiledSchema {
  /** Violations of `value`, each pointer prefixed with `prefix`; [] when valid. */
  check(value: unknown, prefix: string): Violation[];
  /** Whether `value` is valid (no errors collected). */
  valid(value: unknown): boolean;
  readonly issues: readonly SchemaIssue[];
}

/**
 * Compiles an OpenAPI schema once; `check` is what runs per request.
 * @example
 * const c = compileSchema({ type: 'object', properties: { a: { type: 'integer' } } }, { dialect: '3.1', closeObjects: true });
 * c.check({ a: 1, b: 2 }, '/body'); // [{ pointer: '/body/b', keyword: 'unevaluatedProperties', … }]
 */
export function compileSchema(input: JsonSchema, opts: ConvertOptions): CompiledSchema {
  const { schema, issues } = toJsonSchema(input, opts);
  const { first, full } = compileValidators(schema, issues, opts.pointer ?? '');
  return {
    issues,
    valid: (value) => first(value),
    check(value, prefix) {
      if (first(value) || full(value)) return [];
      return toViolations(full.errors ?? [], prefix);
    },
  };
}

/** ajv errors → violations with a pointer to the offending value (missing/undeclared properties included). */
export function toViolations(errors: readonly ErrorObject[], prefix: string): Violation[] {
  const out: Violation[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let pointer = prefix + e.instancePath;
    let detail = e.message ?? 'is invalid';
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'required') {
      pointer += '/' + esc(String(p.missingProperty));
      detail = 'is required';
    } else if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
      const name = String(p.additionalProperty ?? p.unevaluatedProperty);
      pointer += '/' + esc(name);
      detail = 'is not a declared property';
    } else if (e.keyword === 'enum') {
      detail = `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    // ajv reports the failing branch of anyOf/oneOf and then the combinator; keep both, once each.
    const key = `${pointer}\0${e.keyword}\0${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, keyword: e.keyword, detail });
    if (out.length >= 50) break;
  }
  return out;
}
