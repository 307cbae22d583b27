import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, problem, problemTypes, type ProblemCode } from '../core/errors.ts';
import type { LabMode } from './types.ts';

/** A handled failure: the twin-specific error writer turns it into JSON. */
export class LabError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'LabError';
  }
}

export interface LabResponse {
  status: number;
  body?: unknown;
  /** Raw text body instead of JSON (documents). */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** The secure twin's body limit; the vulnerable twin reads whatever arrives (API4). */
export const SECURE_BODY_LIMIT = 64 * 1024;

/** Reads and parses a JSON body. `limit` undefined = unbounded (the planted flaw). */
export async function readJson(req: IncomingMessage, limit: number | undefined): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new LabError('unsupported-media-type', 'Send the body as application/json');
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (limit !== undefined && Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new LabError('payload-too-large', `Body exceeds ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (limit !== undefined && size > limit) {
      req.resume();
      throw new LabError('payload-too-large', `Body exceeds ${limit} bytes`);
    }
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new LabError('invalid-json', 'The request body is empty');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new LabError('invalid-json', 'The request body is not valid JSON');
  }
}

/** Headers the secure twin sends on every answer (OWASP REST Security cheat sheet). */
export const SECURE_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** What the vulnerable twin sends instead: a version banner and nothing protective (API8). */
export const VULNERABLE_HEADERS: Record<string, string> = {
  'x-powered-by': 'Express/4.17.1 (Node.js ' + process.version + ')',
  server: 'clinic-api/1.4.2',
};

export function send(res: ServerResponse, out: LabResponse): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
  if (out.status === 204 || (out.body === undefined && out.text === undefined)) {
    res.statusCode = out.status;
    res.end();
    return;
  }
  const payload = out.text ?? JSON.stringify(out.body);
  res.statusCode = out.status;
  res.setHeader('content-type', out.contentType ?? 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(payload);
}

/**
 * Turns an error into the twin's error answer. Secure: RFC 9457 problem+json, never an
 * internal message. Vulnerable: `{ error }`, and for unexpected errors the message, SQL
 * and stack trace (the planted verbose-errors flaw, CWE-209).
 */
export function errorResponse(mode: LabMode, err: unknown, instance: string): LabResponse {
  if (err instanceof LabError) {
    if (mode === 'secure') {
      const p = problem(err.code, { detail: err.detail, instance });
      return { status: p.status, body: p, contentType: PROBLEM_CONTENT_TYPE, headers: err.headers };
    }
    return { status: problemTypes[err.code].status, body: { error: err.detail }, headers: err.headers };
  }
  if (mode === 'secure') {
    return { status: 500, body: problem('internal', { instance }), contentType: PROBLEM_CONTENT_TYPE };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const extra = e as Error & { sql?: string; code?: string };
  return {
    status: 500,
    body: { error: e.message, code: extra.code, sql: extra.sql, stack: e.stack },
  };
}

// ---- small validators: the same rules in both twins except where a flaw is planted ----

export type Json = Record<string, unknown>;

export function asObject(body: unknown): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new LabError('validation-failed', 'The body must be a JSON object');
  }
  return body as Json;
}

export interface StrRule {
  required?: boolean;
  /** Checked unless the caller passes `enforceMax = false` (the vulnerable twin's unbounded fields). */
  max?: number;
  min?: number;
  pattern?: RegExp;
}

export function str(o: Json, field: string, rule: StrRule & { required: true }, enforceMax?: boolean): string;
export function str(o: Json, field: string, rule?: StrRule, enforceMax?: boolean): string | undefined;
export function str(o: Json, field: string, rule: StrRule = {}, enforceMax = true): string | undefined {
  const v = o[field];
  if (v === undefined) {
    if (rule.required) throw new LabError('validation-failed', `'${field}' is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new LabError('validation-failed', `'${field}' must be a string`);
  if (rule.min !== undefined && v.length < rule.min)
    throw new LabError('validation-failed', `'${field}' must have at least ${rule.min} characters`);
  if (enforceMax && rule.max !== undefined && v.length > rule.max)
    throw new LabError('validation-failed', `'${field}' must have at most ${rule.max} characters`);
  if (rule.pattern && !rule.pattern.test(v))
    throw new LabError('validation-failed', `'${field}' has an invalid format`);
  return v;
}

/** Rejects properties outside `allowed` (the documented request schema). */
export function onlyFields(o: Json, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new LabError('validation-failed', `Unknown or read-only property '${k}'`);
  }
}

export function positiveId(raw: string | undefined, name: string): number {
  if (raw === undefined || !/^[1-9][0-9]{0,9}$/.test(raw))
    throw new LabError('bad-request', `'${name}' must be a positive integer`);
  return Number(raw);
}

export function intParam(
  q: URLSearchParams,
  name: string,
  def: number,
  min: number,
  max: number | undefined,
): number {
  const raw = q.get(name);
  if (raw === null) return def;
  if (!/^[0-9]{1,9}$/.test(raw)) throw new LabError('bad-request', `'${name}' must be an integer`);
  const n = Number(raw);
  if (n < min) throw new LabError('bad-request', `'${name}' must be at least ${min}`);
  if (max !== undefined && n > max) throw new LabError('bad-request', `'${name}' must be at most ${max}`);
  return n;
}
