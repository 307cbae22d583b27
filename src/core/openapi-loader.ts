/**
 * Loads an OpenAPI 3.0.x / 3.1.x document (YAML or JSON) into the shared model
 * (src/core/openapi.ts): `$ref`s resolved (local and relative files, cycles kept as
 * shared objects), structure checked with every error positioned
 * (`file:line:col  /json/pointer  message`), operations listed with merged parameters,
 * effective security and merged `x-rampart`.
 *
 * Remote (`http(s)://`) references are refused: loading a contract never touches the network.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import {
  parsePointer,
  parseYamlSource,
  readSourceFile,
  toPointer,
  validateAt,
  type ConfigError,
  type YamlSource,
} from './config-loader.ts';
import { SourceErrors } from './source-errors.ts';
import {
  HTTP_METHODS,
  type HttpMethod,
  type JsonSchema,
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiParameter,
  type XRampartSpec,
} from './openapi.ts';

/** Same shape as config errors: file, line, column, JSON pointer, message. */
export type OpenApiError = ConfigError;

/** Thrown by {@link loadOpenApi} / {@link parseOpenApi}: the shared {@link SourceErrors}. */
export { SourceErrors as OpenApiErrors };

export interface OpenApiLoadOptions {
  /**
   * The `x-rampart` keys the gateway's policies read, with their schemas. When given, every
   * `x-rampart` value (document, path item, operation) is validated: unknown keys are errors
   * with a did-you-mean, values are checked against their schema (defaults applied), then
   * each key's cross-reference check runs over the whole document.
   */
  xRampart?: ReadonlyMap<string, XRampartSpec>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const PARAMETER_LOCATIONS = ['path', 'query', 'header', 'cookie'] as const;
const PATH_ITEM_KEYS = new Set<string>([
  '$ref',
  'summary',
  'description',
  'servers',
  'parameters',
  ...HTTP_METHODS,
]);
const SECURITY_SCHEME_TYPES = ['apiKey', 'http', 'oauth2', 'openIdConnect'];

/**
 * Parameter names in a path template, in order.
 * @example
 * pathTemplateParams('/orders/{orderId}/items/{itemId}') // ['orderId', 'itemId']
 */
export function pathTemplateParams(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
}

/** Problems with a path template itself (unbalanced/empty/duplicate braces), or []. */
export function pathTemplateProblems(template: string): string[] {
  const problems: string[] = [];
  if (!template.startsWith('/')) problems.push(`path '${template}' must start with '/'`);
  let depth = 0;
  for (const ch of template) {
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    if (depth < 0 || depth > 1) break;
  }
  if (depth !== 0) {
    problems.push(`path template '${template}' has unbalanced braces`);
    return problems;
  }
  const names = pathTemplateParams(template);
  if (names.some((n) => n.trim() === ''))
    problems.push(`path template '${template}' has an empty parameter name '{}'`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) problems.push(`path template '${template}' repeats parameter '{${dup}}'`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// $ref resolution

interface Origin {
  file: string;
  segments: string[];
}

class Resolver {
  readonly errors: OpenApiError[] = [];
  /** Where each resolved object came from, for error positions. */
  readonly origins = new WeakMap<object, Origin>();
  private readonly files = new Map<string, YamlSource | undefined>();
  private readonly memo = new Map<string, unknown>();
  private readonly refChain = new Set<string>();
  private readonly errorKeys = new Set<string>();
  /** 3.1 `$ref` + siblings objects whose target keys are copied once everything is resolved. */
  private readonly pending = new Map<Obj, Obj>();

  constructor(
    readonly rootFile: string,
    readonly is31: boolean,
  ) {}

  addSource(file: string, source: YamlSource): void {
    this.files.set(file, source);
  }

  source(file: string): YamlSource | undefined {
    if (this.files.has(file)) return this.files.get(file);
    let src: YamlSource | undefined;
    try {
      src = parseYamlSource(readFileSync(file, 'utf8'), file);
      for (const e of src.errors) this.push(e);
    } catch {
      src = undefined;
    }
    this.files.set(file, src);
    return src;
  }

  push(e: OpenApiError): void {
    const k = `${e.file}\0${e.path}\0${e.message}`;
    if (this.errorKeys.has(k)) return;
    this.errorKeys.add(k);
    this.errors.push(e);
  }

  error(origin: Origin, message: string, opts?: { key?: boolean }): void {
    const src = this.files.get(origin.file);
    this.push(
      src
        ? src.error(origin.segments, message, opts)
        : { file: origin.file, path: toPointer(origin.segments), message },
    );
  }

  /** Error at `obj` (a resolved object) + key path. */
  errorAt(obj: unknown, keys: readonly (string | number)[], message: string, opts?: { key?: boolean }): void {
    const o = isObj(obj) || Array.isArray(obj) ? this.origins.get(obj) : undefined;
    const base = o ?? { file: this.rootFile, segments: [] };
    this.error({ file: base.file, segments: [...base.segments, ...keys.map(String)] }, message, opts);
  }

  /** The resolved value at `segments` in `file`. */
  resolve(file: string, segments: string[]): unknown {
    const key = file + '#' + toPointer(segments);
    if (this.memo.has(key)) return this.memo.get(key);
    const src = this.source(file);
    const raw = src ? getIn(src.value, segments) : undefined;
    if (!isObj(raw) && !Array.isArray(raw)) return raw;
    if (isObj(raw) && typeof raw.$ref === 'string' && !isLiteralContext(segments)) {
      if (this.refChain.has(key)) {
        this.error(
          { file, segments: [...segments, '$ref'] },
          `circular $ref '${raw.$ref}' never reaches a value`,
        );
        return undefined;
      }
      this.refChain.add(key);
      try {
        const target = this.follow(file, segments, raw.$ref);
        const siblings = Object.keys(raw).filter((k) => k !== '$ref');
        // OpenAPI 3.0: siblings of $ref are ignored. 3.1: they apply (description/summary
        // override; schema keywords combine), so the result is a copy with them added.
        if (this.is31 && siblings.length && isObj(target)) {
          // The target may still be filling (a cycle): copy its keys in finish().
          const merged: Obj = {};
          for (const k of siblings) merged[k] = this.resolve(file, [...segments, k]);
          this.origins.set(merged, { file, segments });
          this.memo.set(key, merged);
          this.pending.set(merged, target);
          return merged;
        }
        this.memo.set(key, target);
        return target;
      } finally {
        this.refChain.delete(key);
      }
    }
    if (isObj(raw) && '$ref' in raw && !isObj(raw.$ref) && !isLiteralContext(segments)) {
      this.error(
        { file, segments: [...segments, '$ref'] },
        `invalid $ref: expected a string, got ${typeName(raw.$ref)}`,
      );
    }
    const out: Obj | unknown[] = Array.isArray(raw) ? [] : {};
    this.memo.set(key, out);
    this.origins.set(out, { file, segments });
    if (Array.isArray(raw)) {
      for (let i = 0; i < raw.length; i++)
        (out as unknown[]).push(this.resolve(file, [...segments, String(i)]));
    } else {
      for (const k of Object.keys(raw)) (out as Obj)[k] = this.resolve(file, [...segments, k]);
    }
    return out;
  }

  /** Completes `$ref`-with-siblings objects (targets first when they are such objects too). */
  finish(): void {
    const done = new Set<Obj>();
    const complete = (merged: Obj): void => {
      const target = this.pending.get(merged);
      if (!target || done.has(merged)) return;
      done.add(merged);
      complete(target);
      const own = { ...merged };
      for (const k of Object.keys(merged)) delete merged[k];
      Object.assign(merged, target, own);
    };
    for (const merged of this.pending.keys()) complete(merged);
  }

  private follow(file: string, segments: string[], ref: string): unknown {
    const at: Origin = { file, segments: [...segments, '$ref'] };
    const hash = ref.indexOf('#');
    const filePart = hash >= 0 ? ref.slice(0, hash) : ref;
    const fragment = hash >= 0 ? ref.slice(hash + 1) : '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(filePart)) {
      this.error(at, `remote $ref '${ref}' is not supported; use a relative file path`);
      return undefined;
    }
    if (fragment !== '' && !fragment.startsWith('/')) {
      this.error(at, `$ref '${ref}' uses an anchor; only JSON pointers ('#/components/…') are supported`);
      return undefined;
    }
    let pointer: string[];
    try {
      pointer = parsePointer(decodeURIComponent(fragment));
    } catch {
      this.error(at, `invalid $ref '${ref}': bad percent-encoding`);
      return undefined;
    }
    let target = file;
    if (filePart !== '') {
      target = resolvePath(dirname(file), decodeURI(filePart));
      if (!this.source(target)) {
        this.error(at, `invalid $ref '${ref}': cannot read file '${filePart}'`);
        return undefined;
      }
    }
    const src = this.source(target);
    if (!src || getIn(src.value, pointer) === undefined) {
      this.error(
        at,
        `invalid $ref '${ref}': ${filePart ? `'${filePart}' has` : 'the document has'} nothing at '${toPointer(pointer) || '/'}'`,
      );
      return undefined;
    }
    return this.resolve(target, pointer);
  }
}

/** `example` values and Example Object `value`s are data, not OpenAPI: a `$ref` key there is literal. */
function isLiteralContext(segments: string[]): boolean {
  if (segments.includes('example')) return true;
  const i = segments.lastIndexOf('examples');
  return i >= 0 && segments[i + 2] === 'value';
}

function getIn(value: unknown, segments: readonly string[]): unknown {
  let v = value;
  for (const s of segments) {
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(s)) return undefined;
      v = v[Number(s)];
    } else if (isObj(v)) {
      if (!Object.prototype.hasOwnProperty.call(v, s)) return undefined;
      v = v[s];
    } else return undefined;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Checks and model building

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 37) + '…' : v)}`;
  return `${typeof v} ${String(v)}`;
}

function toSchema(v: unknown): JsonSchema | undefined {
  return isObj(v) || typeof v === 'boolean' ? (v as JsonSchema) : undefined;
}

function contentMap(
  r: Resolver,
  content: unknown,
  owner: unknown,
  key: string,
): Record<string, { schema?: JsonSchema }> {
  const out: Record<string, { schema?: JsonSchema }> = {};
  if (content === undefined) return out;
  if (!isObj(content)) {
    r.errorAt(owner, [key], `expected an object of media types, got ${typeName(content)}`);
    return out;
  }
  for (const [media, mt] of Object.entries(content)) {
    if (!isObj(mt)) {
      r.errorAt(content, [media], `expected a Media Type Object, got ${typeName(mt)}`);
      continue;
    }
    const schema = toSchema(mt.schema);
    out[media] = schema !== undefined ? { schema } : {};
  }
  return out;
}

interface ParsedParam {
  param: OpenApiParameter;
  /** The resolved parameter object, for error positions. */
  obj: Obj;
}

function readParameters(r: Resolver, list: unknown, owner: unknown): ParsedParam[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    r.errorAt(owner, ['parameters'], `expected an array of parameters, got ${typeName(list)}`);
    return [];
  }
  const out: ParsedParam[] = [];
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (!isObj(p)) {
      if (p !== undefined) r.errorAt(list, [i], `expected a Parameter Object, got ${typeName(p)}`);
      return;
    }
    let ok = true;
    if (typeof p.name !== 'string' || p.name === '') {
      r.errorAt(
        p,
        ['name'],
        p.name === undefined
          ? "missing required key 'name'"
          : `expected a non-empty string, got ${typeName(p.name)}`,
      );
      ok = false;
    }
    if (!PARAMETER_LOCATIONS.includes(p.in as (typeof PARAMETER_LOCATIONS)[number])) {
      r.errorAt(
        p,
        ['in'],
        p.in === undefined
          ? "missing required key 'in'"
          : `expected one of ${PARAMETER_LOCATIONS.join(', ')}, got ${typeName(p.in)}`,
      );
      ok = false;
    }
    if (!ok) return;
    const name = p.name as string;
    const loc = p.in as OpenApiParameter['in'];
    if (loc === 'path' && p.required !== true)
      r.errorAt(p, ['required'], `path parameter '${name}' must have 'required: true'`);
    const id = `${loc}:${loc === 'header' ? name.toLowerCase() : name}`;
    if (seen.has(id)) r.errorAt(list, [i], `duplicate parameter '${name}' in ${loc}`);
    seen.add(id);
    let schema = toSchema(p.schema);
    if (schema === undefined && isObj(p.content)) {
      const first = Object.values(p.content)[0];
      if (isObj(first)) schema = toSchema(first.schema);
    }
    const param: OpenApiParameter = { name, in: loc, required: loc === 'path' ? true : p.required === true };
    if (schema !== undefined) param.schema = schema;
    if (typeof p.style === 'string') param.style = p.style;
    if (typeof p.explode === 'boolean') param.explode = p.explode;
    if (p.deprecated === true) param.deprecated = true;
    out.push({ param, obj: p });
  });
  return out;
}

function readSecurity(
  r: Resolver,
  v: unknown,
  owner: unknown,
  schemes: Obj,
): Array<Record<string, string[]>> | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    r.errorAt(owner, ['security'], `expected an array of security requirements, got ${typeName(v)}`);
    return [];
  }
  const out: Array<Record<string, string[]>> = [];
  v.forEach((req, i) => {
    if (!isObj(req)) {
      r.errorAt(v, [i], `expected a Security Requirement Object, got ${typeName(req)}`);
      return;
    }
    const entry: Record<string, string[]> = {};
    for (const [name, scopes] of Object.entries(req)) {
      if (!(name in schemes)) {
        r.errorAt(req, [name], `unknown security scheme '${name}': not in components.securitySchemes`, {
          key: true,
        });
      }
      if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string')) {
        r.errorAt(req, [name], `expected an array of scope names, got ${typeName(scopes)}`);
        continue;
      }
      entry[name] = scopes as string[];
    }
    out.push(entry);
  });
  return out;
}

const xRampartSchemas = new WeakMap<
  ReadonlyMap<string, XRampartSpec>,
  { operation: object; schema: object }
>();

/**
 * The schema of a whole `x-rampart` object: the declared keys, nothing else — the
 * document/path/operation keys, or (`at: 'schema'`) the keys of Schema Objects.
 */
export function xRampartSchema(
  keys: ReadonlyMap<string, XRampartSpec>,
  at: 'operation' | 'schema' = 'operation',
): object {
  let both = xRampartSchemas.get(keys);
  if (!both) {
    const of = (where: 'operation' | 'schema') => {
      const properties: Record<string, object> = {};
      for (const [k, spec] of keys) if ((spec.at ?? 'operation') === where) properties[k] = spec.schema;
      return { type: 'object', properties, additionalProperties: false };
    };
    both = { operation: of('operation'), schema: of('schema') };
    xRampartSchemas.set(keys, both);
  }
  return both[at];
}

/** Keys of objects that map names to schemas (not schemas themselves). */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Literal data: never walked for `x-rampart` (`default` is a response key outside schemas). */
const EXAMPLES = new Set(['example', 'examples']);
const SCHEMA_LITERALS = new Set(['default', 'enum', 'const']);

/**
 * Validates the `x-rampart` of every Schema Object (components.schemas, and every `schema`
 * of a parameter, header or media type, with what they contain) against the schema-level
 * keys, with file:line and pointer like the operation-level ones. Iterative, each object
 * once (`$ref` cycles are shared objects).
 */
function checkSchemaRampart(r: Resolver, root: Obj, keys: ReadonlyMap<string, XRampartSpec>): void {
  const schema = xRampartSchema(keys, 'schema') as Record<string, unknown>;
  const seen = new Set<object>();
  const stack: Array<[unknown, boolean, string]> = [[root, false, '']];
  while (stack.length > 0) {
    const [v, inSchema, key] = stack.pop()!;
    if (!isObj(v) && !Array.isArray(v)) continue;
    if (seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, inSchema, key]);
      continue;
    }
    if (inSchema && !SCHEMA_MAPS.has(key) && v['x-rampart'] !== undefined) {
      const x = v['x-rampart'];
      if (!isObj(x)) r.errorAt(v, ['x-rampart'], `expected an object, got ${typeName(x)}`);
      else {
        const origin = r.origins.get(x) ?? { file: r.rootFile, segments: [] };
        const src = r.source(origin.file);
        if (src)
          for (const e of validateAt(x, schema, src, origin.segments)) r.push(levelHint(e, keys, 'schema'));
      }
    }
    for (const [k, child] of Object.entries(v)) {
      if (k === 'x-rampart' || EXAMPLES.has(k) || (inSchema && SCHEMA_LITERALS.has(k))) continue;
      stack.push([child, inSchema || k === 'schema' || (k === 'schemas' && key === 'components'), k]);
    }
  }
}

/**
 * An "unknown key" error for a key that exists at the other level (a schema-level key such as
 * `writableBy` written on an operation, or an operation key such as `rateLimit` on a Schema
 * Object) says where the key belongs instead of listing the allowed keys.
 */
function levelHint(
  e: ConfigError,
  keys: ReadonlyMap<string, XRampartSpec>,
  found: 'operation' | 'schema',
): ConfigError {
  const m = /^unknown key '([^']*)'/.exec(e.message);
  const spec = m ? keys.get(m[1]!) : undefined;
  if (!spec || (spec.at ?? 'operation') === found) return e;
  const where =
    found === 'operation'
      ? 'on a Schema Object (a property of a request or response body schema), not on a document, path or operation'
      : 'on the document, a path or an operation, not on a Schema Object';
  return { ...e, message: `'${m![1]}' belongs ${where}` };
}

/** `x-rampart` objects that passed their schema, for the cross-reference checks. */
type RampartSeen = Obj[];

function readRampart(r: Resolver, owner: Obj, opts: OpenApiLoadOptions, seen: RampartSeen): Obj {
  const x = owner['x-rampart'];
  if (x === undefined) return {};
  if (!isObj(x)) {
    r.errorAt(owner, ['x-rampart'], `expected an object, got ${typeName(x)}`);
    return {};
  }
  if (opts.xRampart) {
    const origin = r.origins.get(x) ?? { file: r.rootFile, segments: [] };
    const src = r.source(origin.file);
    const errors = src
      ? validateAt(x, xRampartSchema(opts.xRampart) as Record<string, unknown>, src, origin.segments)
      : [];
    for (const e of errors) r.push(levelHint(e, opts.xRampart, 'operation'));
    if (errors.length === 0) seen.push(x);
  }
  return x;
}

/** Runs each declared key's cross-reference check over the finished document. */
function checkRampartReferences(
  r: Resolver,
  keys: ReadonlyMap<string, XRampartSpec>,
  seen: RampartSeen,
  document: OpenApiDocument,
): void {
  for (const x of new Set(seen)) {
    for (const [k, v] of Object.entries(x)) {
      const check = keys.get(k)?.check;
      if (!check) continue;
      for (const p of check(v, document)) r.errorAt(x, [k, ...(p.path ?? [])], p.message);
    }
  }
}

/** Normalises a template for "same path" detection: `/a/{x}` ≡ `/a/{y}`. */
const templateShape = (t: string): string => t.replace(/\{[^{}]*\}/g, '{}');

function buildDocument(
  r: Resolver,
  doc: Obj,
  source: string,
  openapi: string,
  opts: OpenApiLoadOptions,
): OpenApiDocument {
  const seen: RampartSeen = [];
  const is30 = openapi.startsWith('3.0');
  // info
  const info = doc.info;
  let title = '';
  let version = '';
  if (!isObj(info)) {
    r.errorAt(
      doc,
      ['info'],
      info === undefined ? "missing required key 'info'" : `expected an object, got ${typeName(info)}`,
    );
  } else {
    /** A required string of `info`; '' after reporting when it is missing or not a string. */
    const infoString = (key: 'title' | 'version', hint: string): string => {
      const v = info[key];
      if (typeof v === 'string') return v;
      r.errorAt(
        info,
        [key],
        v === undefined ? `missing required key '${key}'` : `expected a string, got ${typeName(v)}${hint}`,
      );
      return '';
    };
    title = infoString('title', '');
    version = infoString('version', ' (quote it)');
  }
  // components
  const components = doc.components;
  let schemes: Obj = {};
  if (components !== undefined && !isObj(components))
    r.errorAt(doc, ['components'], `expected an object, got ${typeName(components)}`);
  if (isObj(components) && components.securitySchemes !== undefined) {
    if (!isObj(components.securitySchemes)) {
      r.errorAt(
        components,
        ['securitySchemes'],
        `expected an object, got ${typeName(components.securitySchemes)}`,
      );
    } else {
      schemes = components.securitySchemes;
      const types = is30 ? SECURITY_SCHEME_TYPES : [...SECURITY_SCHEME_TYPES, 'mutualTLS'];
      for (const [name, s] of Object.entries(schemes)) {
        if (!isObj(s)) r.errorAt(schemes, [name], `expected a Security Scheme Object, got ${typeName(s)}`);
        else if (!types.includes(s.type as string))
          r.errorAt(
            s,
            ['type'],
            s.type === undefined
              ? "missing required key 'type'"
              : `expected one of ${types.join(', ')}, got ${typeName(s.type)}`,
          );
      }
    }
  }
  const securitySchemes: Record<string, Record<string, unknown>> = {};
  for (const [k, v] of Object.entries(schemes)) if (isObj(v)) securitySchemes[k] = v;

  const docSecurity = readSecurity(r, doc.security, doc, schemes) ?? [];
  const docRampart = readRampart(r, doc, opts, seen);

  // paths
  const operations: OpenApiOperation[] = [];
  const paths = doc.paths;
  if (paths === undefined) {
    // 3.1 lets a document hold only components or webhooks.
    if (is30) r.errorAt(doc, ['paths'], "missing required key 'paths'");
  } else if (!isObj(paths)) {
    r.errorAt(doc, ['paths'], `expected an object, got ${typeName(paths)}`);
  } else {
    const operationIds = new Map<string, string>();
    const shapes = new Map<string, string>();
    for (const [template, item] of Object.entries(paths)) {
      if (template.startsWith('x-')) continue;
      const problems = pathTemplateProblems(template);
      for (const p of problems) r.errorAt(paths, [template], p, { key: true });
      const shape = templateShape(template);
      const twin = shapes.get(shape);
      if (twin !== undefined && problems.length === 0)
        r.errorAt(
          paths,
          [template],
          `path '${template}' is the same template as '${twin}' (only parameter names differ)`,
          { key: true },
        );
      else shapes.set(shape, template);
      if (!isObj(item)) {
        r.errorAt(paths, [template], `expected a Path Item Object, got ${typeName(item)}`);
        continue;
      }
      for (const key of Object.keys(item)) {
        if (!PATH_ITEM_KEYS.has(key) && !key.startsWith('x-')) {
          r.errorAt(
            item,
            [key],
            `unknown HTTP method '${key}' (expected one of ${HTTP_METHODS.join(', ')})`,
            { key: true },
          );
        }
      }
      const pathParams = readParameters(r, item.parameters, item);
      const pathRampart = readRampart(r, item, opts, seen);
      const templateNames = problems.length ? [] : pathTemplateParams(template);
      const methods = Object.keys(item).filter((k): k is HttpMethod =>
        (HTTP_METHODS as readonly string[]).includes(k),
      );
      for (const method of methods) {
        const op = item[method];
        if (!isObj(op)) {
          r.errorAt(item, [method], `expected an Operation Object, got ${typeName(op)}`);
          continue;
        }
        const opParams = readParameters(r, op.parameters, op);
        // Operation-level parameters override path-level ones with the same name and location.
        const merged = new Map<string, ParsedParam>();
        const id = (p: OpenApiParameter): string =>
          `${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`;
        for (const p of pathParams) merged.set(id(p.param), p);
        for (const p of opParams) merged.set(id(p.param), p);
        const params = [...merged.values()];
        if (problems.length === 0) {
          for (const name of templateNames) {
            if (!params.some((p) => p.param.in === 'path' && p.param.name === name)) {
              r.errorAt(
                op,
                op.parameters !== undefined ? ['parameters'] : [],
                `path parameter '${name}' of '${template}' is not declared in parameters (${method.toUpperCase()})`,
              );
            }
          }
          for (const p of params) {
            if (p.param.in === 'path' && !templateNames.includes(p.param.name)) {
              r.errorAt(
                p.obj,
                ['name'],
                `path parameter '${p.param.name}' is not in the path template '${template}'`,
              );
            }
          }
        }
        let operationId: string | undefined;
        if (op.operationId !== undefined) {
          if (typeof op.operationId !== 'string')
            r.errorAt(op, ['operationId'], `expected a string, got ${typeName(op.operationId)}`);
          else {
            operationId = op.operationId;
            const first = operationIds.get(operationId);
            if (first)
              r.errorAt(
                op,
                ['operationId'],
                `duplicate operationId '${operationId}' (first used by ${first})`,
              );
            else operationIds.set(operationId, `${method.toUpperCase()} ${template}`);
          }
        }
        let tags: string[] = [];
        if (op.tags !== undefined) {
          if (Array.isArray(op.tags) && op.tags.every((t) => typeof t === 'string'))
            tags = op.tags as string[];
          else r.errorAt(op, ['tags'], `expected an array of strings, got ${typeName(op.tags)}`);
        }
        let requestBody: OpenApiOperation['requestBody'];
        if (op.requestBody !== undefined) {
          const rb = op.requestBody;
          if (!isObj(rb))
            r.errorAt(op, ['requestBody'], `expected a Request Body Object, got ${typeName(rb)}`);
          else {
            if (rb.content === undefined) r.errorAt(rb, ['content'], "missing required key 'content'");
            requestBody = {
              required: rb.required === true,
              content: contentMap(r, rb.content, rb, 'content'),
            };
          }
        }
        const responses: OpenApiOperation['responses'] = {};
        if (op.responses === undefined) {
          if (is30) r.errorAt(op, ['responses'], "missing required key 'responses'");
        } else if (!isObj(op.responses)) {
          r.errorAt(op, ['responses'], `expected an object of responses, got ${typeName(op.responses)}`);
        } else {
          for (const [code, resp] of Object.entries(op.responses)) {
            if (code.startsWith('x-')) continue;
            if (!/^(default|[1-5](\d\d|XX))$/.test(code)) {
              r.errorAt(
                op.responses,
                [code],
                `invalid response code '${code}' (expected 100–599, 1XX–5XX or default)`,
                { key: true },
              );
            }
            if (!isObj(resp)) {
              if (resp !== undefined)
                r.errorAt(op.responses, [code], `expected a Response Object, got ${typeName(resp)}`);
              continue;
            }
            responses[code] =
              resp.content !== undefined ? { content: contentMap(r, resp.content, resp, 'content') } : {};
            if (typeof resp.description === 'string') responses[code].description = resp.description;
          }
        }
        const security = readSecurity(r, op.security, op, schemes) ?? docSecurity;
        const opRampart = readRampart(r, op, opts, seen);
        const origin = r.origins.get(op);
        const operation: OpenApiOperation = {
          method,
          path: template,
          tags,
          parameters: params.map((p) => p.param),
          responses,
          security,
          deprecated: op.deprecated === true,
          rampart: { ...docRampart, ...pathRampart, ...opRampart },
          raw: op,
          pointer:
            origin && origin.file === r.rootFile
              ? toPointer(origin.segments)
              : toPointer(['paths', template, method]),
        };
        if (operationId !== undefined) operation.operationId = operationId;
        if (typeof op.summary === 'string') operation.summary = op.summary;
        if (requestBody) operation.requestBody = requestBody;
        operations.push(operation);
      }
    }
  }
  const document: OpenApiDocument = {
    source,
    openapi,
    title,
    version,
    raw: doc,
    operations,
    securitySchemes,
  };
  if (opts.xRampart) {
    checkRampartReferences(r, opts.xRampart, seen, document);
    checkSchemaRampart(r, doc, opts.xRampart);
  }
  return document;
}

export interface OpenApiCheckResult {
  /** The document, when there were no errors. */
  document: OpenApiDocument | undefined;
  errors: OpenApiError[];
  /** The parsed root file, for positions of things found later (audit findings). */
  source?: YamlSource;
}

/**
 * Parses and checks OpenAPI text; never throws for bad input. `source` is the file the
 * text came from: relative `$ref` files are read from its directory.
 */
export function checkOpenApi(
  text: string,
  source: string,
  opts: OpenApiLoadOptions = {},
): OpenApiCheckResult {
  const file = resolvePath(source);
  const src = parseYamlSource(text, source);
  if (src.errors.length) return { document: undefined, errors: src.errors };
  const root = src.value;
  if (!isObj(root)) {
    return {
      document: undefined,
      errors: [src.error([], `expected an OpenAPI document (an object), got ${typeName(root)}`)],
    };
  }
  if (root.swagger !== undefined) {
    return {
      document: undefined,
      errors: [
        src.error(
          ['swagger'],
          `Swagger ${String(root.swagger)} is not supported; convert it to OpenAPI 3 first (e.g. \`npx swagger2openapi ${source} -o openapi.yaml\` or https://converter.swagger.io)`,
        ),
      ],
    };
  }
  if (typeof root.openapi !== 'string' || !/^3\.[01]\.\d+(-.+)?$/.test(root.openapi)) {
    const message =
      root.openapi === undefined
        ? 'missing required key \'openapi\' (expected "3.0.x" or "3.1.x")'
        : `unsupported OpenAPI version ${typeName(root.openapi)}: expected "3.0.x" or "3.1.x"`;
    return { document: undefined, errors: [src.error(['openapi'], message)] };
  }
  const openapi = root.openapi;
  const r = new Resolver(file, openapi.startsWith('3.1'));
  // Positions are looked up under the name the caller gave (what the user typed).
  r.addSource(file, {
    ...src,
    file,
    error: (segs, msg, o) => ({ ...src.error(segs, msg, o), file: source }),
  });
  const doc = r.resolve(file, []) as Obj;
  r.finish();
  const document = buildDocument(r, doc, source, openapi, opts);
  // Reading order: the document itself first, then referenced files; by position within each.
  const errors = [...r.errors].sort(
    (a, b) =>
      Number(a.file !== source) - Number(b.file !== source) ||
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
  return errors.length ? { document: undefined, errors } : { document, errors: [], source: src };
}

