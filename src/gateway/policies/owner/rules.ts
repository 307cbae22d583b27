/**
 * The pure decision logic of the `owner` policy (BOLA, OWASP API1:2023): which value of
 * the request or of the object names its owner, which claim names the caller, and whether
 * they match. Compiled once per operation; a request compares strings.
 */
import type { Principal } from '../../../core/auth.ts';
import type { JsonSchema } from '../../../core/openapi.ts';

/** Reads a claim of the principal: `sub` is the principal's id (after authenticate's claim mapping). */
export function claimValue(principal: Principal, claim: string): string | undefined {
  const v = claim === 'sub' ? principal.id : dotted(principal.claims, claim);
  return scalar(v);
}

/** A string or finite number as a string (owner ids are compared as strings: 7 equals "7"). */
export function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (Number.isFinite(v)) return String(v); // a finite number (no coercion: isFinite('7') is false)
  return undefined;
}

/** The value at a dot-separated path (`owner.id`) of a JSON value; own properties only. */
export function dotted(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  let i = 0;
  while (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
    const dot = path.indexOf('.', i);
    const key = dot === -1 ? path.slice(i) : path.slice(i, dot);
    const rec = cur as Record<string, unknown>;
    if (!Object.hasOwn(rec, key)) return undefined;
    cur = rec[key];
    if (dot === -1) return cur;
    i = dot + 1;
  }
  return undefined;
}

/**
 * The owner values of an object: each field's value (a scalar, or an array of scalars for
 * co-owned objects), nulls skipped. `undefined` when no field is present at all — the object
 * does not say who owns it, which fails closed.
 */
export function ownersOf(obj: unknown, fields: readonly string[]): string[] | undefined {
  let out: string[] | undefined;
  let present = false;
  for (const f of fields) {
    const v = dotted(obj, f);
    if (v === undefined) continue;
    present = true;
    if (Array.isArray(v)) {
      for (const x of v) {
        const s = scalar(x);
        if (s !== undefined) (out ??= []).push(s);
      }
    } else {
      const s = scalar(v);
      if (s !== undefined) (out ??= []).push(s);
    }
  }
  return present ? (out ?? []) : undefined;
}

/** True when `caller` is one of `owners`. */
export function isOwner(owners: readonly string[], caller: string): boolean {
  return owners.includes(caller);
}

/**
 * List endpoints: keeps only the items the caller owns (`filter`), or reports whether any
 * item is not the caller's (`refuse`). Items without an owner field count as not owned.
 * Returns the kept items and how many were removed.
 */
export function filterOwned(
  items: readonly unknown[],
  fields: readonly string[],
  caller: string,
): { kept: unknown[]; removed: number } {
  const kept: unknown[] = [];
  for (const item of items) {
    const owners = ownersOf(item, fields);
    if (owners !== undefined && isOwner(owners, caller)) kept.push(item);
  }
  return { kept, removed: items.length - kept.length };
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * A checker for path values against a parameter schema's `type` / `enum` / `pattern` /
 * `maxLength` (the parts that decide whether a lookup makes sense), compiled once per
 * operation. The checker returns why a value does not match, or undefined. Full validation
 * is `validate-request`'s job; this keeps junk out of ownership lookups.
 */
export function paramChecker(
  schema: JsonSchema | undefined,
): ((value: string) => string | undefined) | undefined {
  if (typeof schema !== 'object') return undefined; // none, or a boolean schema
  const types = Array.isArray(schema.type) ? (schema.type as unknown[]) : [schema.type];
  const integer = types.includes('integer') && !types.includes('string');
  const number = types.includes('number') && !types.includes('string');
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  const allowed = Array.isArray(schema.enum) ? new Set(schema.enum.map((e) => String(e))) : undefined;
  let pattern: RegExp | undefined;
  if (typeof schema.pattern === 'string') {
    try {
      pattern = new RegExp(schema.pattern, 'u');
    } catch {
      /* an invalid pattern is the audit's finding, not a reason to refuse */
    }
  }
  if (!integer && !number && maxLength === Infinity && !allowed && !pattern) return undefined;
  return function checkParam(value: string): string | undefined {
    if (integer && !INTEGER.test(value)) return 'must be an integer';
    if (number && !NUMBER.test(value)) return 'must be a number';
    if (value.length > maxLength) return `must have at most ${maxLength} characters`;
    if (allowed && !allowed.has(value)) return 'is not one of the allowed values';
    if (pattern && !pattern.test(value)) return 'does not match the pattern';
    return undefined;
  };
}
