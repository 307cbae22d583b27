/**
 * The shared OpenAPI model: documents loaded, `$ref`s resolved, operations listed
 * with their merged `x-rampart` extensions. Gateway, scanner and audit all read this.
 */
export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch' | 'trace';
export const HTTP_METHODS: readonly HttpMethod[] = [
  'get',
  'put',
  'post',
  'delete',
  'options',
  'head',
  'patch',
  'trace',
];

export type JsonSchema = Record<string, unknown> | boolean;

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema?: JsonSchema;
  /** Serialisation style (`form`, `simple`, `deepObject`, …) when the document sets one. */
  style?: string;
  explode?: boolean;
  deprecated?: boolean;
}

export interface OpenApiOperation {
  method: HttpMethod;
  /** Path template as written, e.g. `/orders/{orderId}`. */
  path: string;
  operationId?: string;
  summary?: string;
  tags: string[];
  parameters: OpenApiParameter[];
  requestBody?: { required: boolean; content: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
  /** Effective security requirements (operation's, else the document's). Empty array = explicitly public. */
  security: Array<Record<string, string[]>>;
  deprecated: boolean;
  /** `x-rampart` merged document → path → operation (later wins per key). */
  rampart: Record<string, unknown>;
  /** The resolved Operation Object as written (other extensions, descriptions, callbacks…). */
  raw?: Record<string, unknown>;
  /** JSON pointer of the operation in its document, e.g. `/paths/~1orders~1{orderId}/get` (for findings). */
  pointer?: string;
}

export interface OpenApiDocument {
  /** Where it was loaded from. */
  source: string;
  openapi: string;
  title: string;
  version: string;
  /** The whole document with `$ref`s resolved (cycles left as shared objects). */
  raw: Record<string, unknown>;
  operations: OpenApiOperation[];
  securitySchemes: Record<string, Record<string, unknown>>;
}

/** A problem an `x-rampart` cross-reference check found; `path` is relative to the key's value. */
export interface XRampartProblem {
  path?: readonly string[];
  message: string;
}

/**
 * How the OpenAPI loader validates one `x-rampart` key. The gateway's policies declare
 * them; the composer (cli) passes the key → spec map to the loader, so core imports no feature.
 */
export interface XRampartSpec {
  /** JSON Schema of the value (a TypeBox schema is one). */
  schema: object;
  /** Cross-reference check over the whole document, after it loaded and the value passed `schema`. */
  check?(value: unknown, document: OpenApiDocument): XRampartProblem[];
  /**
   * Where the key is written: `'schema'` for keys of Schema Objects (a property's
   * `x-rampart.visibleTo`); otherwise the document, a path item or an operation.
   */
  at?: 'schema';
}
