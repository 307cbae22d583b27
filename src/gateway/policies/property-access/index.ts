/**
 * The `property-access` policy (priority 680): who may write and who may see which property
 * (BOPLA, OWASP API3:2023, ASVS 8.2.3), from the operation's schemas:
 *
 * - request bodies: a `readOnly: true` property is refused (422: mass assignment of an id, a
 *   role, a balance…), unless its `x-rampart.writableBy: [roles]` grants the caller; a
 *   property with `writableBy` is refused to everyone else (403);
 * - responses: a property with `x-rampart.visibleTo: [roles]` is removed for everyone else.
 *
 * Roles are the caller's effective roles (the `roles` policy's hierarchy applied). Schemas are
 * compiled per operation into small trees of the restricted properties; a request walks the
 * tree over its JSON. Generic minimisation (properties the schema does not declare) and PII
 * masking are `minimise-response`'s. See docs/policies/property-access.md.
 */
import { Type } from '@sinclair/typebox';
import type { JsonSchema, OpenApiOperation } from '../../../core/openapi.ts';
import { problem } from '../../../core/errors.ts';
import {
  definePolicy,
  type Denial,
  type RequestContext,
  type ResponseContext,
  type RouteInfo,
} from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { hasAnyRole } from '../roles/index.ts';
import { compileRules, forbiddenWrite, stripInvisible, type RuleNode } from './walk.ts';
import { propertyAccessXRampart } from './x-rampart.ts';

export const PROPERTY_OWASP = 'API3:2023';

export const propertyAccessSchema = Type.Object(
  {
    readOnly: Type.Union([Type.Literal('refuse'), Type.Literal('allow')], {
      description:
        'readOnly properties (OpenAPI) in request bodies: refuse with 422 (mass-assignment protection), or allow (leave it to the API).',
      default: 'refuse',
    }),
  },
  {
    additionalProperties: false,
    description: 'Property-level authorization: readOnly, writableBy, visibleTo.',
  },
);

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

function jsonSchemaOf(content: Record<string, { schema?: JsonSchema }> | undefined): JsonSchema | undefined {
  for (const [type, media] of Object.entries(content ?? {}))
    if (JSON_TYPE.test(type.split(';')[0]!.trim()) && media.schema !== undefined) return media.schema;
  return undefined;
}

/** Response trees by status (`200`, `2XX`, `default`), for the statuses whose schema restricts a property. */
function responseTrees(op: OpenApiOperation): Map<string, RuleNode> | undefined {
  let out: Map<string, RuleNode> | undefined;
  for (const [status, r] of Object.entries(op.responses)) {
    const tree = compileRules(jsonSchemaOf(r.content), 'response');
    if (tree) (out ??= new Map()).set(status.toUpperCase(), tree);
  }
  return out;
}

const mayAct = (roles: readonly string[], ctx: RequestContext): boolean => hasAnyRole(ctx, roles);

function violation(pointer: string, reason: 'read-only' | 'role'): Denial {
  return reason === 'read-only'
    ? {
        problem: problem('validation-failed', { detail: `Property '${pointer}' is read-only` }),
        owasp: PROPERTY_OWASP,
      }
    : {
        problem: problem('forbidden', { detail: `Your role may not set property '${pointer}'` }),
        owasp: PROPERTY_OWASP,
      };
}

export const propertyAccess = definePolicy({
  name: 'property-access',
  priority: PRIORITIES['property-access'],
  schema: propertyAccessSchema,
  xRampart: propertyAccessXRampart,
  create(options) {
    const refuseReadOnly = options.readOnly === 'refuse';
    return {
      forRoute(route: RouteInfo) {
        const op = route.operation;
        let write = compileRules(jsonSchemaOf(op.requestBody?.content), 'request');
        if (write && !refuseReadOnly) write = dropReadOnly(write);
        const read = responseTrees(op);
        if (!write && !read) return undefined;
        // Violations are a handful per operation: their denials are built once, on first use.
        const denials = new Map<string, Denial>();
        const tree = write;
        return {
          ...(tree
            ? {
                onRequest: function propertyWrite(ctx: RequestContext): Denial | undefined {
                  const v = forbiddenWrite(ctx.json(), tree, mayAct, ctx);
                  if (!v) return undefined;
                  const k = v.reason + v.pointer;
                  let d = denials.get(k);
                  if (!d) denials.set(k, (d = violation(v.pointer, v.reason)));
                  return d;
                },
              }
            : {}),
          ...(read
            ? {
                needsResponseBody: true,
                onResponse: function propertyRead(ctx: RequestContext, res: ResponseContext): void {
                  if (res.local || res.body === undefined) return;
                  const status = String(res.status);
                  const t = read.get(status) ?? read.get(status[0] + 'XX') ?? read.get('DEFAULT');
                  if (!t) return;
                  let doc: unknown;
                  try {
                    doc = JSON.parse(res.body.toString('utf8'));
                  } catch {
                    return; // not JSON: nothing of the schema to restrict
                  }
                  if (stripInvisible(doc, t, mayAct, ctx) > 0) res.body = Buffer.from(JSON.stringify(doc));
                },
              }
            : {}),
        };
      },
    };
  },
});

export default propertyAccess;

/** `readOnly: allow`: keep only the writableBy rules. */
function dropReadOnly(node: RuleNode, seen = new Map<RuleNode, RuleNode>()): RuleNode | undefined {
  const done = seen.get(node);
  if (done) return done;
  const out: RuleNode = {};
  seen.set(node, out);
  if (node.writableBy) out.writableBy = node.writableBy;
  if (node.items) {
    const i = dropReadOnly(node.items, seen);
    if (i) out.items = i;
  }
  for (const [k, v] of node.properties ?? []) {
    const c = dropReadOnly(v, seen);
    if (c) (out.properties ??= new Map()).set(k, c);
  }
  return out.writableBy || out.items || out.properties ? out : undefined;
}
