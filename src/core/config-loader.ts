/**
 * Loads `rampart.yaml` (or any YAML/JSON file described by a TypeBox / JSON Schema):
 * parse with source positions, interpolate `${…}`, validate with ajv (defaults applied,
 * unknown keys rejected) and report every problem as `file:line:column  /json/pointer  message`.
 *
 * The machinery is independent of the exact schema: the gateway owns `configSchema`,
 * this module only knows JSON Schema. It imports nothing of the project (layering).
 *
 * Interpolation rules (docs/config.md):
 * - `${NAME}` — environment variable; unset is an error.
 * - `${NAME:-default}` — the default when the variable is unset or empty.
 * - `${file:path}` — the file's content (relative to the config file's directory),
 *   one trailing newline trimmed; Docker/Kubernetes secrets mount this way.
 * - `$${` — a literal `${`.
 * Only string values are interpolated (never keys). A value that is exactly one `${…}`
 * is typed by the schema at its position: where the schema does not accept a string,
 * `"8443"` becomes `8443`, `"true"` becomes `true`. Literal YAML values are never coerced.
 * Error messages name the variable or file, never an interpolated value.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import { Ajv2019, type ErrorObject, type ValidateFunction } from 'ajv/dist/2019.js';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { SourceErrors, formatSourceError, type SourceError } from './source-errors.ts';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2019,
) => Ajv2019;

/** One problem in a source file (the shared {@link SourceError}). */
export type ConfigError = SourceError;
/** Thrown by {@link loadConfigFile}: the shared {@link SourceErrors}. */
export { SourceErrors as ConfigErrors, formatSourceError as formatConfigError };

// ---------------------------------------------------------------------------------------------
// JSON pointers

/** RFC 6901 escaping of one segment. */
export function escapePointerSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Builds a JSON pointer from segments: `['paths', '/a']` → `/paths/~1a`. */
export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + escapePointerSegment(String(s))).join('');
}

/** Splits a JSON pointer into unescaped segments; `''` → `[]`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '' || pointer === '#') return [];
  const p = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// ---------------------------------------------------------------------------------------------
// YAML with positions

/** A parsed YAML/JSON file that can say where a JSON pointer is in its text. */
export interface YamlSource {
  file: string;
  /** The plain value (`undefined` for an empty document). */
  value: unknown;
  /** Parse errors (duplicate keys, bad indentation, …), already positioned. */
  errors: ConfigError[];
  /**
   * Position of the node at `segments`, or of its deepest existing ancestor.
   * `key: true` points at the key of the last segment instead of its value (unknown keys).
   */
  locate(segments: readonly string[], opts?: { key?: boolean }): { line: number; column: number } | undefined;
  /** A ConfigError at `segments` in this file. */
  error(segments: readonly string[], message: string, opts?: { key?: boolean }): ConfigError;
}

/**
 * Parses YAML (JSON is YAML) keeping positions. Never throws on bad input: problems are in `errors`.
 * @example
 * const src = parseYamlSource('listen:\n  port: x\n', 'rampart.yaml');
 * src.locate(['listen', 'port']); // { line: 2, column: 9 }
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const pos = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // Only the first syntax error: the following ones are nearly always its consequences.
  const errors: ConfigError[] = doc.errors.slice(0, 1).map((e) => {
    const at = pos(e.pos[0]);
    const lineText = text.split('\n')[at.line - 1] ?? '';
    // `${VAR}` is not a valid plain scalar inside { } or [ ]: the usual cause of a parse
    // error in an interpolated config.
    const hint = lineText.includes('${') ? ' (quote values containing "${…}" inside { } or [ ])' : '';
    return {
      file,
      ...at,
      path: '',
      // yaml appends a code frame of the source line after the first line; it could show a
      // literal secret, so keep only the first sentence.
      message:
        'invalid YAML: ' + (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '') + hint,
    };
  });
  let value: unknown;
  if (errors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push({
        file,
        line: 1,
        column: 1,
        path: '',
        message: 'invalid YAML: ' + (err instanceof Error ? err.message : String(err)),
      });
    }
  }
  const locate = (
    segments: readonly string[],
    opts: { key?: boolean } = {},
  ): { line: number; column: number } | undefined => {
    const found = findNode(doc, segments, opts.key === true);
    return found?.range ? pos(found.range[0]) : undefined;
  };
  return {
    file,
    value,
    errors,
    locate,
    error: (segments, message, opts) => ({
      file,
      ...locate(segments, opts),
      path: toPointer(segments),
      message,
    }),
  };
}

function findNode(doc: Document, segments: readonly string[], wantKey: boolean): YamlNode | undefined {
  let node: unknown = doc.contents;
  let last: YamlNode | undefined = (node as YamlNode | null) ?? undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    for (let guard = 0; isAlias(node) && guard < 20; guard++) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === seg);
      if (!pair) return last;
      if (wantKey && i === segments.length - 1 && isScalar(pair.key)) return pair.key;
      node = pair.value;
      // `key:` with no value: point at the key.
      if (node === null || node === undefined) return isScalar(pair.key) ? pair.key : last;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined || !/^\d+$/.test(seg)) return last;
      node = item;
    } else {
      return last;
    }
    if (node && typeof node === 'object' && 'range' in node) last = node as YamlNode;
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Interpolation

/** Where interpolation happened: JSON pointer → names of the variables/files used (for messages). */
export type InterpolationSources = Map<string, string[]>;

