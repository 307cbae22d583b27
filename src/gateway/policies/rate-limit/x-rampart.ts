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

/** A counting rule `{ per, limit, window }` (rateLimit, bruteForce share the shape). */
export function counterRuleSchema(
  text: { per: string; limit: string; description: string },
  example: object,
) {
  return Type.Object(
    {
      per: Type.Union([selectorSchema, Type.Array(selectorSchema, { minItems: 1 })], {
        description: text.per,
      }),
      limit: Type.Integer({ minimum: 1, description: text.limit }),
      window: windowSchema,
    },
    { additionalProperties: false, description: text.description, examples: [example] },
  );
}

export const rateLimitSchema = counterRuleSchema(
  {
    per: 'What is counted (one selector, or several combined).',
    limit: 'Requests allowed per window.',
    description: 'Caps calls per window (429 with RateLimit headers beyond).',
  },
  { per: 'user', limit: 100, window: 60 },
);

export const rateLimitXRampart = { rateLimit: rateLimitSchema };
