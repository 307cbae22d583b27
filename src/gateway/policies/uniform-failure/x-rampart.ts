/** The `x-rampart.uniformFailure` syntax (public syntax: additions allowed, renames never). */
import { Type, type Static } from '@sinclair/typebox';

export const uniformFailureObject = Type.Object(
  {
    status: Type.Union([Type.Literal(400), Type.Literal(401), Type.Literal(403), Type.Literal(404)], {
      description: 'The status of the one failure answer (401 invalid-credentials by default).',
      default: 401,
    }),
    detail: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'The problem detail of the one failure answer.',
      default: 'The credentials were not accepted',
    }),
  },
  { additionalProperties: false },
);

export const uniformFailureSchema = Type.Union([Type.Literal(true), uniformFailureObject], {
  description:
    'A credential check or account recovery (API2): every failure answer of the operation becomes one identical problem, so an unknown account and a wrong secret cannot be told apart.',
  examples: [true, { status: 401, detail: 'Wrong username or password' }],
});

export type UniformFailureValue = Static<typeof uniformFailureSchema>;

export const uniformFailureXRampart = { uniformFailure: uniformFailureSchema };