interface InterpolateContext {
  env: NodeJS.ProcessEnv;
  baseDir: string;
  source: YamlSource;
  errors: ConfigError[];
  /** Pointers whose value is exactly one `${…}` (candidates for schema-typed coercion). */
  whole: Set<string>;
  sources: InterpolationSources;
}

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Interpolates one string. Returns the new string, or undefined after pushing errors.
 * Never puts a resolved value in an error message.
 */
function interpolateString(s: string, segments: string[], ctx: InterpolateContext): string | undefined {
  if (!s.includes('${')) return s;
  let out = '';
  let ok = true;
  let i = 0;
  let count = 0;
  const names: string[] = [];
  const fail = (message: string): void => {
    ctx.errors.push(ctx.source.error(segments, message));
    ok = false;
  };
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!s.startsWith('${', i)) {
      out += s[i];
      i++;
      continue;
    }
    const end = s.indexOf('}', i + 2);
    if (end < 0) {
      fail(`unterminated "\${" (write "$\${" for a literal "\${")`);
      break;
    }
    const expr = s.slice(i + 2, end);
    i = end + 1;
    count++;
    if (expr.startsWith('file:')) {
      const rel = expr.slice(5).trim();
      names.push(`file:${rel}`);
      if (rel === '') {
        fail('empty file reference in "${file:}"');
        continue;
      }
      const abs = resolveRelative(ctx.baseDir, rel);
      try {
        out += readFileSync(abs, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        fail(`cannot read file '${rel}' for "\${file:${rel}}"${code ? ` (${code})` : ''}`);
      }
      continue;
    }
    const sep = expr.indexOf(':-');
    const name = sep >= 0 ? expr.slice(0, sep) : expr;
    names.push(name);
    if (!VAR_NAME.test(name)) {
      fail(`invalid variable name in "\${${name}}": use letters, digits and _`);
      continue;
    }
    const value = ctx.env[name];
    if (value !== undefined && (sep < 0 || value !== '')) out += value;
    else if (sep >= 0) out += expr.slice(sep + 2);
    else fail(`environment variable ${name} is not set (use "\${${name}:-default}" for a default)`);
  }
  if (!ok) return undefined;
  const pointer = toPointer(segments);
  if (names.length > 0) ctx.sources.set(pointer, names);
  if (count === 1 && /^\$\{[^}]*\}$/.test(s)) ctx.whole.add(pointer);
  return out;
}

function interpolateValue(value: unknown, segments: string[], ctx: InterpolateContext): unknown {
  if (typeof value === 'string') return interpolateString(value, segments, ctx) ?? value;
  if (Array.isArray(value)) return value.map((v, i) => interpolateValue(v, [...segments, String(i)], ctx));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateValue(v, [...segments, k], ctx);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Schema navigation (coercion of interpolated scalars, path fields)

/** Schema keyword marking a string field as a file path relative to the config file. */
export const RELATIVE_PATH_KEYWORD = 'x-rampart-path';

type SchemaObject = Record<string, unknown>;

function isObj(v: unknown): v is SchemaObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function collectIds(schema: unknown, ids: Map<string, SchemaObject>, seen = new Set<unknown>()): void {
  if (!isObj(schema) && !Array.isArray(schema)) return;
  if (seen.has(schema)) return;
  seen.add(schema);
  if (isObj(schema) && typeof schema.$id === 'string') ids.set(schema.$id, schema);
  for (const v of Object.values(schema)) collectIds(v, ids, seen);
}

function expand(
  schema: unknown,
  root: SchemaObject,
  ids: Map<string, SchemaObject>,
  out: SchemaObject[],
  depth = 0,
): void {
  if (!isObj(schema) || depth > 32) return;
  if (typeof schema.$ref === 'string') {
    const ref = schema.$ref;
    const target = ref.startsWith('#') ? getAt(root, parsePointer(ref)) : ids.get(ref);
    expand(target, root, ids, out, depth + 1);
  }
  out.push(schema);
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) for (const s of list) expand(s, root, ids, out, depth + 1);
  }
}

