/**
 * The `x-rampart.rateLimit` syntax (public syntax: additions allowed, renames never),
 * and the counting selector and window shared with `bruteForce`.
 */
import { Type } from '@sinclair/typebox';

/**
 * Who a counter counts: `user` (the principal), `ip`, `api-key`, `username` (the login
 * body's username), or a request value `path.<param>`, `query.<name>`, `header.<name>`,
 * `body.<field>`, `claim.<name>`.
 */
export const selectorSchema = Type.String({
  pattern: '^(user|ip|api-key|username|(path|query|header|body|claim)\\.[A-Za-z0-9_.-]+)$',
  description:
    'What is counted: user, ip, api-key, username, or path.<param>, query.<name>, header.<name>, body.<field>, claim.<name>.',
});

/** A window: seconds, or a duration such as 90s, 15m, 1h, 30d. */
export const windowSchema = Type.Union(
  [Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[1-9][0-9]*(s|m|h|d)$' })],
  { description: 'The window: seconds (60) or a duration (90s, 15m, 1h, 30d).' },
);

export const rateLimitSchema = Type.Object(
  {
    per: Type.Union([selectorSchema, Type.Array(selectorSchema, { minItems: 1 })], {
      description: 'What is counted (one selector, or several combined).',
    }),
    limit: Type.Integer({ minimum: 1, description: 'Requests allowed per window.' }),
    window: windowSchema,
  },
  {
    additionalProperties: false,
    description: 'Caps calls per window (429 with RateLimit headers beyond).',
    examples: [{ per: 'user', limit: 100, window: 60 }],
  },
);

export const rateLimitXRampart = { rateLimit: rateLimitSchema };
