/**
 * The `x-rampart.rateLimit` syntax (public syntax: additions allowed, renames never),
 * and the counting selector and window shared with `bruteForce` and `flow`.
 *
 * Additions over the first syntax (`{ per, limit, window }`): a list of limits combined on
 * one operation, `name`, `burst`, `failMode`, `unit: content-bytes` (a response-bytes
 * quota), the selectors `client` and `route`, and `x-rampart.concurrency`.
 */
import { Type } from '@sinclair/typebox';
import type { XRampartKey } from '../../policy.ts';
import { knownSelector } from './keys.ts';
import { levelProblems } from './limits.ts';

/**
 * Who a counter counts: `user` (the principal), `ip`, `api-key`, `client` (OAuth client id),
 * `route` (everyone together), `username` (the login body's username), or a request value
 * `path.<param>`, `query.<name>`, `header.<name>`, `body.<field>`, `claim.<name>`.
 */
export const selectorSchema = Type.String({
  pattern: '^(user|ip|api-key|client|route|username|(path|query|header|body|claim)\\.[A-Za-z0-9_.-]+)$',
  description:
    'What is counted: user, ip, api-key, client, route, username, or path.<param>, query.<name>, header.<name>, body.<field>, claim.<name>.',
});

/** A window: seconds, or a duration such as 90s, 15m, 1h, 30d. */
export const windowSchema = Type.Union(
  [Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[1-9][0-9]*(s|m|h|d)$' })],
  { description: 'The window: seconds (60) or a duration (90s, 15m, 1h, 30d).' },
);

const perSchema = Type.Union([selectorSchema, Type.Array(selectorSchema, { minItems: 1 })], {
  description: 'What is counted (one selector, or several combined).',
});

/** One limit. */
export const rateLimitItemSchema = Type.Object(
  {
    per: perSchema,
    limit: Type.Integer({ minimum: 1, description: 'Requests (or response bytes) allowed per window.' }),
    window: windowSchema,
    name: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9._-]{0,63}$',
        description:
          'Name in RateLimit headers and 429 problems; an inner level (path, operation) replaces an outer limit of the same name. Default <per>-<window>s.',
      }),
    ),
    burst: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Most requests at once (default: the whole limit). Declaring it makes the limit gcra.',
      }),
    ),
    failMode: Type.Optional(
      Type.Union([Type.Literal('open'), Type.Literal('closed')], {
        description:
          'When Redis is unreachable: open = the node-local fallback limiter decides (default); closed = 503.',
      }),
    ),
    algorithm: Type.Optional(
      Type.Union([Type.Literal('gcra'), Type.Literal('sliding-window')], {
        description:
          'Default: sliding-window (exactly limit in any window; one entry per admitted request) when the limit is at most 10,000 per window of at most 1 h and no burst is declared, else gcra (one value per key, continuous refill, bursts; admits up to burst + limit − 1 in a window).',
      }),
    ),
    unit: Type.Optional(
      Type.Union([Type.Literal('requests'), Type.Literal('content-bytes')], {
        description:
          'requests (default), or content-bytes: a quota on response body bytes, charged after each response.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Caps calls per window (429 with RateLimit headers beyond).',
    examples: [{ per: 'user', limit: 100, window: 60 }],
  },
);

/** Kept for the first syntax's importers: one limit. */
export const rateLimitSchema = rateLimitItemSchema;

export const rateLimitKey: XRampartKey = {
  schema: Type.Union([rateLimitItemSchema, Type.Array(rateLimitItemSchema, { minItems: 1 })], {
    description: 'One limit, or several combined (e.g. a burst per second, a minute and a daily quota).',
  }),
  check: (value) => levelProblems(value, knownSelector),
};

export const concurrencySchema = Type.Object(
  {
    per: perSchema,
    limit: Type.Integer({
      minimum: 1,
      description: 'Requests in flight at once per consumer, across all nodes.',
    }),
  },
  { additionalProperties: false, description: 'In-flight cap per consumer (429 beyond).' },
);

export const rateLimitXRampart = { rateLimit: rateLimitKey, concurrency: concurrencySchema };