function getAt(value: unknown, segments: readonly string[]): unknown {
  let v = value;
  for (const s of segments) {
    if (Array.isArray(v)) v = v[Number(s)];
    else if (isObj(v)) v = v[s];
    else return undefined;
  }
  return v;
}

/** Every subschema that may apply at `segments` (through $ref, anyOf/oneOf/allOf). */
function subschemasAt(root: SchemaObject, segments: readonly string[]): SchemaObject[] {
  const ids = new Map<string, SchemaObject>();
  collectIds(root, ids);
  let current: SchemaObject[] = [];
  expand(root, root, ids, current);
  for (const seg of segments) {
    const next: unknown[] = [];
    for (const s of current) {
      const props = s.properties;
      if (isObj(props) && seg in props) next.push(props[seg]);
      else {
        let matched = false;
        if (isObj(s.patternProperties)) {
          for (const [re, sub] of Object.entries(s.patternProperties)) {
            if (new RegExp(re, 'u').test(seg)) {
              next.push(sub);
              matched = true;
            }
          }
        }
        if (!matched && isObj(s.additionalProperties)) next.push(s.additionalProperties);
      }
      if (/^\d+$/.test(seg)) {
        const i = Number(seg);
        if (Array.isArray(s.prefixItems) && i < s.prefixItems.length) next.push(s.prefixItems[i]);
        else if (Array.isArray(s.items)) next.push(i < s.items.length ? s.items[i] : s.additionalItems);
        else if (isObj(s.items)) next.push(s.items);
      }
    }
    current = [];
    for (const n of next) expand(n, root, ids, current);
    if (current.length === 0) break;
  }
  return current;
}

function schemaTypes(schemas: SchemaObject[]): Set<string> {
  const types = new Set<string>();
  for (const s of schemas) {
    if (typeof s.type === 'string') types.add(s.type);
    if (Array.isArray(s.type)) for (const t of s.type) types.add(String(t));
    if ('const' in s) types.add(s.const === null ? 'null' : typeof s.const);
    if (Array.isArray(s.enum)) for (const e of s.enum) types.add(e === null ? 'null' : typeof e);
  }
  if (types.has('number')) types.add('integer');
  return types;
}

/** Types an interpolated whole-value string by the schema at its position. */
function coerceInterpolated(value: string, schemas: SchemaObject[]): unknown {
  const types = schemaTypes(schemas);
  if (types.size === 0 || types.has('string')) return value;
  const t = value.trim();
  if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n)) return n;
  }
  if (types.has('boolean') && (t === 'true' || t === 'false')) return t === 'true';
  if (types.has('null') && (t === '' || t === 'null')) return null;
  return value;
}

function setAt(root: unknown, segments: readonly string[], value: unknown): unknown {
  if (segments.length === 0) return value;
  const parent = getAt(root, segments.slice(0, -1));
  const last = segments[segments.length - 1]!;
  if (Array.isArray(parent)) parent[Number(last)] = value;
  else if (isObj(parent)) parent[last] = value;
  return root;
}

// ---------------------------------------------------------------------------------------------
// Schema preparation and validation

const prepared = new WeakMap<object, { schema: SchemaObject; validate: ValidateFunction }>();

/**
 * A plain-JSON copy of a TypeBox schema in which every object schema that lists
 * `properties` and says nothing about extra keys becomes closed
 * (`additionalProperties: false`, keys starting with `x-` still allowed for YAML anchors).
 * Subschemas of `allOf` are left open (closing them would reject the other members' keys).
 */