/**
 * Parses OpenAPI text; throws {@link OpenApiErrors} listing every problem.
 * @example
 * const doc = parseOpenApi(text, 'specs/bookstore-v2.yaml');
 * doc.operations.map((o) => `${o.method} ${o.path}`);
 */
export function parseOpenApi(text: string, source: string, opts: OpenApiLoadOptions = {}): OpenApiDocument {
  const { document, errors } = checkOpenApi(text, source, opts);
  if (!document) throw new SourceErrors(errors, 'OpenAPI document');
  return document;
}

/** Reads and checks an OpenAPI file; never throws for bad input (for `rampart check`). */
export async function checkOpenApiFile(
  path: string,
  opts: OpenApiLoadOptions = {},
): Promise<OpenApiCheckResult> {
  const read = await readSourceFile(path, 'OpenAPI document');
  if ('error' in read) return { document: undefined, errors: [read.error] };
  return checkOpenApi(read.text, path, opts);
}

/**
 * Loads an OpenAPI 3.0/3.1 document (YAML or JSON) with `$ref`s resolved; throws
 * {@link OpenApiErrors} listing every problem.
 * @example
 * const doc = await loadOpenApi('specs/bookstore-v2.yaml');
 */
export async function loadOpenApi(path: string, opts: OpenApiLoadOptions = {}): Promise<OpenApiDocument> {
  const { document, errors } = await checkOpenApiFile(path, opts);
  if (!document) throw new SourceErrors(errors, 'OpenAPI document');
  return document;
}
