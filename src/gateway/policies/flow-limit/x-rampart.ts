/** The `x-rampart.flow` syntax (public syntax: additions allowed, renames never). */
import { Type } from '@sinclair/typebox';
import type { XRampartKey } from '../../policy.ts';
import { knownSelector } from '../rate-limit/keys.ts';
import { selectorSchema, windowSchema } from '../rate-limit/x-rampart.ts';
import { windowSeconds, perList } from '../rate-limit/limits.ts';

export const flowSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9._-]*$',
      description: 'The flow: operations naming the same flow share its counter (e.g. redeem-coupon).',
    }),
    per: Type.Union([selectorSchema, Type.Array(selectorSchema, { minItems: 1 })], {
      description: 'Whose flow is counted, e.g. [user, path.invoiceId].',
    }),
    limit: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      description: 'Completed flows allowed per window (an exact log: at most 10,000).',
    }),
    window: windowSchema,
    count: Type.Optional(
      Type.Union([Type.Literal('successes'), Type.Literal('attempts')], {
        description:
          'successes (default): a slot is reserved when the request starts and given back unless the upstream answers 2xx; attempts: every admitted request counts.',
      }),
    ),
    failMode: Type.Optional(
      Type.Union([Type.Literal('open'), Type.Literal('closed')], {
        description:
          'When Redis is unreachable: closed (default) refuses with 503; open lets the node-local counter decide.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'A business-flow limit (OWASP API6): how many times a flow may complete per consumer, whatever the request rate.',
    examples: [{ name: 'redeem-coupon', limit: 1, window: '30d', per: ['user', 'path.invoiceId'] }],
  },
);

export const flowKey: XRampartKey = {
  schema: Type.Union([flowSchema, Type.Array(flowSchema, { minItems: 1 })]),
  check(value, document) {
    const list = Array.isArray(value) ? value : [value];
    const out: { path: string[]; message: string }[] = [];
    // Every declaration of a flow in the document must agree: one flow, one counter, one limit.
    const shape = (f: { limit: number; per: string | string[]; window: number | string }) =>
      `${f.limit}|${windowSeconds(f.window)}|${perList(f.per).join('+')}`;
    const declared = new Map<string, string>();
    for (const op of document.operations) {
      const x = op.rampart.flow as FlowLike | FlowLike[] | undefined;
      for (const f of x === undefined ? [] : Array.isArray(x) ? x : [x])
        if (!declared.has(f.name)) declared.set(f.name, shape(f));
    }
    list.forEach((f: FlowLike, i: number) => {
      const at = (...p: string[]) => (Array.isArray(value) ? [String(i), ...p] : p);
      const first = declared.get(f.name);
      if (first !== undefined && first !== shape(f))
        out.push({
          path: at('limit'),
          message: `flow '${f.name}' is declared elsewhere in this document with a different limit, window or per`,
        });
      if (!(windowSeconds(f.window) > 0))
        out.push({ path: at('window'), message: 'the window must be a positive duration' });
      for (const s of perList(f.per))
        if (!knownSelector(s)) out.push({ path: at('per'), message: `unknown 'per' key '${s}'` });
    });
    return out;
  },
};

interface FlowLike {
  name: string;
  limit: number;
  per: string | string[];
  window: number | string;
}

export const flowXRampart = { flow: flowKey };
