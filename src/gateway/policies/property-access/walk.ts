/**
 * Who may write and who may see which property (BOPLA, OWASP API3:2023), from the schemas
 * of the OpenAPI document: `readOnly` and `x-rampart.writableBy: [roles]` on request-body
 * properties, `x-rampart.visibleTo: [roles]` on response properties. The schema is walked
 * once per operation into a small tree of the properties that carry a rule; a request walks
 * that tree over its JSON (never the whole schema, never the whole body).
 */
import type { JsonSchema } from '../../../core/openapi.ts';

/** One node of the compiled tree: the rule at this property, and the rules below it. */
export interface RuleNode {
  /** `readOnly: true` (request bodies): never accepted from a client, unless `writableBy` grants it. */
  readOnly?: boolean;
  /** Only these roles may send this property. */
  writableBy?: readonly string[];
  /** Only these roles see this property in responses. */
  visibleTo?: readonly string[];
  /** Named properties below. */
  properties?: Map<string, RuleNode>;
  /** Array items below. */
  items?: RuleNode;
}

const MAX_DEPTH = 32;

/**
 * Compiles the property rules of a (resolved) schema. `allOf`/`anyOf`/`oneOf` branches are
 * merged (a property restricted in any branch is restricted); `$ref` cycles stop at the
 * first repetition on a path. Returns undefined when no property carries a rule.
 * @example
 * compileRules({ type: 'object', properties: { role: { type: 'string', readOnly: true } } }, 'request')
 * // { properties: Map { 'role' => { readOnly: true } } }
 */
export function compileRules(
  schema: JsonSchema | undefined,
  mode: 'request' | 'response',
): RuleNode | undefined {
  const root = walk(schema, mode, new Map(), new Set(), 0);
  return root && !isEmpty(root) ? root : undefined;
}

/**
 * One node per schema object (memoised), filled in place, so a recursive schema (`$ref`
 * cycles resolved into shared objects) becomes a cyclic tree: nested copies of a restricted
 * property are restricted too.
 */
function walk(
  schema: unknown,
  mode: 'request' | 'response',
  memo: Map<object, RuleNode>,
  building: Set<object>,
  depth: number,
): RuleNode | undefined {
  if (schema === null || typeof schema !== 'object' || depth > MAX_DEPTH) return undefined;
  const known = memo.get(schema);
  if (known) return known;
  const node: RuleNode = {};
  memo.set(schema, node);
  building.add(schema);
  const s = schema as Record<string, unknown>;
  const props = s.properties;
  if (props && typeof props === 'object') {
    for (const [name, sub] of Object.entries(props as Record<string, unknown>)) {
      const child = propertyNode(sub, mode, memo, building, depth + 1);
      if (child) (node.properties ??= new Map()).set(name, child);
    }
  }
  if (s.items && typeof s.items === 'object') {
    const child = walk(s.items, mode, memo, building, depth + 1);
    if (child && (building.has(s.items) || !isEmpty(child))) node.items = child;
  }
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[k];
    if (Array.isArray(list))
      for (const branch of list) {
        const b = walk(branch, mode, memo, building, depth + 1);
        if (b && b !== node) mergeInto(node, b);
      }
  }
  building.delete(schema);
  return node;
}

function propertyNode(
  sub: unknown,
  mode: 'request' | 'response',
  memo: Map<object, RuleNode>,
  building: Set<object>,
  depth: number,
): RuleNode | undefined {
  if (sub === null || typeof sub !== 'object') return undefined;
  const s = sub as Record<string, unknown>;
  const x = (s['x-rampart'] ?? {}) as Record<string, unknown>;
  const own: RuleNode = {};
  if (mode === 'request') {
    if (s.readOnly === true) own.readOnly = true;
    if (isRoleList(x.writableBy)) own.writableBy = x.writableBy;
  } else if (isRoleList(x.visibleTo)) {
    own.visibleTo = x.visibleTo;
  }
  const cyclic = building.has(sub);
  const below = walk(sub, mode, memo, building, depth);
  if (isEmpty(own)) return below && (cyclic || !isEmpty(below)) ? below : undefined;
  // The property's own rule sits beside what its schema contains (shared with other uses of it).
  if (below) {
    if (below.properties) own.properties = below.properties;
    if (below.items) own.items = below.items;
  }
  return own;
}

