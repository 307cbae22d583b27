/**
 * Role hierarchy and OAuth scopes: the pure decision logic of the `roles` policy (BFLA,
 * OWASP API5:2023). Everything here is computed when the runtime is built; a request costs
 * a few `Set.has` calls.
 */

/** `policies.roles.hierarchy` in rampart.yaml: role → the roles it inherits. */
export type HierarchyConfig = Readonly<Record<string, readonly string[]>>;

/**
 * A role hierarchy: `admin: [doctor]` means an admin may do whatever a doctor may.
 * Inheritance is transitive; cycles and unknown parents are configuration errors.
 * @example
 * const h = new RoleHierarchy({ admin: ['doctor'], doctor: ['staff'], staff: [] });
 * h.grantors(['staff']) // Set { 'staff', 'doctor', 'admin' }
 */
export class RoleHierarchy {
  /** Roles the configuration declares (empty: none declared, any role name is accepted). */
  readonly declared: ReadonlySet<string>;
  private readonly implied = new Map<string, ReadonlySet<string>>();

  constructor(config: HierarchyConfig = {}) {
    this.declared = new Set(Object.keys(config));
    for (const [role, parents] of Object.entries(config)) {
      for (const p of parents)
        if (!this.declared.has(p))
          throw new Error(`roles: '${role}' inherits '${p}', which is not a declared role`);
    }
    for (const role of this.declared) this.implied.set(role, this.close(role, config, []));
  }

  private close(role: string, config: HierarchyConfig, stack: string[]): ReadonlySet<string> {
    if (stack.includes(role))
      throw new Error(`roles: the hierarchy has a cycle: ${[...stack, role].join(' → ')}`);
    const out = new Set<string>([role]);
    // Stryker disable next-line ArrayDeclaration: close() only sees declared roles (config keys), so the ?? fallback never runs
    for (const p of config[role] ?? []) for (const r of this.close(p, config, [...stack, role])) out.add(r);
    return out;
  }

  /** The roles someone holding `role` has: itself and everything it inherits. */
  impliedBy(role: string): ReadonlySet<string> {
    return this.implied.get(role) ?? new Set([role]);
  }

  /** Every role that grants at least one of `required`: each of them and every role inheriting one. */
  grantors(required: Iterable<string>): ReadonlySet<string> {
    const want = new Set(required);
    const out = new Set(want);
    for (const [role, implied] of this.implied) for (const w of want) if (implied.has(w)) out.add(role);
    return out;
  }

  /** Names in `roles` that are not declared (only when roles are declared). */
  unknown(roles: Iterable<string>): string[] {
    if (this.declared.size === 0) return [];
    return [...roles].filter((r) => !this.declared.has(r));
  }
}

/** True when one of `held` is in `accepted` (no allocation). */
export function holdsAny(held: readonly string[], accepted: ReadonlySet<string>): boolean {
  // Stryker disable next-line EqualityOperator: i <= length reads held[length], undefined, which no Set of role names has
  for (let i = 0; i < held.length; i++) if (accepted.has(held[i]!)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// OAuth scopes (RFC 6749 §3.3, RFC 9068 §2.2.3 `scope`; `scp` as Azure AD and Okta send it)

const NO_SCOPES: ReadonlySet<string> = new Set();
const scopeCache = new WeakMap<object, ReadonlySet<string>>();

/**
 * The token's scopes: `scope` (space-separated, RFC 9068) or `scp` (array or string).
 * Cached per claims object (principals are frozen and shared by every request with the
 * same token), so a request pays a WeakMap lookup.
 */
export function tokenScopes(claims: Readonly<Record<string, unknown>>, max = 256): ReadonlySet<string> {
  const hit = scopeCache.get(claims);
  if (hit) return hit;
  const out = new Set<string>();
  const add = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const s of v.split(' ')) if (s !== '' && out.size < max) out.add(s);
    } else if (Array.isArray(v)) {
      for (const s of v) if (typeof s === 'string' && s !== '' && out.size < max) out.add(s);
    }
  };
  add(claims.scope);
  add(claims.scp);
  // Stryker disable next-line ConditionalExpression: NO_SCOPES only shares one empty set; an empty `out` behaves the same
  const r = out.size === 0 ? NO_SCOPES : out;
  scopeCache.set(claims, r);
  return r;
}

/**
 * What one operation's OpenAPI `security` asks beyond "authenticated": one entry per
 * alternative (OR); in each, the scopes (oauth2 / openIdConnect schemes) and the role names
 * (other schemes, OpenAPI 3.1 §4.8.30: "the array MAY contain a list of role names") that
 * are all required (AND). `undefined` when no alternative asks for any, or one asks for
 * nothing (then the others cannot make it stricter).
 */
export interface SecurityAlternative {
  scopes: readonly string[];
  roles: readonly string[];
}

export function securityAlternatives(
  security: ReadonlyArray<Record<string, readonly string[]>>,
  schemes: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): SecurityAlternative[] | undefined {
  if (security.length === 0) return undefined;
  const out: SecurityAlternative[] = [];
  for (const requirement of security) {
    const scopes: string[] = [];
    const roles: string[] = [];
    for (const [scheme, list] of Object.entries(requirement)) {
      const type = schemes[scheme]?.type;
      if (type === 'oauth2' || type === 'openIdConnect') scopes.push(...list);
      else roles.push(...list);
    }
    if (scopes.length === 0 && roles.length === 0) return undefined;
    out.push({ scopes, roles });
  }
  return out;
}

/** A security alternative compiled against the hierarchy: each required role as the set of roles granting it. */
export interface CompiledAlternative {
  scopes: readonly string[];
  roleGrantors: ReadonlyArray<ReadonlySet<string>>;
}

export function compileAlternatives(
  alternatives: readonly SecurityAlternative[],
  hierarchy: RoleHierarchy,
): CompiledAlternative[] {
  return alternatives.map((a) => ({
    scopes: a.scopes,
    roleGrantors: a.roles.map((r) => hierarchy.grantors([r])),
  }));
}

/** True when one alternative is met: every scope among the token's, every role held (with inheritance). */
export function securityMet(
  alternatives: readonly CompiledAlternative[],
  scopes: ReadonlySet<string>,
  held: readonly string[],
): boolean {
  outer: for (const alt of alternatives) {
    for (const s of alt.scopes) if (!scopes.has(s)) continue outer;
    for (const g of alt.roleGrantors) if (!holdsAny(held, g)) continue outer;
    return true;
  }
  return false;
}
