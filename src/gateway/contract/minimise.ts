/**
 * Response minimisation (API3, excessive data exposure): a function per response schema,
 * compiled once, that rebuilds a parsed JSON value keeping only what the schema declares.
 *
 * - objects keep `properties` (each minimised by its own schema) and `patternProperties`
 *   matches; `additionalProperties: <schema>` keeps the rest minimised by it, `true` keeps
 *   it as is; omitted or `false` drops it (undeclared = not part of the contract);
 * - arrays minimise each item (`items`, `prefixItems`);
 * - `allOf` merges what its members declare; `oneOf`/`anyOf` minimise by the first branch
 *   the value matches (a compiled validator per branch), else by the union of the branches;
 * - `$ref` cycles (shared schema objects from the loader) are compiled once and refer to
 *   themselves, so recursive schemas (trees, threads) terminate.
 *
 * A schema that says nothing about structure (`{}`, `true`, `type: object` without any
 * properties) keeps the value as it is: it declares a free-form object.
 */
import type { JsonSchema } from '../../core/openapi.ts';
import { compileSchema, type Dialect } from './schema.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Counts what a minimiser dropped (for the event/metric; never the values). */
export interface MinimiseStats {
  dropped: number;
  /** Up to 10 pointers of dropped properties, for the event. */
  pointers: string[];
}

/**
 * Where a value sits: a JSON pointer string, or a parent and a member name / index — built
 * into a string only when something is dropped (most answers drop nothing, and escaping
 * every member name of every answer was the minimiser's largest cost).
 */
export type Path = string | { readonly up: Path; readonly seg: string | number };

export type Minimiser = (value: unknown, stats: MinimiseStats, at: Path) => unknown;

const KEEP: Minimiser = (v) => v;

interface PropertyPlan {
  props: Map<string, Minimiser>;
  patterns: Array<[RegExp, Minimiser]>;
  /** undefined = drop the rest; KEEP = keep; else minimise the rest by it. */
  rest: Minimiser | undefined;
}

const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

function pointerOf(at: Path): string {
  let p = '';
  let n: Path = at;
  while (typeof n !== 'string') {
    p = '/' + (typeof n.seg === 'number' ? String(n.seg) : esc(n.seg)) + p;
    n = n.up;
  }
  return n + p;
}

function note(stats: MinimiseStats, at: Path, seg: string): void {
  stats.dropped++;
  if (stats.pointers.length < 10) stats.pointers.push(pointerOf({ up: at, seg }));
}

/**
 * Compiles a minimiser for a response schema.
 * @example
 * const min = compileMinimiser(userSchema, '3.1');
 * min({ id: 1, passwordHash: 'x' }, { dropped: 0, pointers: [] }, '') // { id: 1 }
 */
