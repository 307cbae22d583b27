/**
 * `rampart check`'s role rule: when rampart.yaml declares the roles
 * (`policies.roles.hierarchy`), every role an OpenAPI document names — `x-rampart.roles`,
 * `owner.bypassRoles`, `writableBy`/`visibleTo` on schema properties — must be one of them.
 * A misspelt role would otherwise deny everyone (or, in a bypass list, nobody).
 */
import type { OpenApiDocument } from '../../../core/openapi.ts';
import { compileRules, rolesIn } from '../property-access/walk.ts';
import { RoleHierarchy, type HierarchyConfig } from './hierarchy.ts';

export interface RoleProblem {
  /** JSON pointer in the document. */
  pointer: string;
  message: string;
}

export function unknownRoleProblems(document: OpenApiDocument, config: HierarchyConfig): RoleProblem[] {
  const h = new RoleHierarchy(config);
  // Stryker disable next-line ConditionalExpression: a fast path — with no declared roles h.unknown() answers [] for every list
  if (h.declared.size === 0) return [];
  const known = [...h.declared].join(', ');
  const out: RoleProblem[] = [];
  const seen = new Set<string>();
  const report = (pointer: string, role: string, where: string): void => {
    const key = pointer + '\0' + role;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({
      pointer,
      message: `${where} names role '${role}', which policies.roles.hierarchy does not declare (${known})`,
    });
  };
  for (const op of document.operations) {
    const at = op.pointer ?? `/paths/${op.path.replace(/~/g, '~0').replace(/\//g, '~1')}/${op.method}`;
    const roles = op.rampart.roles;
    if (Array.isArray(roles))
      for (const r of h.unknown(roles as string[])) report(`${at}/x-rampart/roles`, r, 'x-rampart.roles');
    const bypass = (op.rampart.owner as { bypassRoles?: unknown } | undefined)?.bypassRoles;
    if (Array.isArray(bypass))
      for (const r of h.unknown(bypass as string[]))
        report(`${at}/x-rampart/owner/bypassRoles`, r, 'owner.bypassRoles');
    const schemas = [
      ...Object.values(op.requestBody?.content ?? {}).map((m) => [m.schema, 'request'] as const),
      ...Object.values(op.responses).flatMap((r) =>
        Object.values(r.content ?? {}).map((m) => [m.schema, 'response'] as const),
      ),
    ];
    for (const [schema, mode] of schemas)
      for (const r of h.unknown(rolesIn(compileRules(schema, mode))))
        report(
          at,
          r,
          mode === 'request'
            ? 'x-rampart.writableBy in the request schema'
            : 'x-rampart.visibleTo in a response schema',
        );
  }
  return out;
}
