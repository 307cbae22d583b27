/** API3 — object property level authorization: mass assignment and excessive exposure. */
import { isObj, openObjects, properties } from '../schema.ts';
import type { Rule } from '../types.ts';
import { isAdminLooking, isAuthFlow, isPiiName, isPrivilegeName, sensitiveKind } from '../words.ts';
import { bodySchemas, is2xx, isPublic, list, responseSchemas, roles, snippet } from './util.ts';

export const massAssignment: Rule = {
  id: 'audit/mass-assignment',
  title: 'Request body can set privileged properties',
  owasp: 'API3:2023',
  cwe: 915,
  severity: 'high',
  rationale:
    'When a body binds properties like role, isAdmin, balance or owner, a client grants itself privileges or money; a body open to undeclared properties lets it try any column the server binds.',
  fix: 'Mark privileged properties `readOnly: true` (or leave them out of request schemas) and close request bodies with `additionalProperties: false`.',
  policy: 'validate-request',
  related: ['mass-assignment'],
  operation(ctx) {
    const bodies = bodySchemas(ctx);
    if (!bodies.length) return undefined;
    const writable: string[] = [];
    const open: string[] = [];
    // Operations only admins may call set privileges by design (granting a role or a scope is
    // their purpose): no caller grants itself anything there. Open bodies still count.
    const r = roles(ctx.op);
    const adminOnly = r.length > 0 && r.every((x) => /admin/i.test(x));
    for (const b of bodies) {
      for (const p of properties(b.schema))
        if (!p.readOnly && !adminOnly && isPrivilegeName(p.name)) writable.push(p.path);
      for (const o of openObjects(b.schema)) open.push(o || '(root)');
    }
    // The resource the body writes to (same path's 2xx responses) tells what extra properties could reach.
    const resource = ctx.siblings
      .filter((s) => s.path === ctx.op.path)
      .flatMap((s) => responseSchemas({ ...ctx, op: s }, is2xx))
      .flatMap((r) => properties(r.schema))
      .filter((p) => isPrivilegeName(p.name))
      .map((p) => p.name);
    const at = bodies[0]!.at;
    if (writable.length)
      return {
        at,
        message: `The request body declares ${list([...new Set(writable)])} without \`readOnly: true\`.`,
        details: { writable: [...new Set(writable)], open: [...new Set(open)] },
      };
    if (!open.length) return undefined;
    const privileged = [...new Set(resource)];
    return {
      at,
      severity: privileged.length ? 'high' : 'low',
      message: privileged.length
        ? `The request body accepts undeclared properties (${list([...new Set(open)])}) and the resource has ${list(privileged)}.`
        : `The request body accepts undeclared properties (${list([...new Set(open)])}).`,
      details: { open: [...new Set(open)], resourcePrivileged: privileged },
      // validate-request refuses properties the schema does not declare (mass assignment).
      xRampart: snippet({ validate: { mode: 'enforce', undeclared: 'reject' } }),
    };
  },
};

/** A property typed boolean, integer or number only (no string member). */
function isFlagOrNumber(schema: Record<string, unknown>): boolean {
  const t = schema.type;
  const list = Array.isArray(t) ? t : typeof t === 'string' ? [t] : [];
  return (
    list.length > 0 && list.every((x) => x === 'boolean' || x === 'integer' || x === 'number' || x === 'null')
  );
}

/** A property with `x-rampart.visibleTo` naming only admin roles. */
function adminOnly(schema: unknown): boolean {
  const x = isObj(schema) ? schema['x-rampart'] : undefined;
  const roles = isObj(x) ? x.visibleTo : undefined;
  return (
    Array.isArray(roles) && roles.length > 0 && roles.every((r) => typeof r === 'string' && /admin/i.test(r))
  );
}

