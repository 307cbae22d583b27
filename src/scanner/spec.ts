import { withDeadline } from '../core/deadline.ts';
import { loadOpenApi, parseOpenApi } from '../core/openapi-loader.ts';
import type { JsonSchema, OpenApiDocument, OpenApiOperation } from '../core/openapi.ts';

/** The scan cannot start (bad spec, unreachable target, failed login): exit code 3. */
export class ScanSetupError extends Error {
  override name = 'ScanSetupError';
}

/** An operation as the scanner sees it: full path (server base + template) and helpers. */
export interface ScanOperation {
  /** `GET /v2/records/{recordId}` — the finding's `operation`. */
  key: string;
  method: string;
  /** Full path template including the server base path. */
  path: string;
  base: string;
  op: OpenApiOperation;
  doc: OpenApiDocument;
  /** Requires credentials: security declared, and not optional (no empty `{}` alternative). */
  secured: boolean;
}

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The base path of a document's first server (`/v2`, or the path of an absolute URL), without a trailing slash. */
export function serverBase(doc: OpenApiDocument): string {
  const servers = doc.raw.servers;
  const first = Array.isArray(servers) && isObj(servers[0]) ? servers[0].url : undefined;
  if (typeof first !== 'string' || first === '') return '';
  let p = first;
  if (/^[a-z]+:\/\//i.test(first)) {
    try {
      p = new URL(first.replace(/\{[^}]*\}/g, 'x')).pathname;
    } catch {
      p = '';
    }
  }
  return p.replace(/\/+$/, '');
}

const fetchReason = (err: unknown, timeoutMs: number): string => {
  const e = err as Error;
  if (e.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}: ${cause.message ?? e.message}`;
  return cause?.message ? `${e.message} (${cause.message})` : e.message;
};

/** Loads every document (file paths or http(s) URLs, each fetch bounded by `timeoutMs`); errors are ScanSetupErrors with the reason. */
export async function loadSpecs(
  sources: string[],
  signal?: AbortSignal,
  timeoutMs = 10_000,
): Promise<OpenApiDocument[]> {
  const docs: OpenApiDocument[] = [];
  for (const src of sources) {
    try {
      if (/^https?:\/\//i.test(src)) {
        // The whole fetch, body included, within the timeout (core/deadline.ts: an explicit timer).
        const text = await withDeadline(
          timeoutMs,
          async (sig) => {
            let res: Response;
            try {
              res = await fetch(src, { signal: sig });
            } catch (err) {
              throw new ScanSetupError(`cannot fetch the spec ${src}: ${fetchReason(err, timeoutMs)}`);
            }
            if (!res.ok) {
              await res.body?.cancel();
              throw new ScanSetupError(`cannot fetch the spec ${src}: HTTP ${res.status}`);
            }
            try {
              return await res.text();
            } catch (err) {
              throw new ScanSetupError(`cannot fetch the spec ${src}: ${fetchReason(err, timeoutMs)}`);
            }
          },
          signal,
        );
        docs.push(parseOpenApi(text, src));
      } else docs.push(await loadOpenApi(src));
    } catch (err) {
      if (err instanceof ScanSetupError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new ScanSetupError(`cannot read the spec ${src}: no such file`);
      throw new ScanSetupError(`invalid OpenAPI document ${src}: ${(err as Error).message}`);
    }
  }
  return docs;
}

/** Every operation of every document, in document order, with full paths. */
export function scanOperations(docs: OpenApiDocument[]): ScanOperation[] {
  const out: ScanOperation[] = [];
  for (const doc of docs) {
    const base = serverBase(doc);
    for (const op of doc.operations) {
      const method = op.method.toUpperCase();
      const path = base + op.path;
      out.push({
        key: `${method} ${path}`,
        method,
        path,
        base,
        op,
        doc,
        secured: op.security.length > 0 && !op.security.some((r) => Object.keys(r).length === 0),
      });
    }
  }
  return out;
}

/** The JSON schema of the first JSON request body, if any. */
export function requestSchema(op: OpenApiOperation): JsonSchema | undefined {
  const content = op.requestBody?.content ?? {};
  const key = Object.keys(content).find((k) => /json/i.test(k));
  return key ? content[key]!.schema : undefined;
}

/** The documented success response: status (2xx) and JSON schema. */
export function successResponses(
  op: OpenApiOperation,
): Array<{ status: string; schema?: JsonSchema; types: string[] }> {
  return Object.entries(op.responses)
    .filter(([s]) => /^2(\d\d|XX)$/i.test(s))
    .map(([status, r]) => {
      const types = Object.keys(r.content ?? {});
      const jsonType = types.find((t) => /json/i.test(t));
      return {
        status,
        types,
        ...(jsonType && r.content![jsonType]!.schema !== undefined
          ? { schema: r.content![jsonType]!.schema }
          : {}),
      };
    });
}

/** The response schema documented for a status (exact, then 2XX-style, then default). */
export function responseFor(
  op: OpenApiOperation,
  status: number,
): { schema?: JsonSchema; types: string[] } | undefined {
  const r = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
  if (!r) return undefined;
  const types = Object.keys(r.content ?? {});
  const jsonType = types.find((t) => /json/i.test(t));
  return {
    types,
    ...(jsonType && r.content![jsonType]!.schema !== undefined
      ? { schema: r.content![jsonType]!.schema }
      : {}),
  };
}

/** Object properties of a schema (allOf merged), or {}. */
export function propertiesOf(schema: JsonSchema | undefined): Record<string, Obj> {
  if (!isObj(schema)) return {};
  const props: Record<string, Obj> = {};
  for (const part of Array.isArray(schema.allOf) ? (schema.allOf as unknown[]) : [])
    Object.assign(props, propertiesOf(part as JsonSchema));
  if (isObj(schema.properties))
    for (const [k, v] of Object.entries(schema.properties)) if (isObj(v)) props[k] = v;
  return props;
}

/** The types a schema allows (`type` string or array). */
export function typesOf(schema: unknown): string[] {
  if (!isObj(schema)) return [];
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((t): t is string => typeof t === 'string');
  if (isObj(schema.properties)) return ['object'];
  return [];
}
