/** The `x-rampart.bruteForce` syntax (public syntax: additions allowed, renames never). */
import { counterRuleSchema } from '../rate-limit/x-rampart.ts';

export const bruteForceSchema = counterRuleSchema(
  {
    per: 'What failed attempts are counted by (username, ip, …).',
    limit: 'Failed attempts allowed per window.',
    description: 'Limits failed attempts (credential stuffing, OTP guessing) on this operation.',
  },
  { per: 'username', limit: 5, window: 900 },
);

export const bruteForceXRampart = { bruteForce: bruteForceSchema };
