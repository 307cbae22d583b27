/** API1 and API5 — object- and function-level authorization. */
import type { OpenApiOperation } from '../../core/openapi.ts';
import { isObj, properties } from '../schema.ts';
import type { Rule } from '../types.ts';
import { isAdminLooking, isObjectIdParam } from '../words.ts';
import { hasOwner, is2xx, isPublic, responseSchemas, roles, scopes, snippet } from './util.ts';

const OWNER_FIELD = /^(owner|user|customer|account|author|patient|member|tenant|created_?by|client)(_?id)?$/i;

/** A path-id parameter is a sequential integer (not a UUID or an opaque string). */
function isSequential(op: OpenApiOperation, name: string): boolean {
  const p = op.parameters.find((x) => x.in === 'path' && x.name === name);
  const s = isObj(p?.schema) ? p!.schema : {};
  const t = (s as Record<string, unknown>).type;
  return (
    t === 'integer' ||
    (Array.isArray(t) && t.includes('integer')) ||
    (s as Record<string, unknown>).format === 'int64'
  );
}

export const objectIdWithoutOwner: Rule = {
  id: 'audit/object-id-without-owner',
  title: 'Object id in the path with no ownership rule',
  owasp: 'API1:2023',
  cwe: 639,
  severity: 'high',
  rationale:
    "Whoever can call the operation can try other ids; unless each request is checked against the object's owner, one user reads or changes another's data. Sequential integer ids make every object one loop away.",
  fix: "Check that the caller owns (or may access) the object before serving it — in the API, or at the gateway with an x-rampart owner rule — and answer 404 for objects that are not the caller's.",
  policy: 'owner',
  related: ['bola-identity-swap'],
  operation(ctx) {
    const { op, siblings } = ctx;
    const ids = op.parameters.filter((p) => p.in === 'path' && isObjectIdParam(p.name)).map((p) => p.name);
    if (!ids.length || hasOwner(op)) return undefined;
    // Operations only admins may call see every object by design.
    const r = roles(op);
    if (r.length && r.every((x) => /admin/i.test(x))) return undefined;
    if (isAdminLooking(op) && (r.length || scopes(op).length)) return undefined;
    const sequential = ids.filter((n) => isSequential(op, n));
    // The read that fetches the object: GET on the path up to the last id (`/invoices/{invoiceId}`).
    const last = ids[ids.length - 1]!;
    const objectPath = op.path.slice(0, op.path.indexOf(`{${last}}`) + last.length + 2);
    const read = siblings.find((s) => s.method === 'get' && s.path === objectPath);
    let field = 'ownerId';
    if (read) {
      const resp = responseSchemas({ ...ctx, op: read }, is2xx)[0];
      const candidate =
        resp && properties(resp.schema).find((p) => !p.path.includes('.') && OWNER_FIELD.test(p.name));
      if (candidate) field = candidate.name;
    }
    return {
      severity: sequential.length ? 'high' : 'medium',
      confidence: 'tentative',
      message: `${op.method.toUpperCase()} ${op.path} takes ${ids.map((n) => `{${n}}`).join(', ')}${sequential.length ? ' (a sequential integer)' : ''} and declares no owner rule${isPublic(op) ? ', and requires no authentication' : ''}.`,
      details: { parameters: ids, sequential: sequential.length > 0 },
      xRampart: snippet({
        owner: { lookup: `GET ${objectPath}`, field, claim: 'sub', bypassRoles: ['admin'] },
      }),
    };
  },
};

export const adminWithoutRole: Rule = {
  id: 'audit/admin-without-role',
  title: 'Administrative operation open to every authenticated user',
  owasp: 'API5:2023',
  cwe: 285,
  severity: 'high',
  rationale:
    'An admin-looking operation whose security requirement names no scope and that declares no role is callable by any signed-in user: broken function-level authorization.',
  fix: 'Require an admin role or scope for it — in the API, in the security requirement (OAuth scopes), or at the gateway with x-rampart roles.',
  policy: 'roles',
  related: ['bfla-role-swap'],
  operation({ op }) {
    if (!isAdminLooking(op) || isPublic(op)) return undefined;
    if (roles(op).length || scopes(op).length) return undefined;
    return {
      message: `${op.method.toUpperCase()} ${op.path} looks administrative, requires only authentication, and declares no role or scope.`,
      xRampart: snippet({ roles: ['admin'] }),
    };
  },
};
