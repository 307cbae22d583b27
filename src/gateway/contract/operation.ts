/**
 * An operation's contract compiled once: what a valid request is (parameters, content
 * type, body) and what a valid answer is (declared status, content type, body schema),
 * with the minimiser and masker of every declared JSON response. The policies
 * (validate-request, validate-response, minimise-response) and egress run these closures
 * per request; nothing here is compiled per request.
 */
import type { JsonSchema, OpenApiDocument, OpenApiOperation } from '../../core/openapi.ts';
import type { ProblemCode } from '../../core/errors.ts';
import { findJsonHazard, provablySafeJson, type JsonShape } from './json-guard.ts';
import { compileMinimiser, type Minimiser } from './minimise.ts';
import { compileParameters, parseQuery, type CompiledParameters } from './params.ts';
import { compileMasker, type Masker, type PiiKind } from './pii.ts';
import {
  compileSchema,
  type CompiledSchema,
  type Dialect,
  type SchemaIssue,
  type Violation,
} from './schema.ts';

const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

export const dialectOf = (openapi: string): Dialect => (openapi.startsWith('3.0') ? '3.0' : '3.1');

/** `type/subtype` of a Content-Type value, lower-cased; '' when absent. */
export function mediaType(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return '';
  const semi = v.indexOf(';');
  return (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
}

/** The `charset` parameter of a Content-Type value, lower-cased, or undefined. */
export function charsetOf(header: string | string[] | undefined): string | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v ? /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(v) : null;
  return m ? m[1]!.toLowerCase() : undefined;
}

export const isJsonMedia = (m: string): boolean =>
  m === 'application/json' || /^application\/[\w.+-]+\+json$/.test(m);

/** The declared media-type key that covers `media` (exact, then `type/*`, then `*\/*`). */
export function matchMedia<T>(declared: ReadonlyMap<string, T>, media: string): T | undefined {
  const exact = declared.get(media);
  if (exact !== undefined) return exact;
  const slash = media.indexOf('/');
  return declared.get(media.slice(0, slash) + '/*') ?? declared.get('*/*');
}

export interface RequestInput {
  pathParams: Readonly<Record<string, string>>;
  /** Raw query string without `?`. */
  query: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The buffered body (undefined/empty when none). */
  body: Buffer | undefined;
  /** The body parsed as JSON once (the gateway's lazy parse). */
  json: () => unknown;
  /** The body's scan when request-limits made it already (scanned again otherwise). */
  shape?: JsonShape | undefined;
}

export interface RequestVerdict {
  code: Extract<ProblemCode, 'bad-request' | 'validation-failed' | 'unsupported-media-type' | 'unsafe-json'>;
  detail: string;
  errors: Violation[];
}

export interface RequestContractOptions {
  /** Close objects that omit `additionalProperties` (default true; `x-rampart.validate.undeclared: allow` opts out). */
  closeObjects?: boolean;
  /** Refuse query parameters the operation does not declare (default false). */
  rejectUnknownQuery?: boolean;
}

export interface RequestContract {
  check(input: RequestInput): RequestVerdict | undefined;
  readonly issues: readonly SchemaIssue[];
  /** True when the operation declares a request body (the policy then needs it buffered). */
  readonly takesBody: boolean;
}

interface BodyEntry {
  json: boolean;
  form: boolean;
  schema: CompiledSchema | undefined;
}

const hasBody = (input: RequestInput): boolean =>
  (input.body !== undefined && input.body.length > 0) ||
  (input.body === undefined &&
    (input.headers['transfer-encoding'] !== undefined ||
      (input.headers['content-length'] !== undefined && input.headers['content-length'] !== '0')));

/**
 * Compiles an operation's request contract.
 * @example
 * const contract = compileRequestContract(op, '3.1');
 * contract.check({ pathParams, query: 'limit=500', headers, body, json }); // { code: 'bad-request', errors: [...] }
 */