export function compileMinimiser(root: JsonSchema, dialect: Dialect): Minimiser {
  const memo = new Map<Obj, Minimiser>();

  const build = (schema: unknown): Minimiser => {
    if (!isObj(schema)) return KEEP;
    const known = memo.get(schema);
    if (known) return known;
    // Placeholder that forwards to the real minimiser once built (cycles).
    let real: Minimiser = KEEP;
    const forward: Minimiser = (v, s, at) => real(v, s, at);
    memo.set(schema, forward);
    real = make(schema);
    memo.set(schema, real);
    return real;
  };

  /** Every object-level declaration of `schema` and of its allOf members, merged. */
  const collect = (schema: Obj, plan: PropertyPlan, seen: Set<Obj>): boolean => {
    if (seen.has(schema)) return false;
    seen.add(schema);
    let structured = false;
    if (isObj(schema.properties)) {
      structured = true;
      for (const [k, s] of Object.entries(schema.properties)) {
        const m = build(s);
        const prev = plan.props.get(k);
        plan.props.set(
          k,
          prev && prev !== KEEP && m !== KEEP ? both(prev, m) : prev && m === KEEP ? prev : m,
        );
      }
    }
    if (isObj(schema.patternProperties)) {
      structured = true;
      for (const [p, s] of Object.entries(schema.patternProperties)) {
        try {
          plan.patterns.push([new RegExp(p, 'u'), build(s)]);
        } catch {
          /* reported by rampart check */
        }
      }
    }
    const ap = schema.additionalProperties ?? schema.unevaluatedProperties;
    if (ap === true) plan.rest = KEEP;
    else if (isObj(ap)) plan.rest = build(ap);
    if (ap !== undefined) structured = true;
    // `type: object` alone declares no properties: a free-form object, kept as it is.
    if (Array.isArray(schema.allOf))
      for (const m of schema.allOf) if (isObj(m) && collect(m, plan, seen)) structured = true;
    return structured;
  };

  const make = (schema: Obj): Minimiser => {
    const plan: PropertyPlan = { props: new Map(), patterns: [], rest: undefined };
    const structured = collect(schema, plan, new Set());
    const alternatives = [schema.oneOf, schema.anyOf].filter(Array.isArray).flat() as unknown[];
    const items = schema.items;
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems.map(build) : [];
    const itemMin = isObj(items) ? build(items) : undefined;
    const arrayMin: Minimiser | undefined =
      itemMin || prefix.length
        ? (v, stats, at) => {
            // Copy on write: the same array back when no item changed.
            const a = v as unknown[];
            let out: unknown[] | undefined;
            for (let i = 0; i < a.length; i++) {
              const x = a[i];
              const y = (prefix[i] ?? itemMin ?? KEEP)(x, stats, { up: at, seg: i });
              if (out === undefined) {
                if (y === x) continue;
                out = a.slice(0, i);
              }
              out.push(y);
            }
            return out ?? a;
          }
        : undefined;
    let altMin: Minimiser | undefined;
    if (alternatives.length > 0) {
      const branches = alternatives.map((b) => ({
        matches: compileSchema(b as JsonSchema, { dialect, openObjects: true }),
        min: build(b),
      }));
      const union: PropertyPlan = { props: new Map(), patterns: [], rest: undefined };
      for (const b of alternatives) if (isObj(b)) collect(b, union, new Set());
      const unionMin = objectMinimiser(union);
      altMin = (v, stats, at) => {
        for (const b of branches) if (b.matches.valid(v)) return b.min(v, stats, at);
        return isObj(v) ? unionMin(v, stats, at) : v;
      };
    }
    const objMin = structured ? objectMinimiser(plan) : undefined;
    if (!objMin && !arrayMin && !altMin) return KEEP;
    return (v, stats, at) => {
      if (Array.isArray(v)) return arrayMin ? arrayMin(v, stats, at) : v;
      if (!isObj(v)) return v;
      const out = objMin ? (objMin(v, stats, at) as Obj) : v;
      return altMin ? altMin(out, stats, at) : out;
    };
  };

  return build(root);
}

/** Applies two minimisers (a property declared in two allOf members keeps what both declare). */
function both(a: Minimiser, b: Minimiser): Minimiser {
  return (v, s, at) => b(a(v, s, at), s, at);
}

/** What a property minimises to when it is dropped (never a JSON value). */
const DROP: unique symbol = Symbol('drop');

function objectMinimiser(plan: PropertyPlan): Minimiser {
  const { props, patterns, rest } = plan;
  return (v, stats, at) => {
    if (!isObj(v)) return v;
    // Copy on write: the same object back when nothing in it changed (most answers drop
    // nothing, and then nothing is allocated); the copy starts at the first change.
    const keys = Object.keys(v);
    let out: Obj | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const x = v[k];
      let y: unknown;
      // An own "__proto__" member (JSON.parse makes one) would set the copy's prototype.
      if (k === '__proto__') {
        note(stats, at, k);
        y = DROP;
      } else {
        const m = props.get(k);
        if (m !== undefined) y = m === KEEP ? x : m(x, stats, { up: at, seg: k });
        else {
          const p = patterns.length ? patterns.find(([re]) => re.test(k)) : undefined;
          if (p) y = p[1](x, stats, { up: at, seg: k });
          else if (rest) y = rest(x, stats, { up: at, seg: k });
          else {
            note(stats, at, k);
            y = DROP;
          }
        }
      }
      if (out === undefined) {
        if (y === x) continue;
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = v[keys[j]!];
      }
      if (y !== DROP) out[k] = y;
    }
    return out ?? v;
  };
}