export function closeSchema(schema: TSchema | SchemaObject): SchemaObject {
  const copy = JSON.parse(JSON.stringify(schema)) as SchemaObject;
  const visit = (s: unknown, inAllOf: boolean): void => {
    if (Array.isArray(s)) {
      for (const x of s) visit(x, inAllOf);
      return;
    }
    if (!isObj(s)) return;
    if (
      !inAllOf &&
      isObj(s.properties) &&
      !('additionalProperties' in s) &&
      !('unevaluatedProperties' in s) &&
      !('patternProperties' in s)
    ) {
      s.additionalProperties = false;
      s.patternProperties = { '^x-': {} };
    }
    for (const [k, v] of Object.entries(s)) {
      if (k === 'const' || k === 'enum' || k === 'default' || k === 'examples') continue;
      visit(v, k === 'allOf');
    }
  };
  visit(copy, false);
  return copy;
}

function prepare(schema: TSchema | SchemaObject): { schema: SchemaObject; validate: ValidateFunction } {
  const hit = prepared.get(schema);
  if (hit) return hit;
  const closed = closeSchema(schema);
  // strict: false — TypeBox and our own annotations (x-rampart-path) are not ajv keywords.
  // Draft 2019-09 validates draft-07 schemas too, and understands `unevaluatedProperties`
  // (TypeBox's Intersect) and `$defs` (TypeBox's Module).
  const ajv = new Ajv2019({
    allErrors: true,
    useDefaults: true,
    strict: false,
    verbose: true,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  const result = { schema: closed, validate: ajv.compile(closed) };
  prepared.set(schema, result);
  return result;
}

/** Validates `value` (mutated: defaults applied) and returns friendly errors. */
function validateValue(
  value: unknown,
  schema: TSchema | SchemaObject,
  source: YamlSource,
  sources: InterpolationSources,
): ConfigError[] {
  const { validate } = prepare(schema);
  if (validate(value)) return [];
  return friendlyErrors(validate.errors ?? [], source, sources);
}

/**
 * Validates a value found at `prefix` inside `source` against a schema (defaults applied, the
 * value mutated), with every error positioned in that file: what the OpenAPI loader uses
 * for `x-rampart` values.
 * @example
 * validateAt({ mfaa: 'required' }, schema, source, ['paths', '/a', 'get', 'x-rampart'])
 * // [{ file, line, column, path: '/paths/~1a/get/x-rampart/mfaa', message: "unknown key 'mfaa' — did you mean 'mfa'?" }]
 */
export function validateAt(
  value: unknown,
  schema: TSchema | SchemaObject,
  source: YamlSource,
  prefix: readonly string[],
): ConfigError[] {
  const shifted: YamlSource = {
    ...source,
    locate: (segments, opts) => source.locate([...prefix, ...segments], opts),
    error: (segments, message, opts) => source.error([...prefix, ...segments], message, opts),
  };
  return validateValue(value, schema, shifted, new Map());
}

function describeValue(data: unknown, pointer: string, sources: InterpolationSources): string {
  const from = sources.get(pointer);
  if (from) return `the value of ${from.map((n) => '${' + n + '}').join(', ')} (not shown)`;
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'an array';
  if (typeof data === 'object') return 'an object';
  if (typeof data === 'string') {
    const s = JSON.stringify(data);
    return s.length > 60 ? s.slice(0, 57) + '…"' : s;
  }
  return String(data);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A short human description of what a schema accepts, e.g. `integer between 1 and 65535`. */
export function describeSchema(schema: unknown): string {
  if (schema === true) return 'anything';
  if (schema === false) return 'nothing';
  if (!isObj(schema)) return 'a value';
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return 'one of ' + schema.enum.map((e) => JSON.stringify(e)).join(', ');
  for (const k of ['anyOf', 'oneOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) return list.map(describeSchema).join(' or ');
  }
  const type = Array.isArray(schema.type)
    ? schema.type.join(' or ')
    : typeof schema.type === 'string'
      ? schema.type
      : undefined;
  const parts: string[] = [];
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  if (typeof min === 'number' && typeof max === 'number') parts.push(`between ${min} and ${max}`);
  else if (typeof min === 'number')
    parts.push(`${'exclusiveMinimum' in schema ? 'greater than' : 'at least'} ${min}`);
  else if (typeof max === 'number')
    parts.push(`${'exclusiveMaximum' in schema ? 'less than' : 'at most'} ${max}`);
  if (typeof schema.minLength === 'number' && typeof schema.maxLength === 'number')
    parts.push(`of ${schema.minLength}–${schema.maxLength} characters`);
  else if (typeof schema.minLength === 'number')
    parts.push(`of at least ${plural(schema.minLength, 'character')}`);
  else if (typeof schema.maxLength === 'number')
    parts.push(`of at most ${plural(schema.maxLength, 'character')}`);
  if (typeof schema.minItems === 'number') parts.push(`with at least ${plural(schema.minItems, 'item')}`);
  if (typeof schema.maxItems === 'number') parts.push(`with at most ${plural(schema.maxItems, 'item')}`);
  if (typeof schema.format === 'string') parts.push(`in format "${schema.format}"`);
  if (typeof schema.pattern === 'string') parts.push(`matching pattern ${JSON.stringify(schema.pattern)}`);
  const head =
    type ?? (isObj(schema.properties) ? 'object' : schema.items !== undefined ? 'array' : 'a value');
  return [head, ...parts].join(' ');
}

/** Edit distance counting a swap of two adjacent letters as one edit (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within a small edit distance, if any. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3));
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestD && d <= limit) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function friendlyErrors(
  raw: ErrorObject[],
  source: YamlSource,
  sources: InterpolationSources,
): ConfigError[] {
  const errors = raw.filter((e) => e.keyword !== 'if');
  const dropped = new Set<ErrorObject>();
  // Unions: when every alternative fails on the value itself (wrong type/const), say
  // "expected A or B"; when one alternative fails deeper, report that one's errors only.
  const unions = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const replaced = new Map<ErrorObject, string>();
  for (const u of unions) {
    if (dropped.has(u)) continue;
    if (u.keyword === 'oneOf' && (u.params as { passingSchemas?: unknown }).passingSchemas) continue;
    const prefix = u.schemaPath + '/';
    const branches = new Map<number, ErrorObject[]>();
    for (const e of errors) {
      if (e === u || dropped.has(e) || !e.schemaPath.startsWith(prefix)) continue;
      if (!e.instancePath.startsWith(u.instancePath)) continue;
      const idx = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
      const list = branches.get(idx) ?? [];
      list.push(e);
      branches.set(idx, list);
    }
    const shallow = (list: ErrorObject[]): boolean =>
      list.every((e) => e.instancePath === u.instancePath && ['type', 'const', 'enum'].includes(e.keyword));
    const all = [...branches.values()];
    const deep = all.filter((l) => !shallow(l));
    if (deep.length === 0) {
      for (const l of all) for (const e of l) dropped.add(e);
      replaced.set(
        u,
        `expected ${describeSchema(u.parentSchema)}, got ${describeValue(u.data, u.instancePath, sources)}`,
      );
    } else {
      const best = deep.sort((a, b) => a.length - b.length)[0]!;
      for (const l of all) if (l !== best) for (const e of l) dropped.add(e);
      dropped.add(u);
    }
  }
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  const push = (segments: string[], message: string, key = false): void => {
    const e = source.error(segments, message, { key });
    const id = e.path + '\0' + e.message;
    if (seen.has(id)) return;
    seen.add(id);
    out.push(e);
  };
  for (const e of errors) {
    if (dropped.has(e)) continue;
    const segments = parsePointer(e.instancePath);
    const got = (): string => describeValue(e.data, e.instancePath, sources);
    const union = replaced.get(e);
    if (union) {
      push(segments, union);
      continue;
    }
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        push([...segments, missing], `missing required key '${missing}'`);
        break;
      }
      case 'additionalProperties':
      case 'unevaluatedProperties': {
        const p = e.params as { additionalProperty?: string; unevaluatedProperty?: string };
        const key = p.additionalProperty ?? p.unevaluatedProperty ?? '';
        const props =
          isObj(e.parentSchema) && isObj(e.parentSchema.properties)
            ? Object.keys(e.parentSchema.properties)
            : [];
        const hint = suggest(key, props);
        push(
          [...segments, key],
          `unknown key '${key}'` +
            (hint ? ` — did you mean '${hint}'?` : props.length ? ` (allowed: ${props.join(', ')})` : ''),
          true,
        );
        break;
      }
      case 'enum':
      case 'const':
      case 'type':
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'minLength':
      case 'maxLength':
      case 'pattern':
      case 'format':
      case 'multipleOf':
      case 'minItems':
      case 'maxItems':
        push(segments, `expected ${describeSchema(e.parentSchema)}, got ${got()}`);
        break;
      case 'uniqueItems': {
        const p = e.params as { i: number; j: number };
        push(segments, `expected unique items, but items ${p.j} and ${p.i} are equal`);
        break;
      }
      case 'oneOf':
        push(segments, `matches more than one alternative of ${describeSchema(e.parentSchema)}`);
        break;
      case 'false schema':
        push(segments, 'not allowed here');
        break;
      default:
        push(segments, e.message ?? `invalid (${e.keyword})`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Public API

export interface LoadConfigOptions {
  /** Environment for `${VAR}`; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Directory relative `${file:…}` references and path fields resolve against;
   * defaults to the config file's directory.
   */
  baseDir?: string;
}

export interface ConfigCheckResult<T> {
  /** The validated config (defaults applied, path fields resolved); undefined when there are errors. */
  config: T | undefined;
  errors: ConfigError[];
  /** Directory of the config file: what relative paths in it are relative to. */
  baseDir: string;
  /** The parsed file, to position errors found later (e.g. a `spec` that cannot be read). */
  source?: YamlSource;
  /**
   * The interpolated value even when it failed validation (defaults partly applied), so a
   * checker can go on to look at referenced files. Never trust it for running.
   */
  unvalidated?: unknown;
}

/**
 * Parses, interpolates and validates config text. Never throws for bad input.
 * @example
 * const { config, errors } = parseConfig('port: ${PORT}', 'x.yaml', Type.Object({ port: Type.Integer() }), { env: { PORT: '80' } });
 * // config → { port: 80 }
 */
export function parseConfig<T = unknown>(
  text: string,
  file: string,
  schema: TSchema | SchemaObject,
  opts: LoadConfigOptions = {},
): ConfigCheckResult<T> {
  const baseDir = opts.baseDir ?? dirname(resolvePath(file));
  const source = parseYamlSource(text, file);
  if (source.errors.length) return { config: undefined, errors: source.errors, baseDir, source };
  const ctx: InterpolateContext = {
    env: opts.env ?? process.env,
    baseDir,
    source,
    errors: [],
    whole: new Set(),
    sources: new Map(),
  };
  let value = interpolateValue(source.value ?? {}, [], ctx);
  const { schema: closed } = prepare(schema);
  for (const pointer of ctx.whole) {
    const segments = parsePointer(pointer);
    const v = getAt(value, segments);
    if (typeof v === 'string')
      value = setAt(value, segments, coerceInterpolated(v, subschemasAt(closed, segments)));
  }
  // Validate even after interpolation errors so one run reports everything, but say nothing
  // more about a value that could not be interpolated.
  const failed = ctx.errors.map((e) => e.path);
  const errors = [
    ...ctx.errors,
    ...validateValue(value, schema, source, ctx.sources).filter(
      (e) => !failed.some((f) => e.path === f || e.path.startsWith(f + '/')),
    ),
  ];
  if (errors.length) return { config: undefined, errors, baseDir, source, unvalidated: value };
  resolvePathFields(value, closed, baseDir);
  return { config: value as T, errors: [], baseDir, source };
}

/** Resolves every string whose schema carries `x-rampart-path: true` against `baseDir`. */
function resolvePathFields(value: unknown, closed: SchemaObject, baseDir: string): void {
  const walk = (v: unknown, segments: string[]): void => {
    if (typeof v === 'string') {
      if (segments.length && subschemasAt(closed, segments).some((s) => s[RELATIVE_PATH_KEYWORD] === true)) {
        setAt(value, segments, resolveRelative(baseDir, v));
      }
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...segments, String(i)]));
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) walk(x, [...segments, k]);
  };
  if (JSON.stringify(closed).includes(RELATIVE_PATH_KEYWORD)) walk(value, []);
}