const isRoleList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((r) => typeof r === 'string' && r !== '');

function isEmpty(n: RuleNode): boolean {
  return !n.readOnly && !n.writableBy && !n.visibleTo && !n.items && !(n.properties && n.properties.size > 0);
}

/** Copies `b`'s rules into `a` (a property restricted in any branch is restricted). */
function mergeInto(a: RuleNode, b: RuleNode): void {
  if (b.readOnly) a.readOnly = true;
  if (b.writableBy) a.writableBy = [...new Set([...(a.writableBy ?? []), ...b.writableBy])];
  if (b.visibleTo) a.visibleTo = [...new Set([...(a.visibleTo ?? []), ...b.visibleTo])];
  if (b.items) {
    if (!a.items) a.items = b.items;
    else if (a.items !== b.items) mergeInto(a.items, b.items);
  }
  if (b.properties) {
    a.properties ??= new Map();
    for (const [k, v] of b.properties) {
      const mine = a.properties.get(k);
      if (!mine) a.properties.set(k, v);
      else if (mine !== v) mergeInto(mine, v);
    }
  }
}

/** Every role name a compiled tree mentions (for `rampart check`'s unknown-role rule). */
export function rolesIn(
  node: RuleNode | undefined,
  out = new Set<string>(),
  seen = new Set<RuleNode>(),
): Set<string> {
  if (!node || seen.has(node)) return out;
  seen.add(node);
  for (const r of node.writableBy ?? []) out.add(r);
  for (const r of node.visibleTo ?? []) out.add(r);
  if (node.items) rolesIn(node.items, out, seen);
  for (const child of node.properties?.values() ?? []) rolesIn(child, out, seen);
  return out;
}

/** A property a request may not send: its JSON pointer and why. */
export interface WriteViolation {
  pointer: string;
  reason: 'read-only' | 'role';
}

/**
 * The first property of `body` the caller may not send, or undefined. `mayWrite(roles)`
 * says whether the caller holds one of the roles (the policy passes its hierarchy-aware
 * check). A `readOnly` property with `writableBy` is writable by those roles only.
 */
export function forbiddenWrite<C>(
  body: unknown,
  node: RuleNode,
  mayWrite: (roles: readonly string[], caller: C) => boolean,
  caller: C,
  pointer = '',
): WriteViolation | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  if (Array.isArray(body)) {
    if (!node.items) return undefined;
    for (let i = 0; i < body.length; i++) {
      const v = forbiddenWrite(body[i], node.items, mayWrite, caller, `${pointer}/${i}`);
      if (v) return v;
    }
    return undefined;
  }
  if (!node.properties) return undefined;
  const rec = body as Record<string, unknown>;
  for (const [name, child] of node.properties) {
    if (!Object.hasOwn(rec, name)) continue;
    const at = `${pointer}/${escape(name)}`;
    if (child.writableBy) {
      if (!mayWrite(child.writableBy, caller)) return { pointer: at, reason: 'role' };
    } else if (child.readOnly) return { pointer: at, reason: 'read-only' };
    const v = forbiddenWrite(rec[name], child, mayWrite, caller, at);
    if (v) return v;
  }
  return undefined;
}

/**
 * Removes from `body` (in place) every property the caller may not see; returns how many
 * were removed. `maySee(roles)` says whether the caller holds one of the roles.
 */
export function stripInvisible<C>(
  body: unknown,
  node: RuleNode,
  maySee: (roles: readonly string[], caller: C) => boolean,
  caller: C,
): number {
  if (body === null || typeof body !== 'object') return 0;
  let removed = 0;
  if (Array.isArray(body)) {
    if (node.items) for (const item of body) removed += stripInvisible(item, node.items, maySee, caller);
    return removed;
  }
  if (!node.properties) return 0;
  const rec = body as Record<string, unknown>;
  for (const [name, child] of node.properties) {
    if (!Object.hasOwn(rec, name)) continue;
    if (child.visibleTo && !maySee(child.visibleTo, caller)) {
      delete rec[name];
      removed++;
      continue;
    }
    removed += stripInvisible(rec[name], child, maySee, caller);
  }
  return removed;
}

/** RFC 6901 escaping of one pointer segment. */
function escape(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
