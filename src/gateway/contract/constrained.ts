/**
 * Which strings of a request body the contract itself already constrains so tightly that
 * no injection fits in them: an `enum` or `const`, a format whose every value is a date,
 * time, UUID or IP address, or a `pattern` of word characters with at most single `-`,
 * `.` or `:` separators (`^SKU-[0-9]{5}$`, `^[a-z0-9_]{3,32}$`). The injection guard looks
 * only at free text (issue #11: "for free-text values the schema cannot constrain") and
 * skips these — but only in a body validate-request has just found valid against this very
 * schema (`ctx.state.conformingBody`), so a report-mode or absent validation never widens
 * what goes unchecked.
 *
 * Conservative by construction: anything this module cannot read as one of those shapes
 * (a `oneOf` some branch of which is free text, a pattern with a group, a dot or a negated
 * class, an unknown format, `additionalProperties`) is free text and inspected.
 */
import type { JsonSchema } from '../../core/openapi.ts';

/** One schema position: whether its strings are constrained, and its children's positions. */
export interface ConstrainedNode {
  /** Strings here cannot hold an injection (the schema allows only enum/const/safe format/token pattern). */
  string: boolean;
  /** Declared properties (including those of `allOf` members). */
  props: Map<string, ConstrainedNode> | undefined;
  /** Array items (`items` as one schema). */
  items: ConstrainedNode | undefined;
}