/**
 * A property with a default need not be written: drop it from `required` in the published
 * schema so editors do not flag keys the loader fills in.
 */
function optionalDefaults(node: SchemaObject): SchemaObject {
  const props = node.properties as Record<string, SchemaObject> | undefined;
  if (props && Array.isArray(node.required)) {
    node.required = (node.required as string[]).filter((k) => props[k]?.default === undefined);
    if ((node.required as string[]).length === 0) delete node.required;
  }
  for (const v of Object.values(node)) {
    if (Array.isArray(v)) v.forEach((x) => isObj(x) && optionalDefaults(x as SchemaObject));
    else if (isObj(v)) optionalDefaults(v as SchemaObject);
  }
  return node;
}

/**
 * Reads and checks a config file; returns every error instead of throwing (for `rampart check`).
 */
export async function checkConfigFile<T = unknown>(
  path: string,
  schema: TSchema | SchemaObject,
  opts: LoadConfigOptions = {},
): Promise<ConfigCheckResult<T>> {
  const baseDir = opts.baseDir ?? dirname(resolvePath(path));
  const read = await readSourceFile(path, 'config file');
  if ('error' in read) return { config: undefined, errors: [read.error], baseDir };
  return parseConfig<T>(read.text, path, schema, { ...opts, baseDir });
}

