/**
 * Reading claims from verified tokens: claim paths (`realm_access.roles`,
 * `https://example.com/roles`), role lists, and header-safe values for upstream.
 */

/**
 * The value at a claim path. Dots separate levels, but a key that itself contains dots
 * (Auth0 namespaced claims such as `https://example.com/roles`) matches as a whole
 * first, so both `realm_access.roles` and URL-named claims work.
 * @example
 * claimAt({ realm_access: { roles: ['admin'] } }, 'realm_access.roles') // ['admin']
 */
export function claimAt(obj: unknown, path: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  const rec = obj as Record<string, unknown>;
  if (Object.hasOwn(rec, path)) return rec[path];
  for (let i = path.indexOf('.'); i > 0; i = path.indexOf('.', i + 1)) {
    const head = path.slice(0, i);
    if (Object.hasOwn(rec, head)) {
      const found = claimAt(rec[head], path.slice(i + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * Roles from one or more claim paths: arrays of strings are taken as they are, a string
 * is split on whitespace (the OAuth `scope` convention). Other types are ignored.
 */
export function rolesFrom(claims: Record<string, unknown>, paths: readonly string[]): readonly string[] {
  let out: string[] | undefined;
  for (const path of paths) {
    const v = claimAt(claims, path);
    if (Array.isArray(v)) {
      for (const r of v) if (typeof r === 'string' && r !== '') (out ??= []).push(r);
    } else if (typeof v === 'string') {
      for (const r of v.split(/\s+/)) if (r !== '') (out ??= []).push(r);
    }
  }
  if (out === undefined) return EMPTY;
  return paths.length > 1 ? Object.freeze([...new Set(out)]) : Object.freeze(out);
}

export const EMPTY: readonly string[] = Object.freeze([]);

/**
 * The `amr` claim (RFC 8176) with issuer-specific values mapped to Rampart's and the
 * values implied by the `acr` (per-issuer `acrMapping`) added, without duplicates.
 */
export function amrFrom(
  claims: Record<string, unknown>,
  acr: string | undefined,
  amrMapping: Readonly<Record<string, string>> | undefined,
  acrMapping: Readonly<Record<string, readonly string[]>> | undefined,
): readonly string[] {
  const raw = claims.amr;
  const implied =
    acr !== undefined && acrMapping !== undefined && Object.hasOwn(acrMapping, acr)
      ? acrMapping[acr]
      : undefined;
  if (!Array.isArray(raw) && implied === undefined) return EMPTY;
  const out: string[] = [];
  if (Array.isArray(raw)) {
    for (const v of raw) {
      if (typeof v !== 'string') continue;
      const mapped = amrMapping !== undefined && Object.hasOwn(amrMapping, v) ? amrMapping[v]! : v;
      if (!out.includes(mapped)) out.push(mapped);
    }
  }
  if (implied) for (const v of implied) if (!out.includes(v)) out.push(v);
  return Object.freeze(out);
}

/** `acr` as a string (Keycloak may send a number-like string; a JSON number is accepted too). */
export function acrFrom(claims: Record<string, unknown>): string | undefined {
  const v = claims.acr;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

const VERBATIM = /^[\x21-\x24\x26-\x2b\x2d-\x7e]*$/; // visible ASCII except '%' and ','

/**
 * A value safe for an upstream header: visible ASCII other than `%` and `,` is sent as
 * is; anything else is percent-encoded (UTF-8), so `decodeURIComponent` on the upstream
 * always gives back the original and a subject can never inject a header or a list item.
 */
export function headerSafe(v: string): string {
  return VERBATIM.test(v) ? v : encodeURIComponent(v);
}

/** A `typ` value compared case-insensitively with any `application/` prefix ignored (RFC 8725 §3.11). */
export function normalizeTyp(t: string): string {
  const lower = t.toLowerCase();
  return lower.startsWith('application/') ? lower.slice(12) : lower;
}

/** RFC 8725 §3.11 explicit typing: `typ` is one of `accepted` (normalised; empty = any), or absent when allowed. */
export function typAccepted(accepted: ReadonlySet<string>, required: boolean, typ: unknown): boolean {
  if (typ === undefined) return !required;
  if (typeof typ !== 'string') return false;
  return accepted.size === 0 || accepted.has(normalizeTyp(typ));
}
