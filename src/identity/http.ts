/**
 * HTTP plumbing of the identity service: strict JSON bodies (size-limited, UTF-8
 * checked, schema-validated with unknown fields rejected), RFC 9457 problem answers
 * and the security headers every answer carries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import { PROBLEM_CONTENT_TYPE, ProblemError, problem, type Problem } from '../core/errors.ts';
import { jsonSyntaxDetail } from '../core/json-error.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** OWASP REST Security / Secure Headers for JSON answers. */
export const API_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and parses a JSON body; an absent body reads as `{}`. `preRead` is the body
 * when the caller (the gateway) already buffered it from the stream.
 */
export async function readJson(
  req: IncomingMessage,
  preRead?: Buffer,
  maxBytes = MAX_BODY_BYTES,
  opts: { form?: boolean } = {},
): Promise<unknown> {
  const tooLarge = () => new ProblemError('payload-too-large', `Body exceeds ${maxBytes} bytes`);
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  if (preRead !== undefined) {
    size = preRead.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(preRead);
  } else {
    if (req.readableEnded && declared > 0) {
      // A programming error of the caller, not the client's: surfaces as a logged 500.
      throw new Error('The request body was already read; pass it to identity.handle(req, res, body)');
    }
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  }
  if (size === 0) return {};
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (opts.form && type === 'application/x-www-form-urlencoded') return readForm(Buffer.concat(chunks));
  if (type !== 'application/json')
    throw new ProblemError(
      'unsupported-media-type',
      opts.form
        ? 'Send the body as application/x-www-form-urlencoded or application/json'
        : 'Send the body as application/json',
    );
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch {
    throw new ProblemError('invalid-json', 'The body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A fixed sentence and a position: JSON.parse's own message quotes the body.
    throw new ProblemError('invalid-json', jsonSyntaxDetail(text));
  }
}

/**
 * An OAuth 2.0 form body (RFC 6749 §3.2, §6: what standard OAuth client libraries send):
 * UTF-8 `application/x-www-form-urlencoded`, each parameter at most once (§3.1).
 */
function readForm(raw: Buffer): Record<string, string> {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ProblemError('bad-request', 'The form body is not valid UTF-8');
  }
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(text)) {
    if (Object.hasOwn(out, k))
      throw new ProblemError('bad-request', `Parameter "${k}" is sent more than once`);
    out[k] = v;
  }
  return { ...out };
}

const ajv = new Ajv({ allErrors: false, strict: false });

/** Compiles a body schema; the returned function throws a 400 problem naming the field. */
export function bodyValidator<T>(schema: object): (data: unknown) => T {
  const validate: ValidateFunction = ajv.compile(schema);
  return (data: unknown): T => {
    if (validate(data)) return data as T;
    const e = validate.errors?.[0];
    let detail = 'The body does not match the expected shape';
    if (e?.keyword === 'additionalProperties') {
      detail = `Unknown field "${String((e.params as { additionalProperty: string }).additionalProperty)}"`;
    } else if (e?.keyword === 'required') {
      detail = `Missing field "${String((e.params as { missingProperty: string }).missingProperty)}"`;
    } else if (e) {
      detail = `${e.instancePath || 'body'} ${e.message ?? 'is invalid'}`;
    }
    throw new ProblemError('bad-request', detail, e ? { pointer: e.instancePath || '/' } : {});
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...API_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status = 204, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...API_HEADERS, ...headers });
  res.end();
}

function sendProblem(res: ServerResponse, p: Problem, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(p);
  res.writeHead(p.status, {
    ...API_HEADERS,
    'Content-Type': PROBLEM_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Turns anything thrown into a problem answer; unknown errors become a bare 500. */
export function sendError(res: ServerResponse, err: unknown, onInternal: (err: unknown) => void): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // The gateway's request-id policy has already set the id on the response (mounted handlers run after it).
  const requestId = res.getHeader('x-request-id');
  if (err instanceof ProblemError) {
    const p = { ...err.problem };
    if (typeof requestId === 'string') p.request_id = requestId;
    // Internal bookkeeping fields never leave the service.
    delete p.user_id;
    delete p.reuse;
    sendProblem(res, p, err.headers);
    return;
  }
  onInternal(err);
  sendProblem(res, problem('internal', typeof requestId === 'string' ? { request_id: requestId } : {}));
}

/** Bearer token of the request, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(h.trim());
  return m?.[1];
}
