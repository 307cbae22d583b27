/** The `x-rampart.injection` syntax (public syntax: additions allowed, renames never). */
import { Type } from '@sinclair/typebox';
import { INJECTION_KINDS } from '../../contract/injection.ts';

export const injectionSchema = Type.Object(
  {
    allow: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        uniqueItems: true,
        description:
          "Fields exempt from the guard (free text that may hold code): a body property name ('notes', any depth), a JSON pointer ('/body/notes') or 'query.<name>'.",
      }),
    ),
    kinds: Type.Optional(
      Type.Array(Type.Union(INJECTION_KINDS.map((k) => Type.Literal(k))), {
        uniqueItems: true,
        description: 'Only these kinds here (default: the policy’s kinds).',
      }),
    ),
    enabled: Type.Optional(Type.Boolean({ description: 'false: no injection guard on this operation.' })),
  },
  {
    additionalProperties: false,
    description: 'Injection guard settings for this document, path or operation (API8).',
    examples: [{ allow: ['notes'] }, { enabled: false }],
  },
);

export const injectionXRampart = { injection: injectionSchema };
