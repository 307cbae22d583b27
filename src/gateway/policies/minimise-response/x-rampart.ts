/** The `x-rampart.pii` syntax (public syntax: additions allowed, renames never). */
import { Type } from '@sinclair/typebox';
import { PII_KINDS } from '../../contract/pii.ts';

export const piiKindSchema = Type.Union(PII_KINDS.map((k) => Type.Literal(k)));

export const piiSchema = Type.Object(
  {
    mask: Type.Array(piiKindSchema, {
      uniqueItems: true,
      description: 'PII kinds masked in this document’s / operation’s answers (replaces the policy’s list).',
    }),
  },
  {
    additionalProperties: false,
    description:
      'PII masking in responses (API3). Roles in a property’s x-rampart.visibleTo see it unmasked.',
    examples: [{ mask: ['card', 'iban', 'token'] }],
  },
);

export const minimiseXRampart = { pii: piiSchema };