export function compileRequestContract(
  op: OpenApiOperation,
  dialect: Dialect,
  opts: RequestContractOptions = {},
): RequestContract {
  const base = op.pointer ?? '';
  const params: CompiledParameters = compileParameters(op.parameters, dialect, base);
  const issues: SchemaIssue[] = [...params.issues];
  const media = new Map<string, BodyEntry>();
  const rb = op.requestBody;
  if (rb) {
    for (const [type, { schema }] of Object.entries(rb.content)) {
      const m = type.toLowerCase();
      let compiled: CompiledSchema | undefined;
      if (schema !== undefined) {
        compiled = compileSchema(schema, {
          dialect,
          closeObjects: opts.closeObjects ?? true,
          pointer: `${base}/requestBody/content/${esc(type)}/schema`,
        });
        issues.push(...compiled.issues);
      }
      media.set(m, {
        json: isJsonMedia(m),
        form: m === 'application/x-www-form-urlencoded',
        schema: compiled,
      });
    }
  }
  const declaredTypes = [...media.keys()].join(', ');
  const queryNames = params.queryNames;

  return {
    issues,
    takesBody: rb !== undefined,
    check(input) {
      const query = parseQuery(input.query);
      const errors: Violation[] = [
        ...params.check({ path: input.pathParams, query, headers: input.headers }),
      ];
      if (opts.rejectUnknownQuery && !params.anyQuery)
        for (const name of query.keys())
          if (!queryNames.has(name) && !queryNames.has(name.replace(/\[.*$/, '')))
            errors.push({
              pointer: `/query/${esc(name)}`,
              keyword: 'additionalProperties',
              detail: 'is not a declared parameter',
            });
      let bodyErrors: Violation[] = [];
      let code: RequestVerdict['code'] | undefined;
      let detail = '';
      const present = hasBody(input);
      if (!rb) {
        if (present) {
          errors.push({
            pointer: '/body',
            keyword: 'requestBody',
            detail: 'this operation takes no request body',
          });
        }
      } else if (!present) {
        if (rb.required)
          errors.push({ pointer: '/body', keyword: 'required', detail: 'a request body is required' });
      } else {
        const type = mediaType(input.headers['content-type']);
        const entry = type ? matchMedia(media, type) : undefined;
        if (!entry) {
          return {
            code: 'unsupported-media-type',
            detail: type
              ? `Content-Type '${type}' is not accepted; send ${declaredTypes}`
              : `Send a Content-Type: ${declaredTypes}`,
            errors: [
              {
                pointer: '/header/content-type',
                keyword: 'contentType',
                detail: `must be one of ${declaredTypes}`,
              },
            ],
          };
        }
        if (entry.json || entry.form) {
          const charset = charsetOf(input.headers['content-type']);
          if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
            return {
              code: 'unsupported-media-type',
              detail: `charset '${charset}' is not accepted; JSON is UTF-8 (RFC 8259 §8.1)`,
              errors: [{ pointer: '/header/content-type', keyword: 'charset', detail: 'must be utf-8' }],
            };
        }
        let value: unknown;
        if (entry.json) {
          value = input.json();
          // The cheap proof first (no second decoding, no name sets); the exact scan, which
          // says where, only when it fails.
          const hazard = provablySafeJson(input.body!, value, {}, input.shape)
            ? undefined
            : findJsonHazard(input.body!.toString('utf8'));
          if (hazard)
            return {
              code: 'unsafe-json',
              detail: hazard.detail,
              errors: [{ pointer: '/body' + hazard.pointer, keyword: hazard.reason, detail: hazard.detail }],
            };
        } else if (entry.form) {
          value = Object.fromEntries(
            [...parseQuery(input.body!.toString('utf8'))].map(([k, v]) => [k, v.length === 1 ? v[0] : v]),
          );
        }
        if (entry.schema && value !== undefined) {
          bodyErrors = entry.schema.check(value, '/body');
          if (bodyErrors.length) {
            code = 'validation-failed';
            detail = 'The request body does not match the contract';
          }
        }
      }
      if (errors.length) {
        return {
          code: 'bad-request',
          detail: 'The request does not match the contract',
          errors: [...errors, ...bodyErrors],
        };
      }
      return code ? { code, detail, errors: bodyErrors } : undefined;
    },
  };
}

/** One declared answer: status key × media type. */
export interface ResponseEntry {
  /** The status key it came from (`200`, `4XX`, `default`). */
  status: string;
  media: string;
  json: boolean;
  schema: CompiledSchema | undefined;
  minimise: Minimiser | undefined;
  mask: Masker | undefined;
  /** The schema as written (for callers that walk it). */
  raw: JsonSchema | undefined;
}

export type ResponseMatch =
  | { ok: true; entry: ResponseEntry | undefined }
  | { ok: false; reason: 'status' | 'content-type' | 'body-not-declared'; detail: string };

/** A failed {@link ResponseMatch} as the one violation it is (status or Content-Type). */
export function mismatchViolation(m: Extract<ResponseMatch, { ok: false }>): {
  pointer: string;
  keyword: string;
  detail: string;
} {
  return {
    pointer: m.reason === 'status' ? '/status' : '/header/content-type',
    keyword: m.reason,
    detail: m.detail,
  };
}

export interface ResponseContractOptions {
  pii?: ReadonlySet<PiiKind>;
}

export interface ResponseContract {
  /**
   * Finds the declared answer for a status and Content-Type. `entry` is undefined when the
   * status is declared without content (then the body must be empty).
   */
  match(status: number, contentType: string | string[] | undefined, bodyLength: number): ResponseMatch;
  readonly issues: readonly SchemaIssue[];
  /** True when some declared answer has a JSON body schema. */
  readonly hasJsonSchemas: boolean;
}

/**
 * Compiles an operation's response contract (validators open to undeclared properties:
 * those are minimised, not rejected), with a minimiser and masker per JSON answer.
 */
export function compileResponseContract(
  op: OpenApiOperation,
  dialect: Dialect,
  opts: ResponseContractOptions = {},
): ResponseContract {
  const base = op.pointer ?? '';
  const issues: SchemaIssue[] = [];
  const byStatus = new Map<string, Map<string, ResponseEntry> | undefined>();
  let hasJsonSchemas = false;
  for (const [status, resp] of Object.entries(op.responses)) {
    const key = status.toUpperCase();
    if (!resp.content || Object.keys(resp.content).length === 0) {
      byStatus.set(key, undefined);
      continue;
    }
    const entries = new Map<string, ResponseEntry>();
    for (const [type, { schema }] of Object.entries(resp.content)) {
      const m = type.toLowerCase();
      const json = isJsonMedia(m);
      let compiled: CompiledSchema | undefined;
      if (schema !== undefined) {
        compiled = compileSchema(schema, {
          dialect,
          openObjects: true,
          pointer: `${base}/responses/${esc(status)}/content/${esc(type)}/schema`,
        });
        issues.push(...compiled.issues);
        if (json) hasJsonSchemas = true;
      }
      entries.set(m, {
        status: key,
        media: m,
        json,
        schema: compiled,
        minimise: json && schema !== undefined ? compileMinimiser(schema, dialect) : undefined,
        mask: json && schema !== undefined && opts.pii ? compileMasker(schema, opts.pii) : undefined,
        raw: schema,
      });
    }
    byStatus.set(key, entries);
  }
  const declared = [...byStatus.keys()].join(', ');
  return {
    issues,
    hasJsonSchemas,
    match(status, contentType, bodyLength) {
      const s = String(status);
      const key = byStatus.has(s)
        ? s
        : byStatus.has(`${s[0]}XX`)
          ? `${s[0]}XX`
          : byStatus.has('DEFAULT')
            ? 'DEFAULT'
            : undefined;
      if (key === undefined)
        return {
          ok: false,
          reason: 'status',
          detail: `status ${status} is not declared (declared: ${declared})`,
        };
      const entries = byStatus.get(key);
      if (!entries) {
        if (bodyLength > 0)
          return {
            ok: false,
            reason: 'body-not-declared',
            detail: `status ${status} is declared without a body`,
          };
        return { ok: true, entry: undefined };
      }
      const type = mediaType(contentType);
      const entry = type ? matchMedia(entries, type) : undefined;
      if (!entry) {
        if (bodyLength === 0) return { ok: true, entry: undefined };
        return {
          ok: false,
          reason: 'content-type',
          detail: `Content-Type '${type || 'none'}' is not declared for status ${status} (declared: ${[...entries.keys()].join(', ')})`,
        };
      }
      return { ok: true, entry };
    },
  };
}

export interface ContractIssue extends SchemaIssue {
  file: string;
}

/**
 * Every schema problem of a document's operations, for `rampart check`.
 * @example
 * for (const i of contractIssues(doc)) console.log(`${i.file} ${i.pointer} ${i.keyword}: ${i.message}`);
 */
export function contractIssues(doc: OpenApiDocument): ContractIssue[] {
  const dialect = dialectOf(doc.openapi);
  const out: ContractIssue[] = [];
  const seen = new Set<string>();
  for (const op of doc.operations) {
    const all = [
      ...compileRequestContract(op, dialect).issues,
      ...compileResponseContract(op, dialect).issues,
    ];
    for (const i of all) {
      const k = `${i.pointer}\0${i.keyword}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ ...i, file: doc.source });
    }
  }
  return out;
}

const requestCache = new WeakMap<OpenApiOperation, Map<string, RequestContract>>();
const responseCache = new WeakMap<OpenApiOperation, Map<string, ResponseContract>>();

/** {@link compileRequestContract}, compiled once per operation and options (policies and egress share it). */
export function requestContractFor(
  op: OpenApiOperation,
  openapi: string,
  opts: RequestContractOptions = {},
): RequestContract {
  const key = `${openapi}|${opts.closeObjects ?? true}|${opts.rejectUnknownQuery ?? false}`;
  let byKey = requestCache.get(op);
  if (!byKey) requestCache.set(op, (byKey = new Map()));
  let c = byKey.get(key);
  if (!c) byKey.set(key, (c = compileRequestContract(op, dialectOf(openapi), opts)));
  return c;
}

/** {@link compileResponseContract}, compiled once per operation and PII kinds. */
export function responseContractFor(
  op: OpenApiOperation,
  openapi: string,
  opts: ResponseContractOptions = {},
): ResponseContract {
  const key = `${openapi}|${[...(opts.pii ?? [])].sort().join(',')}`;
  let byKey = responseCache.get(op);
  if (!byKey) responseCache.set(op, (byKey = new Map()));
  let c = byKey.get(key);
  if (!c) byKey.set(key, (c = compileResponseContract(op, dialectOf(openapi), opts)));
  return c;
}
