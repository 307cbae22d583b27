/** The `x-rampart.bruteForce` syntax (public syntax: additions allowed, renames never). */
import { Type } from '@sinclair/typebox';
import { selectorSchema, windowSchema } from '../rate-limit/x-rampart.ts';

export const bruteForceSchema = Type.Object(
  {
    per: Type.Union([selectorSchema, Type.Array(selectorSchema, { minItems: 1 })], {
      description: 'What failed attempts are counted by (username, ip, …).',
    }),
    limit: Type.Integer({ minimum: 1, description: 'Failed attempts allowed per window.' }),
    window: windowSchema,
  },
  {
    additionalProperties: false,
    description: 'Limits failed attempts (credential stuffing, OTP guessing) on this operation.',
    examples: [{ per: 'username', limit: 5, window: 900 }],
  },
);

export const bruteForceXRampart = { bruteForce: bruteForceSchema };