/** Formats whose every valid value is digits, letters of a fixed alphabet and `-:.+TZ`. */
const SAFE_FORMATS = new Set([
  'date',
  'time',
  'date-time',
  'iso-time',
  'iso-date-time',
  'uuid',
  'ipv4',
  'ipv6',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Word characters a class or an escape may hold: ASCII letters, digits, `_`. */
const WORD = /^[A-Za-z0-9_]$/;
const SEPARATORS = new Set(['-', '.', ':']);

/**
 * True when every string `pattern` matches is word characters with single, isolated `-`,
 * `.` or `:` literals between them: anchored `^…$`, a sequence of word literals, `\d`,
 * `\w`, non-negated classes of word ranges, each optionally quantified, and unquantified
 * separator literals never two in a row. Anything else (alternation, groups, `.`, `\s`,
 * a negated class, a separator in a class) is not a token pattern.
 * @example
 * isTokenPattern('^SKU-[0-9]{5}$') // true
 * isTokenPattern('^[a-z ]+$') // false: a space
 * isTokenPattern('^[0-9-]+$') // false: '--' fits
 */
export function isTokenPattern(pattern: string): boolean {
  if (!pattern.startsWith('^') || !pattern.endsWith('$') || pattern.endsWith('\\$')) return false;
  const p = pattern.slice(1, -1);
  let i = 0;
  let lastSeparator = false;
  let atoms = 0;
  while (i < p.length) {
    const c = p[i]!;
    let separator = false;
    if (c === '[') {
      if (p[i + 1] === '^') return false;
      const end = p.indexOf(']', i + 1);
      if (end < 0) return false;
      const body = p.slice(i + 1, end);
      if (body === '') return false;
      for (let k = 0; k < body.length; k++) {
        const b = body[k]!;
        if (b === '\\') {
          const e = body[k + 1];
          if (e !== 'd' && e !== 'w') return false;
          k++;
        } else if (b === '-') {
          // A range: only between two word characters (a literal '-' in a class is a separator).
          if (k === 0 || k === body.length - 1 || !WORD.test(body[k - 1]!) || !WORD.test(body[k + 1]!))
            return false;
        } else if (!WORD.test(b)) return false;
      }
      i = end + 1;
    } else if (c === '\\') {
      const e = p[i + 1];
      if (e === 'd' || e === 'w') i += 2;
      else if (e !== undefined && SEPARATORS.has(e)) {
        separator = true;
        i += 2;
      } else return false;
    } else if (WORD.test(c)) i++;
    else if (c === '-' || c === ':') {
      separator = true;
      i++;
    } else return false;
    atoms++;
    // A quantifier applies to the atom just read: never to a separator.
    const q = p[i];
    if (q === '{') {
      const end = p.indexOf('}', i);
      if (end < 0 || !/^\{\d+(,\d*)?\}$/.test(p.slice(i, end + 1))) return false;
      if (separator) return false;
      i = end + 1;
    } else if (q === '?' || q === '*' || q === '+') {
      if (separator) return false;
      i++;
      if (p[i] === '?') i++; // lazy: same language
    }
    if (separator && lastSeparator) return false;
    lastSeparator = separator;
  }
  return atoms > 0;
}

/** True when a schema's own keywords constrain its strings to non-free text. */
function constrainsStrings(s: Obj): boolean {
  if (Array.isArray(s.enum) || 'const' in s) return true;
  if (typeof s.format === 'string' && SAFE_FORMATS.has(s.format)) return true;
  return typeof s.pattern === 'string' && isTokenPattern(s.pattern);
}

/**
 * The constrained-string tree of a (resolved) request body schema; `$ref` cycles (shared
 * schema objects from the loader) map to one node each, so recursive schemas terminate.
 * @example
 * const node = compileConstrained({ type: 'object', properties: { sku: { type: 'string', pattern: '^SKU-[0-9]{5}$' } } });
 * node?.props?.get('sku')?.string // true
 */
export function compileConstrained(
  schema: JsonSchema | undefined,
  memo = new Map<object, ConstrainedNode>(),
): ConstrainedNode | undefined {
  if (!isObj(schema)) return undefined;
  const seen = memo.get(schema);
  if (seen) return seen;
  const node: ConstrainedNode = { string: constrainsStrings(schema), props: undefined, items: undefined };
  memo.set(schema, node);
  if (isObj(schema.properties))
    for (const [k, v] of Object.entries(schema.properties)) {
      const child = compileConstrained(v as JsonSchema, memo);
      if (child) mergeProp(node, k, child);
    }
  if (isObj(schema.items)) node.items = compileConstrained(schema.items as JsonSchema, memo);
  // allOf: a value satisfies every member, so any member's constraint holds.
  if (Array.isArray(schema.allOf))
    for (const member of schema.allOf) {
      const m = compileConstrained(member as JsonSchema, memo);
      if (!m || m === node) continue;
      if (m.string) node.string = true;
      if (m.props) for (const [k, v] of m.props) mergeProp(node, k, v);
      if (m.items) node.items = node.items ? mergeAll(node.items, m.items, 0) : m.items;
    }
  // oneOf/anyOf: a string is constrained only when every branch constrains it.
  for (const key of ['oneOf', 'anyOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches) || branches.length === 0 || node.string) continue;
    if (branches.every((b) => isObj(b) && constrainsStrings(b))) node.string = true;
  }
  return node;
}

function mergeProp(node: ConstrainedNode, k: string, v: ConstrainedNode): void {
  mergeInto((node.props ??= new Map()), k, v, 0);
}

/** Puts `v` at `k`, merged with what is there (allOf: both constraints hold). */
function mergeInto(props: Map<string, ConstrainedNode>, k: string, v: ConstrainedNode, depth: number): void {
  const had = props.get(k);
  props.set(k, had ? mergeAll(had, v, depth) : v);
}

/**
 * Both constraints hold (allOf): constrained when either is; children merged the same way,
 * to a bounded depth (recursive schemas): below it, children are free text (inspected).
 */
function mergeAll(a: ConstrainedNode, b: ConstrainedNode, depth: number): ConstrainedNode {
  if (a === b) return a;
  const out: ConstrainedNode = { string: a.string || b.string, props: undefined, items: undefined };
  if (depth >= 16) return out;
  if (a.props || b.props) {
    out.props = new Map(a.props);
    for (const [k, v] of b.props ?? []) mergeInto(out.props, k, v, depth + 1);
  }
  out.items = a.items && b.items ? mergeAll(a.items, b.items, depth + 1) : (a.items ?? b.items);
  return out;
}