/**
 * Reads a UTF-8 source file; when it cannot be read, the error to report instead
 * (`cannot read <what> (ENOENT)`, no position), never the exception.
 */
export async function readSourceFile(
  path: string,
  what: string,
): Promise<{ text: string } | { error: ConfigError }> {
  try {
    return { text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: { file: path, path: '', message: `cannot read ${what}${code ? ` (${code})` : ''}` } };
  }
}

/**
 * Loads a config file: parse (YAML or JSON) → interpolate → validate (defaults applied,
 * unknown keys rejected) → resolve `x-rampart-path` fields. Throws {@link ConfigErrors}
 * listing every problem (STYLE 6: a bad rampart.yaml fails at start).
 * @example
 * const config = await loadConfigFile<RampartConfig>('rampart.yaml', configSchema);
 */
export async function loadConfigFile<T = unknown>(
  path: string,
  schema: TSchema | SchemaObject,
  opts: LoadConfigOptions = {},
): Promise<T> {
  const result = await checkConfigFile<T>(path, schema, opts);
  if (result.errors.length || result.config === undefined) throw new SourceErrors(result.errors);
  return result.config;
}

/**
 * A path from the config, resolved against the config file's directory. Absolute paths
 * and URLs (`scheme://…`) are returned unchanged.
 * @example
 * resolveRelative('/etc/rampart', './tls/cert.pem') // '/etc/rampart/tls/cert.pem'
 */
