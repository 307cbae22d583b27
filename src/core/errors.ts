/**
 * The one registry of problem types (RFC 9457) Rampart can send. Each entry has a
 * stable code; its `type` URI is `https://rampart.dev/problems/<code>`, documented in
 * docs/errors.md (test/errors-doc.test.ts keeps the two in step). Never put internal
 * messages or stacks in `detail` (OWASP ASVS 16.5.1).
 */
export const PROBLEM_BASE = 'https://rampart.dev/problems/';

export const problemTypes = {
  'not-found': { status: 404, title: 'Not Found' },
  'method-not-allowed': { status: 405, title: 'Method Not Allowed' },
  'bad-request': { status: 400, title: 'Bad Request' },
  'invalid-path': { status: 400, title: 'Invalid request path' },
  'invalid-json': { status: 400, title: 'Malformed JSON body' },
  'json-too-deep': { status: 400, title: 'JSON nesting too deep' },
  'json-too-large': { status: 400, title: 'JSON has too many elements' },
  'invalid-header': { status: 400, title: 'Invalid request header' },
  'request-smuggling': { status: 400, title: 'Ambiguous message framing' },
  'invalid-host': { status: 400, title: 'Invalid Host' },
  'misdirected-request': { status: 421, title: 'Misdirected Request' },
  'payload-too-large': { status: 413, title: 'Payload Too Large' },
  'uri-too-long': { status: 414, title: 'URI Too Long' },
  'headers-too-large': { status: 431, title: 'Request Header Fields Too Large' },
  'request-timeout': { status: 408, title: 'Request Timeout' },
  'unsupported-media-type': { status: 415, title: 'Unsupported Media Type' },
  'tls-required': { status: 403, title: 'TLS required' },
  'ip-denied': { status: 403, title: 'Client address not allowed' },
  'cors-denied': { status: 403, title: 'Origin not allowed' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  'invalid-token': { status: 401, title: 'Invalid access token' },
  'invalid-refresh-token': { status: 401, title: 'Invalid refresh token' },
  'invalid-mfa-token': { status: 401, title: 'Invalid MFA token' },
  'insufficient-user-authentication': {
    status: 401,
    title: 'Stronger or more recent authentication required',
  },
  forbidden: { status: 403, title: 'Forbidden' },
  'mfa-enrollment-required': { status: 403, title: 'A second factor must be enrolled first' },
  'invalid-credentials': { status: 401, title: 'Invalid credentials' },
  'invalid-otp': { status: 401, title: 'Invalid one-time code' },
  'too-many-requests': { status: 429, title: 'Too Many Requests' },
  'flow-limit-exceeded': { status: 429, title: 'Business flow limit reached' },
  'limits-unavailable': { status: 503, title: 'Limit counters unavailable' },
  conflict: { status: 409, title: 'Conflict' },
  'validation-failed': { status: 422, title: 'Request does not match the contract' },
  'unsafe-json': { status: 400, title: 'JSON body refused' },
  'injection-detected': { status: 400, title: 'Request rejected as an injection attempt' },
  'url-not-allowed': { status: 422, title: 'URL not allowed' },
  'response-invalid': { status: 502, title: 'Upstream answer does not match the contract' },
  'weak-password': { status: 422, title: 'Password rejected' },
  gone: { status: 410, title: 'API version retired' },
  'bad-gateway': { status: 502, title: 'Bad Gateway' },
  'upstream-unavailable': { status: 503, title: 'Upstream unavailable' },
  'gateway-timeout': { status: 504, title: 'Gateway Timeout' },
  'upstream-error': { status: 502, title: 'Upstream error' },
  internal: { status: 500, title: 'Internal Server Error' },
  'account-locked': { status: 403, title: 'Account locked; an administrator must unlock it' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof problemTypes;

/** An RFC 9457 problem details object. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/**
 * Builds a problem object from a registered code.
 * @example
 * problem('payload-too-large', { detail: 'Body exceeds 1048576 bytes' })
 */
export function problem(
  code: ProblemCode,
  extra: { detail?: string; status?: number } & Record<string, unknown> = {},
): Problem {
  const def = problemTypes[code];
  return { type: PROBLEM_BASE + code, title: def.title, status: extra.status ?? def.status, ...extra };
}

/**
 * An error carrying a problem: thrown by library code (identity, config) and turned
 * into problem+json at the HTTP edge. `headers` are sent with it (WWW-Authenticate, Retry-After, Allow).
 */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;
  constructor(
    code: ProblemCode,
    detail?: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail ?? problemTypes[code].title);
    this.name = 'ProblemError';
    this.problem = problem(code, { ...(detail !== undefined ? { detail } : {}), ...extra });
    this.headers = headers;
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
