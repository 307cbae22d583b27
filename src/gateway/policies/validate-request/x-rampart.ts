/** The `x-rampart` keys validate-request reads (public syntax: additions allowed, renames never). */
import { Type } from '@sinclair/typebox';

export const bodyLimitSchema = Type.Integer({
  minimum: 0,
  description:
    "This operation's request body limit in bytes (413 beyond), below the global limits.maxBodyBytes.",
  examples: [65536],
});

export const validateSchema = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal('enforce'), Type.Literal('report')], {
        description: 'enforce: refuse invalid requests; report: emit an event and forward them (rollout).',
      }),
    ),
    undeclared: Type.Optional(
      Type.Union([Type.Literal('reject'), Type.Literal('allow')], {
        description:
          'Body properties a schema does not declare (it omits additionalProperties): reject (default, mass assignment) or allow.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Request validation for this document, path or operation.',
    examples: [{ mode: 'report' }, { undeclared: 'allow' }],
  },
);

export const validateRequestXRampart = { bodyLimit: bodyLimitSchema, validate: validateSchema };
