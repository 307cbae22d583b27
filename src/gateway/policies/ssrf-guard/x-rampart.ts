/** The `x-rampart.ssrf` syntax (public syntax: additions allowed, renames never). */
import { Type } from '@sinclair/typebox';

export const ssrfSchema = Type.Object(
  {
    fields: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      uniqueItems: true,
      description:
        'Request body fields holding URLs the upstream will fetch (checked against the SSRF rules).',
    }),
  },
  {
    additionalProperties: false,
    description: 'Server-side request forgery guard for URL-valued inputs (API7).',
    examples: [{ fields: ['url'] }],
  },
);

export const ssrfXRampart = { ssrf: ssrfSchema };
