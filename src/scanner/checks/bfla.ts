import type { Check } from '../context.ts';

import { looksAdmin } from '../runner.ts';
import { fix, ok, status, who, OWASP } from './util.ts';

const DESTRUCTIVE = new Set(['DELETE', 'PUT', 'PATCH']);

/**
 * Function-level authorization: every non-admin identity calls the operations whose
 * declared `x-rampart roles` exclude the identity's role, and — where no roles are declared
 * or the identity has none — the operations that look administrative (admin path segment
 * or tag, roles of admin roles only). A 2xx is a finding; when an admin
 * identity exists it must succeed too (control), so a broken operation is not reported.
 */
export const bfla: Check = {
  id: 'bfla-role-swap',
  title: 'Broken function level authorization',
  owasp: 'API5:2023',
  cwe: 285,
  severity: 'high',
  applicable: (ctx) => (ctx.users.length === 0 ? 'needs a non-admin identity' : undefined),
  async *run(ctx) {
    for (const sop of ctx.ops.filter((s) => s.secured)) {
      const roles = Array.isArray(sop.op.rampart.roles) ? (sop.op.rampart.roles as string[]) : undefined;
      // Declared roles are the contract: an identity whose role they name may call the
      // operation however administrative it looks (a `viewer` reading an admin API).
      const targets = ctx.users.filter((u) =>
        roles !== undefined && u.role !== undefined ? !roles.includes(u.role) : looksAdmin(sop),
      );
      if (targets.length === 0) continue;
      if (DESTRUCTIVE.has(sop.method) && sop.path.includes('{') && !ctx.unsafe) {
        ctx.note(
          `${sop.key}: function-level check not sent (destructive method on objects the scan did not create; use --unsafe)`,
        );
        continue;
      }
      const user = targets[0]!;
      let x = await ctx.call(sop, { identity: user });
      // A conflict usually means a value reused from the pool (a code the crawl created): retry with fresh values.
      if (status(x) === 409 && sop.op.requestBody)
        x = await ctx.call(sop, { identity: user, body: ctx.sampleBody(sop, { fresh: true }) });
      if (!ok(x)) continue;
      const admin = ctx.admins[0];
      const control = admin && sop.method === 'GET' ? await ctx.call(sop, { identity: admin }) : undefined;
      if (control && !ok(control)) continue;
      yield {
        operation: sop.key,
        title: `A ${user.role ?? 'non-admin'} identity may call ${sop.key}`,
        description: `${sop.key} is ${roles ? `restricted to ${roles.join(', ')}` : 'an administrative operation'}, yet ${user.name}${user.role ? ` (${user.role})` : ''} got ${status(x)}.`,
        exchanges: [
          { x, note: `${who(user)}: ${status(x)}` },
          ...(control ? [{ x: control, note: `${who(admin)}: ${status(control)} (control)` }] : []),
        ],
        confidence: control ? 'confirmed' : 'firm',
        severity: sop.method === 'GET' ? 'high' : 'critical',
        remediation: fix(
          "Check the caller's role on the server for every administrative operation (deny by default), not only in the client.",
          'roles',
          `x-rampart:\n  roles: [${roles?.filter((r) => /admin|staff|operator|root|super/i.test(r)).join(', ') || 'admin'}]`,
          [OWASP + '0xa5-broken-function-level-authorization/'],
        ),
      };
    }
  },
};

/**
 * Operations that declare security are called without any credentials (safe methods
 * only). A 2xx means the declared authentication is not enforced; on a deprecated
 * operation it is filed under improper inventory (a forgotten version).
 */
export const unauthenticated: Check = {
  id: 'auth-missing',
  title: 'Declared authentication not enforced',
  owasp: 'API2:2023',
  cwe: 306,
  severity: 'high',
  applicable: (ctx) =>
    ctx.ops.some((s) => s.secured && s.method === 'GET')
      ? undefined
      : 'no secured GET operation in the documents',
  async *run(ctx) {
    for (const sop of ctx.ops.filter((s) => s.secured && (s.method === 'GET' || s.method === 'HEAD'))) {
      const x = await ctx.call(sop, {});
      if (!ok(x)) continue;
      const deprecated = sop.op.deprecated;
      yield {
        operation: sop.key,
        title: deprecated
          ? `Deprecated ${sop.key} still answers, without authentication`
          : `${sop.key} answers without credentials`,
        description: `The document requires ${Object.keys(sop.op.security[0] ?? {}).join(' or ') || 'authentication'} for ${sop.key}, but a request with no credentials got ${status(x)}.${deprecated ? ' The operation is deprecated: an old version left running without the protections of the current one.' : ''}`,
        exchanges: [{ x, note: `${who()}: ${status(x)}` }],
        confidence: 'confirmed',
        ...(deprecated ? { owasp: 'API9:2023' as const } : {}),
        remediation: fix(
          deprecated
            ? 'Retire the old version, or route it through the same authentication and authorization as the current one and announce its sunset.'
            : 'Enforce authentication on every operation that declares security; deny by default.',
          deprecated ? 'versions' : 'authenticate',
          deprecated
            ? "x-rampart:\n  deprecated: 'YYYY-MM-DD'\n  sunset: 'YYYY-MM-DD'\n  successor: /v2"
            : undefined,
          [OWASP + (deprecated ? '0xa9-improper-inventory-management/' : '0xa2-broken-authentication/')],
        ),
      };
    }
  },
};
