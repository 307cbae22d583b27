/**
 * The `x-rampart.bruteForce` syntax (public syntax: additions allowed, renames never).
 * Additions: a list (per account and per address on one operation).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { XRampartKey } from '../../policy.ts';
import { knownSelector } from '../rate-limit/keys.ts';
import { perList, windowSeconds } from '../rate-limit/limits.ts';
import { selectorSchema, windowSchema } from '../rate-limit/x-rampart.ts';

export const bruteForceSchema = Type.Object(
  {
    per: Type.Union([selectorSchema, Type.Array(selectorSchema, { minItems: 1 })], {
      description: 'What failed attempts are counted by (username, ip, …).',
    }),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, description: 'Failed attempts allowed per window.' }),
    window: windowSchema,
  },
  {
    additionalProperties: false,
    description: 'Limits failed attempts (credential stuffing, OTP guessing) on this operation.',
    examples: [{ per: 'username', limit: 5, window: 900 }],
  },
);

export type BruteForceValue = Static<typeof bruteForceSchema> | Static<typeof bruteForceSchema>[];

export const bruteForceKey: XRampartKey = {
  schema: Type.Union([bruteForceSchema, Type.Array(bruteForceSchema, { minItems: 1 })], {
    description: 'One failure limit, or several (per account and per address).',
  }),
  check(value) {
    const list = (Array.isArray(value) ? value : [value]) as Static<typeof bruteForceSchema>[];
    const out: { path: string[]; message: string }[] = [];
    const seen = new Map<string, number>();
    list.forEach((b, i) => {
      const at = (...p: string[]) => (Array.isArray(value) ? [String(i), ...p] : p);
      if (!(windowSeconds(b.window) > 0))
        out.push({ path: at('window'), message: 'the window must be a positive duration' });
      for (const s of perList(b.per))
        if (!knownSelector(s)) out.push({ path: at('per'), message: `unknown 'per' key '${s}'` });
      const k = perList(b.per).join('+');
      if (seen.has(k))
        out.push({ path: at(), message: `contradicts item ${seen.get(k)}: the same 'per' twice` });
      else seen.set(k, i);
    });
    return out;
  },
};

export const bruteForceXRampart = { bruteForce: bruteForceKey };