export const sensitiveResponse: Rule = {
  id: 'audit/sensitive-response-property',
  title: 'Response carries secrets or personal identifiers',
  owasp: 'API3:2023',
  cwe: 213,
  severity: 'high',
  rationale:
    'Password hashes, secrets, government ids and card numbers in a response are one compromised account (or one cache) away from a breach; on a public operation personal contact data is exposed to everyone.',
  fix: 'Build responses from an explicit view without secret fields; never serialise password hashes or tokens outside the authentication exchange; keep personal data off public operations.',
  policy: 'minimise-response',
  related: ['data-exposure'],
  operation(ctx) {
    const { op } = ctx;
    const admin = isAdminLooking(op) || (roles(op).length > 0 && roles(op).every((r) => /admin/i.test(r)));
    const found = new Map<string, string>();
    const pii: string[] = [];
    let at: string[] | undefined;
    for (const r of responseSchemas(ctx, is2xx)) {
      for (const p of properties(r.schema)) {
        // A flag (`totp: true`, "has a second factor") or a count cannot carry a secret.
        if (p.writeOnly || isFlagOrNumber(p.schema)) continue;
        // Only admins see it: the gateway's property-access strips it for everyone else.
        if (adminOnly(p.schema)) continue;
        const kind = sensitiveKind(p.name);
        // The token an auth flow hands out is its purpose, not a leak.
        if (kind === 'token' && isAuthFlow(op)) continue;
        if (kind && !found.has(p.path)) {
          found.set(p.path, kind);
          at ??= r.at;
        }
        if (isPiiName(p.name) && isPublic(op) && !isAuthFlow(op)) {
          pii.push(p.path);
          at ??= r.at;
        }
      }
    }
    const serious = [...found.entries()].filter(([, k]) => k !== 'token');
    if (admin && !pii.length && !serious.some(([, k]) => k === 'secret')) return undefined;
    if (!found.size && !pii.length) return undefined;
    const maskable = [
      ...new Set(
        [...found.values()].flatMap((k) =>
          k === 'card' ? ['card'] : k === 'token' ? ['token'] : k === 'government-id' ? ['national-id'] : [],
        ),
      ),
      ...(pii.length ? ['email', 'phone'] : []),
    ].filter((k, i, all) => all.indexOf(k) === i);
    const parts: string[] = [];
    if (found.size) parts.push(`${list([...found.keys()])} (${[...new Set(found.values())].join(', ')})`);
    if (pii.length)
      parts.push(`personal data ${list([...new Set(pii)])} on an operation that requires no authentication`);
    return {
      at: at!,
      severity: serious.length || (pii.length && found.size) ? 'high' : 'medium',
      message: `The ${op.method.toUpperCase()} ${op.path} response declares ${parts.join(', and ')}.`,
      details: { properties: Object.fromEntries(found), pii: [...new Set(pii)] },
      // minimise-response masks PII kinds; secrets and hashes have no mask: they leave the schema.
      ...(maskable.length ? { xRampart: snippet({ pii: { mask: maskable } }) } : {}),
    };
  },
};

export const openResponse: Rule = {
  id: 'audit/open-response',
  title: 'Response schema allows undeclared properties',
  owasp: 'API3:2023',
  cwe: 213,
  severity: 'low',
  rationale:
    'A response schema open to extra properties cannot catch a server that returns more than it should (excessive data exposure goes unnoticed by validation).',
  fix: 'Close success response objects with `additionalProperties: false` so responses can be validated and minimised against the contract.',
  policy: 'validate-response',
  related: ['data-exposure'],
  operation(ctx) {
    const rs = responseSchemas(ctx, is2xx);
    const open: string[] = [];
    let at: string[] | undefined;
    for (const r of rs)
      for (const o of openObjects(r.schema)) {
        open.push(o || '(root)');
        at ??= r.at;
      }
    if (!open.length) return undefined;
    return {
      at: at!,
      message: `Success responses leave ${list([...new Set(open)])} open to undeclared properties.`,
      details: { open: [...new Set(open)] },
    };
  },
};
