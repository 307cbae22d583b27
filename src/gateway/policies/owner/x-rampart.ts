/**
 * The `x-rampart.owner` syntax the `owner` policy reads (object-level authorization, API1).
 * Public syntax: additions allowed, renames never.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { OpenApiDocument, OpenApiOperation, XRampartProblem } from '../../../core/openapi.ts';
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
    field: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "The owner field of the object (of the lookup's answer, of the response, of each list item, or of the request body), dot-separated for nested fields, e.g. patientId.",
      }),
    ),
    param: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A path (or query) parameter that must equal the claim, e.g. userId on /users/{userId}: no lookup needed.',
      }),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal('lookup'), Type.Literal('response')], {
        description:
          "lookup: read the owner with a sub-request before forwarding (writes). response: check the owner field of the returned object and replace the answer with 404 when it is not the caller's (reads; no extra round trip). Default: response when `lookup` names this same GET operation, else lookup.",
      }),
    ),
    list: Type.Optional(
      Type.Object(
        {
          items: Type.String({
            description:
              "Dot path of the array in the response ('' when the response is the array), e.g. items.",
            default: 'items',
          }),
          action: Type.Union([Type.Literal('filter'), Type.Literal('refuse')], {
            description:
              "filter: drop the items the caller does not own; refuse: answer 404 when any item is not the caller's.",
            default: 'filter',
          }),
        },
        { additionalProperties: false, description: 'A list endpoint: check every item of the response.' },
      ),
    ),
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

/**
 * `owner.lookup` must name an operation the document declares, whose JSON answer has the
 * owner `field` (and `alsoField`); a rule needs a `field` or a `param`.
 */
export function checkOwner(rule: OwnerRule, document: OpenApiDocument): XRampartProblem[] {
  if (rule.field === undefined && rule.param === undefined)
    return [
      { message: 'owner needs a field (the owner field of the object) or a param (compared with the claim)' },
    ];
  if (rule.lookup === undefined) return [];
  const sp = rule.lookup.indexOf(' ');
  const method = rule.lookup.slice(0, sp).toLowerCase();
  const template = rule.lookup.slice(sp + 1);
  const target = document.operations.find((o) => o.method === method && o.path === template);
  if (target) return fieldProblems(rule, target);
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

/** The owner field(s) must be properties of the lookup's 2xx JSON answer (when it has a schema). */
function fieldProblems(rule: OwnerRule, op: OpenApiOperation): XRampartProblem[] {
  const schemas: unknown[] = [];
  for (const [status, r] of Object.entries(op.responses))
    if (/^2/.test(status))
      for (const [type, media] of Object.entries(r.content ?? {}))
        if (/json/i.test(type) && media.schema !== undefined) schemas.push(media.schema);
  if (schemas.length === 0) return [];
  const out: XRampartProblem[] = [];
  for (const [key, field] of [
    ['field', rule.field],
    ['alsoField', rule.alsoField],
  ] as const) {
    if (field === undefined) continue;
    if (!schemas.some((s) => hasPath(s, field.split('.'), 0)))
      out.push({
        path: [key],
        message: `'${field}' is not a property of the answer of ${rule.lookup} (its response schema does not declare it)`,
      });
  }
  return out;
}

function hasPath(schema: unknown, path: readonly string[], depth: number): boolean {
  if (depth > 16 || schema === null || typeof schema !== 'object') return false;
  const s = schema as Record<string, unknown>;
  if (path.length === 0) return true;
  const props = s.properties as Record<string, unknown> | undefined;
  if (props && Object.hasOwn(props, path[0]!) && hasPath(props[path[0]!], path.slice(1), depth + 1))
    return true;
  for (const k of ['allOf', 'anyOf', 'oneOf'])
    if (Array.isArray(s[k]) && (s[k] as unknown[]).some((b) => hasPath(b, path, depth + 1))) return true;
  return false;
}
