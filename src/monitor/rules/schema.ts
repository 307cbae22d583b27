import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../duration.ts';

const Duration = (description: string, dflt?: string) =>
  Type.String({ pattern: DURATION_PATTERN, description, ...(dflt !== undefined ? { default: dflt } : {}) });

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
const Condition = Type.Union([
  Scalar,
  Type.Array(Scalar, { minItems: 1, description: 'Any of these values.' }),
  Type.Object(
    {
      lt: Type.Optional(Type.Number()),
      lte: Type.Optional(Type.Number()),
      gt: Type.Optional(Type.Number()),
      gte: Type.Optional(Type.Number()),
      prefix: Type.Optional(Type.String()),
      suffix: Type.Optional(Type.String()),
      present: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
]);
export const filterSchema = Type.Record(Type.String(), Condition, {
  description:
    'Event fields and the values they must have: `type: auth`, `outcome: [failure, locked]`, `status: { gte: 500 }`, `route: { suffix: /login }`.',
});
const Filters = Type.Union([filterSchema, Type.Array(filterSchema, { minItems: 1 })], {
  description: 'One filter, or a list of which any may match.',
});

export const ruleSchema = Type.Object(
  {
    id: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
      description: 'Rule id; naming a shipped rule overrides its fields.',
    }),
    enabled: Type.Optional(Type.Boolean({ description: 'false turns the rule off. Default true.' })),
    description: Type.Optional(Type.String({ description: 'What the alert means and what to do.' })),
    kind: Type.Optional(
      Type.Union(
        [
          Type.Literal('threshold'),
          Type.Literal('rate'),
          Type.Literal('ratio'),
          Type.Literal('distinct'),
          Type.Literal('new'),
          Type.Literal('event'),
        ],
        {
          description:
            'threshold: matching events in the window ≥ threshold; rate: events per second ≥ threshold; ratio: match/denominator ≥ threshold; distinct: distinct values of `field` ≥ threshold; new: a value of `field` never seen before; event: every matching event.',
        },
      ),
    ),
    match: Type.Optional(Filters),
    denominator: Type.Optional(Filters),
    field: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1, maxItems: 4 })], {
        description: 'Field(s) whose distinct or new values count (distinct, new).',
      }),
    ),
    window: Type.Optional(Duration('Sliding window (1s to 24h).')),
    threshold: Type.Optional(
      Type.Number({ minimum: 0, description: 'The value at or above which the condition holds.' }),
    ),
    minEvents: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'ratio: denominator events needed in the window. Default 20.',
      }),
    ),
    groupBy: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: 3,
        description:
          'Evaluate per value of these bounded labels: ip, principal, consumer, account, user, route, method, api, policy, category, subject, action, reason, statusClass.',
      }),
    ),
    maxGroups: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100000,
        description: 'Groups tracked at most (LRU). Default 10000.',
      }),
    ),
    for: Type.Optional(Duration('How long the condition must hold before the alert fires. Default 0s.')),
    severity: Type.Optional(
      Type.Union([Type.Literal('critical'), Type.Literal('warning'), Type.Literal('info')], {
        description: 'Default warning.',
      }),
    ),
    cooldown: Type.Optional(
      Duration('After it resolves, the same group does not fire again for this long. Default 10m.'),
    ),
    resolveAfter: Type.Optional(
      Duration(
        'How long the condition must be false before the alert resolves. Default 0s (event, new: the window).',
      ),
    ),
    summary: Type.Optional(
      Type.String({
        description: 'One-line text; {{value}}, {{threshold}}, {{window}} and group labels expand.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type RuleConfig = Static<typeof ruleSchema>;
export type Filter = Static<typeof filterSchema>;