export function resolveRelative(configDir: string, p: string): string {
  if (isAbsolute(p) || /^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return p;
  return resolvePath(configDir, p);
}

export interface JsonSchemaMeta {
  /** Defaults to `https://rampart.dev/schemas/rampart.schema.json`. */
  id?: string;
  title?: string;
  description?: string;
}

/**
 * The JSON Schema (draft-07, what TypeBox emits and editors understand) that the loader
 * enforces: objects closed exactly as at load time.
 */
export function toJsonSchema(schema: TSchema | SchemaObject, meta: JsonSchemaMeta = {}): SchemaObject {
  const closed = optionalDefaults(JSON.parse(JSON.stringify(closeSchema(schema))) as SchemaObject);
  const { $id, title, description, ...rest } = closed;
  delete rest.$schema;
  const text = JSON.stringify(rest);
  const needs2019 =
    /"(unevaluatedProperties|unevaluatedItems|\$defs|dependentRequired|dependentSchemas)"/.test(text);
  return {
    $schema: needs2019
      ? 'https://json-schema.org/draft/2019-09/schema'
      : 'http://json-schema.org/draft-07/schema#',
    $id: meta.id ?? (typeof $id === 'string' ? $id : 'https://rampart.dev/schemas/rampart.schema.json'),
    title: meta.title ?? title ?? 'Rampart configuration (rampart.yaml)',
    ...((meta.description ?? description) ? { description: meta.description ?? description } : {}),
    ...rest,
  };
}

/**
 * Writes {@link toJsonSchema} to `outPath` (pretty, trailing newline) for editors:
 * `# yaml-language-server: $schema=./rampart.schema.json`.
 */
export async function writeJsonSchema(
  schema: TSchema | SchemaObject,
  outPath: string,
  meta: JsonSchemaMeta = {},
): Promise<SchemaObject> {
  const json = toJsonSchema(schema, meta);
  await mkdir(dirname(resolvePath(outPath)), { recursive: true });
  await writeFile(outPath, JSON.stringify(json, null, 2) + '\n');
  return json;
}
