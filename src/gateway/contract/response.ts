/**
 * What validate-response and minimise-response share on one answer: the upstream body
 * parsed once (JSON is parsed at most once per direction), and the way a policy replaces an
 * answer with a gateway problem.
 */
import { PROBLEM_CONTENT_TYPE, problem, type ProblemCode } from '../../core/errors.ts';
import type { RequestContext, ResponseContext } from '../policy.ts';

declare module '../policy.ts' {
  interface PolicyState {
    /** The upstream JSON body as parsed by the first response policy that needed it. */
    responseJson: { body: Buffer; value: unknown; ok: boolean };
    /** Set when a response policy replaced the upstream answer with a gateway problem. */
    responseReplaced: true;
  }
}

/**
 * The answer's body parsed as JSON, once per body buffer: `{ ok: false }` when it is not
 * JSON (or not valid UTF-8).
 */
export function responseJson(ctx: RequestContext, res: ResponseContext): { ok: boolean; value: unknown } {
  const body = res.body;
  if (body === undefined || body.length === 0) return { ok: false, value: undefined };
  const cached = ctx.state.responseJson;
  if (cached && cached.body === body) return cached;
  let entry: { body: Buffer; value: unknown; ok: boolean };
  try {
    entry = { body, value: JSON.parse(utf8.decode(body)), ok: true };
  } catch {
    entry = { body, value: undefined, ok: false };
  }
  ctx.state.responseJson = entry;
  return entry;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Sets a new JSON body (re-serialised once) and remembers it as parsed. */
export function setResponseJson(ctx: RequestContext, res: ResponseContext, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.body = body;
  res.headers['content-length'] = String(body.length);
  delete res.headers.etag; // the representation changed
  ctx.state.responseJson = { body, value, ok: true };
}

/** Upstream headers kept when an answer is replaced by a problem (they say how to retry or authenticate). */
const KEPT = ['retry-after', 'www-authenticate', 'ratelimit', 'ratelimit-policy', 'allow'];

/** Replaces the upstream answer with a gateway problem (status from the code unless given). */
export function replaceWithProblem(
  ctx: RequestContext,
  res: ResponseContext,
  code: ProblemCode,
  detail: string,
  status?: number,
): void {
  const p = problem(code, { detail, request_id: ctx.id, ...(status !== undefined ? { status } : {}) });
  const headers: ResponseContext['headers'] = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
  };
  for (const k of KEPT) if (res.headers[k] !== undefined) headers[k] = res.headers[k];
  res.status = p.status;
  res.headers = headers;
  const body = Buffer.from(JSON.stringify(p));
  res.body = body;
  headers['content-length'] = String(body.length);
  ctx.state.responseJson = { body, value: p, ok: true };
  ctx.state.responseReplaced = true;
}

/** The registered problem code for an error status (an upstream 4xx replaced keeps its status). */
export function codeForStatus(status: number): ProblemCode {
  switch (status) {
    case 400:
      return 'bad-request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 405:
      return 'method-not-allowed';
    case 409:
      return 'conflict';
    case 410:
      return 'gone';
    case 413:
      return 'payload-too-large';
    case 415:
      return 'unsupported-media-type';
    case 422:
      return 'validation-failed';
    case 429:
      return 'too-many-requests';
    default:
      return 'upstream-error';
  }
}
