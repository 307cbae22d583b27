/**
 * The `x-rampart.owner` syntax the `owner` policy reads (object-level authorization, API1).
 * Public syntax: additions allowed, renames never.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { OpenApiDocument, XRampartProblem } from '../../../core/openapi.ts';
import type { XRampartKey } from '../../policy.ts';

/** `METHOD /template` naming an operation of the same document. */
export const OPERATION_REFERENCE =
  '^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|get|head|post|put|patch|delete|options|trace) /\\S*$';

export const ownerSchema = Type.Object(
  {
    lookup: Type.Optional(
      Type.String({
        pattern: OPERATION_REFERENCE,
        description:
          "An operation of the same document (`'GET /records/{recordId}'`) the gateway calls first (ctx.lookup, the request's path parameters filled in) to read the object's owner.",
      }),
    ),
    field: Type.String({
      minLength: 1,
      description: "The owner field of the object (of the lookup's answer), e.g. patientId.",
    }),
    alsoField: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'A second field that also makes the caller an owner, e.g. doctorId.',
      }),
    ),
    claim: Type.String({
      minLength: 1,
      default: 'sub',
      description: "The principal's claim the owner field must equal.",
    }),
    bypassRoles: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      uniqueItems: true,
      description: 'Roles exempt from the ownership check (e.g. admin).',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Object-level authorization: the caller must own the object (answered 404 otherwise, so existence does not leak).',
    examples: [
      { lookup: 'GET /records/{recordId}', field: 'patientId', claim: 'sub', bypassRoles: ['admin'] },
    ],
  },
);

export type OwnerRule = Static<typeof ownerSchema>;

/** `owner.lookup` must name an operation the document declares. */
export function checkOwner(rule: OwnerRule, document: OpenApiDocument): XRampartProblem[] {
  if (rule.lookup === undefined) return [];
  const sp = rule.lookup.indexOf(' ');
  const method = rule.lookup.slice(0, sp).toLowerCase();
  const template = rule.lookup.slice(sp + 1);
  if (document.operations.some((o) => o.method === method && o.path === template)) return [];
  const known = document.operations.filter((o) => o.method === 'get').map((o) => `GET ${o.path}`);
  return [
    {
      path: ['lookup'],
      message: `lookup '${rule.lookup}' is not an operation of this document${known.length ? ` (GET operations: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : ''}`,
    },
  ];
}

export const ownerKey: XRampartKey<typeof ownerSchema> = { schema: ownerSchema, check: checkOwner };

export const ownerXRampart = { owner: ownerKey };
