import { Type } from '@sinclair/typebox';
import { problem } from '../../../core/errors.ts';
import { isJsonType } from '../../body.ts';
import type { JsonShape } from '../../contract/json-guard.ts';
import { scanJsonStrict } from '../../contract/json-strict.ts';
import { definePolicy, deny, type RequestContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

const schema = Type.Object(
  {
    maxJsonDepth: Type.Integer({ minimum: 1, description: 'JSON nesting depth (400 beyond).', default: 32 }),
    maxJsonElements: Type.Integer({
      minimum: 1,
      description: 'JSON values (members + items) in one body (400 beyond).',
      default: 10000,
    }),
    maxUrlLength: Type.Integer({
      minimum: 64,
      description: 'Request target length (path + query) in bytes (414 beyond).',
      default: 8192,
    }),
    maxQueryParams: Type.Integer({
      minimum: 1,
      description: 'Query parameters per request (400 beyond).',
      default: 100,
    }),
  },
  { additionalProperties: false },
);

export type JsonScan =
  | { ok: true }
  | { ok: false; code: 'json-too-deep' | 'json-too-large'; detail: string }
  | { ok: false; code: 'invalid-json' };

declare module '../../policy.ts' {
  interface PolicyState {
    /** The JSON body's scan (member names, exact numbers), for validate-request's hazard proof. */
    jsonShape: { body: Buffer; shape: JsonShape };
  }
}

const OK: JsonScan = Object.freeze({ ok: true });

/**
 * The policy's verdict on a JSON text without the shape facts: the bounds (nesting depth,
 * number of values) and well-formedness, in one pass over the bytes (no recursion, so a
 * hostile `[[[[…` cannot blow the stack) — the scan the policy runs.
 */
export function scanJson(buf: Uint8Array, maxDepth: number, maxElements: number): JsonScan {
  const shape = scanJsonStrict(buf, maxDepth, maxElements);
  return shape.ok ? OK : shape;
}

/**
 * request-limits: bounds what a request may cost before anything expensive runs
 * (API4): URL length, query parameter count, then JSON depth and size, strict UTF-8 and
 * well-formedness in one pass over the bytes that builds nothing (contract/json-strict.ts);
 * the value is parsed only when a policy asks for it (the gateway's lazy `ctx.json()`,
 * parsed once; later policies get the same value). Body size,
 * header size and slow-client timeouts are enforced by the server itself (config `limits`).
 */
export const requestLimits = definePolicy({
  name: 'request-limits',
  priority: PRIORITIES['request-limits'],
  schema,
  create(options) {
    const tooLong = deny(
      problem('uri-too-long', { detail: `Request targets are limited to ${options.maxUrlLength} bytes` }),
    );
    const tooManyParams = deny(
      problem('bad-request', { detail: `At most ${options.maxQueryParams} query parameters are allowed` }),
    );
    return {
      onRequest: function requestLimitsRequest(ctx: RequestContext) {
        if (ctx.path.length + ctx.query.length > options.maxUrlLength) return tooLong;
        // Stryker disable next-line ConditionalExpression,EqualityOperator: an empty query counts 1 parameter, and maxQueryParams is at least 1
        if (ctx.query.length > 0) {
          let n = 1;
          // Stryker disable next-line EqualityOperator: charCodeAt past the end is NaN, never '&'
          for (let i = 0; i < ctx.query.length; i++) if (ctx.query.charCodeAt(i) === 38 /* & */) n++;
          if (n > options.maxQueryParams) return tooManyParams;
        }
        const body = ctx.body;
        // Stryker disable next-line ConditionalExpression: an empty body scans invalid, and ctx.json() of an empty body is undefined (forwarded either way)
        if (body === undefined || body.length === 0) return undefined;
        if (!isJsonType(ctx.headers['content-type'])) return undefined;
        // One pass: the bounds, strict UTF-8 and the JSON grammar, without building the value
        // (most chains never read it; a policy that does parses it once through ctx.json()).
        const shape = scanJsonStrict(body, options.maxJsonDepth, options.maxJsonElements);
        if (shape.ok) {
          ctx.state.jsonShape = { body, shape };
          return undefined;
        }
        if (shape.code !== 'invalid-json') return deny(problem(shape.code, { detail: shape.detail }));
        // Not proven well-formed: JSON.parse judges, and its failure throws ProblemError
        // invalid-json with the gateway's one sentence (line and column), answered 400.
        ctx.json();
        return undefined;
      },
    };
  },
});
