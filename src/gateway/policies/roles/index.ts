/**
 * The `roles` policy (priority 600): function-level authorization (BFLA, OWASP API5:2023,
 * ASVS 8.2.1). Per operation, from the contract:
 *
 * - `x-rampart.roles: [..]` — the caller needs one of them (a role hierarchy in rampart.yaml
 *   lets `admin` inherit `doctor`);
 * - the operation's OpenAPI `security` requirement — OAuth scopes (oauth2 / openIdConnect
 *   schemes) checked against the token's `scope`/`scp`, role names for other schemes
 *   (OpenAPI 3.1);
 * - secure by default (`undeclared: deny`): an operation that declares neither roles nor
 *   `public` is refused.
 *
 * Everything is compiled per operation in `forRoute`; a request costs a WeakMap lookup and
 * a few `Set.has`. Denials are 403 problem+json (401 without a principal) whose `denied`
 * event carries `API5:2023`. The caller's effective roles (hierarchy applied) are left in
 * `ctx.state.roles` for `owner` and `property-access`. See docs/policies/roles.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Principal } from '../../../core/auth.ts';
import { problem } from '../../../core/errors.ts';
import {
  definePolicy,
  type Denial,
  type RequestContext,
  type RouteHooks,
  type RouteInfo,
} from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import {
  compileAlternatives,
  holdsAny,
  RoleHierarchy,
  securityAlternatives,
  securityMet,
  tokenScopes,
} from './hierarchy.ts';
import { rolesXRampart } from './x-rampart.ts';

export const ROLES_OWASP = 'API5:2023';

const ROLE_NAME = Type.String({ minLength: 1, pattern: '^[^\\s,]+$' });

export const rolesSchema = Type.Object(
  {
    hierarchy: Type.Record(ROLE_NAME, Type.Array(ROLE_NAME, { uniqueItems: true }), {
      description:
        'The roles of this deployment and what each inherits: { admin: [doctor], doctor: [], patient: [] } — an admin may call what a doctor may. When set, every role named in x-rampart must be one of these (rampart check refuses unknown ones).',
      default: {},
    }),
    undeclared: Type.Union([Type.Literal('allow'), Type.Literal('deny')], {
      description:
        'Operations that declare neither x-rampart.roles nor public (x-rampart.public: true, x-rampart.auth: public, or an operation-level security: []): allow, or deny with 403 (secure by default).',
      default: 'allow',
    }),
    scopes: Type.Union([Type.Literal('contract'), Type.Literal('off')], {
      description:
        "contract: an operation's OpenAPI security requirement is enforced — oauth2/openIdConnect scopes against the token's scope/scp claim, role names of other schemes against the caller's roles. off: not checked.",
      default: 'contract',
    }),
    maxRoles: Type.Integer({
      minimum: 1,
      maximum: 10000,
      description:
        'A principal carrying more roles (or scopes) than this is refused with 403: a token with a huge role list is an attack or a misconfiguration, and bounding it keeps every check O(1).',
      default: 256,
    }),
  },
  {
    additionalProperties: false,
    description: 'Function-level authorization: roles, scopes, secure by default.',
  },
);

export type RolesOptions = Static<typeof rolesSchema>;

/** What `roles` leaves for later policies: the caller's roles with the hierarchy applied. */
export interface RolesState {
  effective: ReadonlySet<string>;
}

declare module '../../policy.ts' {
  interface PolicyState {
    roles: RolesState;
  }
}

const forbidden = (detail: string): Denial => ({
  problem: problem('forbidden', { detail }),
  owasp: ROLES_OWASP,
});

const DENY_UNDECLARED = forbidden(
  'This operation declares no roles and the gateway denies undeclared operations',
);
const DENY_ROLE = forbidden('Your role does not allow this operation');
const DENY_SCOPE = forbidden('The access token lacks a scope this operation requires');
const DENY_TOO_MANY = forbidden('The credentials carry too many roles or scopes');
const DENY_ANONYMOUS: Denial = {
  problem: problem('unauthenticated', { detail: 'This operation requires a role; sign in first' }),
  headers: { 'www-authenticate': 'Bearer realm="rampart"' },
  owasp: ROLES_OWASP,
};

/** True when the operation says it is open to everyone. */
function declaredPublic(route: RouteInfo): boolean {
  if (route.rampart.public === true || route.rampart.auth === 'public') return true;
  const own = route.operation.raw?.security;
  return Array.isArray(own) && own.length === 0;
}

export const roles = definePolicy({
  name: 'roles',
  priority: PRIORITIES.roles,
  schema: rolesSchema,
  xRampart: rolesXRampart,
  create(options) {
    const hierarchy = new RoleHierarchy(options.hierarchy);
    const denyUndeclared = options.undeclared === 'deny';
    const checkScopes = options.scopes === 'contract';
    const maxRoles = options.maxRoles;
    /** Per principal (frozen, shared by every request with the same token): effective roles, computed once. */
    const states = new WeakMap<Principal, RolesState | null>();

    function stateOf(p: Principal): RolesState | null {
      let s = states.get(p);
      // Stryker disable next-line ConditionalExpression: the WeakMap is a cache; recomputing every time gives the same state
      if (s === undefined) {
        if (p.roles.length > maxRoles) s = null;
        else {
          const effective = new Set<string>();
          for (const r of p.roles) for (const i of hierarchy.impliedBy(r)) effective.add(i);
          s = { effective };
        }
        states.set(p, s);
      }
      return s;
    }

    return {
      forRoute(route: RouteInfo): RouteHooks {
        const required = Array.isArray(route.rampart.roles) ? (route.rampart.roles as string[]) : undefined;
        const unknown = required ? hierarchy.unknown(required) : [];
        if (unknown.length > 0)
          throw new Error(
            `roles: ${route.operation.method.toUpperCase()} ${route.base}${route.template} names role '${unknown[0]}', which policies.roles.hierarchy does not declare`,
          );
        const grantors = required ? hierarchy.grantors(required) : undefined;
        const open = declaredPublic(route);
        const undeclared = denyUndeclared && !required && !open;
        const alternatives = checkScopes
          ? securityAlternatives(route.operation.security, route.document.securitySchemes)
          : undefined;
        const compiled = alternatives ? compileAlternatives(alternatives, hierarchy) : undefined;

        return {
          onRequest: function rolesRequest(ctx: RequestContext): Denial | undefined {
            if (undeclared) return DENY_UNDECLARED;
            const p = ctx.principal;
            if (p === undefined) return grantors || compiled ? DENY_ANONYMOUS : undefined;
            const state = stateOf(p);
            if (state === null) return DENY_TOO_MANY;
            ctx.state.roles = state;
            if (grantors && !holdsAny(p.roles, grantors)) return DENY_ROLE;
            if (compiled && p.kind === 'user') {
              const scopes = tokenScopes(p.claims, maxRoles + 1);
              if (scopes.size > maxRoles) return DENY_TOO_MANY;
              if (!securityMet(compiled, scopes, p.roles)) return DENY_SCOPE;
            }
            return undefined;
          },
        };
      },
    };
  },
});

export default roles;

/**
 * The caller's effective roles for later policies: what `roles` computed (hierarchy
 * applied), else the principal's own roles (roles policy off).
 */
export function hasAnyRole(ctx: RequestContext, wanted: readonly string[]): boolean {
  const p = ctx.principal;
  if (p === undefined) return false;
  const effective = ctx.state.roles?.effective;
  if (effective) {
    for (const r of wanted) if (effective.has(r)) return true;
    return false;
  }
  for (const r of wanted) if (p.roles.includes(r)) return true;
  return false;
}
