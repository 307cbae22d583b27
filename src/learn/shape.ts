import {
  mayKeepValue,
  piiOfName,
  piiOfValue,
  stringFormat,
  type PiiKind,
  type StringFormat,
} from './classify.ts';

/**
 * JSON shape inference: a `Shape` accumulates the values seen at one place of a body (types,
 * string formats, bounds, a few enum candidates, properties, array items) and becomes a JSON
 * Schema with `x-rampart-observed` bounds. No value is kept except short, non-personal enum
 * candidates (`mayKeepValue`); personal data is counted by kind, never stored.
 */
export interface ShapeLimits {
  /** Bodies nested deeper are skipped (counted). */
  maxDepth: number;
  /** Properties per object; later new ones are counted as truncated. */
  maxProperties: number;
  /** Shape nodes per operation body (all statuses share the operation's budget). */
  maxNodes: number;
  /** At most this many distinct values make an enum. */
  enumMax: number;
  /** …and only with at least this many samples, each value seen on average twice. */
  enumMinSamples: number;
}

export const DEFAULT_SHAPE_LIMITS: ShapeLimits = {
  maxDepth: 32,
  maxProperties: 200,
  maxNodes: 4000,
  enumMax: 8,
  enumMinSamples: 6,
};

/** A shared node budget (per operation). */
export interface Budget {
  nodes: number;
  truncated: number;
}

/** What the caller is, for owner detection: the subject claim and the roles. Never stored. */
export interface Caller {
  sub?: string;
  roles: string[];
}

type Kind = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'object' | 'array';

export class Shape {
  seen = 0;
  readonly kinds = new Map<Kind, number>();
  minLength = Infinity;
  maxLength = -Infinity;
  readonly formats = new Map<StringFormat | 'none', number>();
  /** Enum candidates; `undefined` once a value could not be kept or there were too many. */
  values: Map<string, number> | undefined = new Map();
  readonly pii = new Map<PiiKind, number>();
  /** Personal data its property name says (computed once; `null` = not yet). */
  private namePii: PiiKind | undefined | null = null;
  minimum = Infinity;
  maximum = -Infinity;
  props: Map<string, Shape> | undefined;
  items: Shape | undefined;
  minItems = Infinity;
  maxItems = -Infinity;
  /** Per role ('*' = no role): values seen with a subject, and how many equalled it. */
  readonly owner = new Map<string, { samples: number; matches: number }>();

  observe(v: unknown, limits: ShapeLimits, budget: Budget, caller?: Caller, property?: string): void {
    this.seen++;
    if (v === null) return this.count('null');
    switch (typeof v) {
      case 'boolean':
        return this.count('boolean');
      case 'number':
        this.count(Number.isInteger(v) ? 'integer' : 'number');
        this.minimum = Math.min(this.minimum, v);
        this.maximum = Math.max(this.maximum, v);
        this.ownerFact(String(v), caller);
        return;
      case 'string':
        return this.observeString(v, limits, caller, property);
      case 'object':
        if (Array.isArray(v)) {
          this.count('array');
          this.minItems = Math.min(this.minItems, v.length);
          this.maxItems = Math.max(this.maxItems, v.length);
          if (v.length > 0 && !this.items) this.items = newShape(budget);
          if (this.items) for (const item of v) this.items.observe(item, limits, budget, undefined, property);
          return;
        }
        this.count('object');
        this.props ??= new Map();
        for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
          let p = this.props.get(k);
          if (!p) {
            if (
              this.props.size >= limits.maxProperties ||
              k.length > 128 ||
              budget.nodes >= limits.maxNodes
            ) {
              budget.truncated++;
              continue;
            }
            p = newShape(budget);
            this.props.set(k, p);
          }
          // Owner facts only at the top level of an object and of list items.
          p.observe(val, limits, budget, caller, k);
        }
        return;
    }
  }

  private count(k: Kind): void {
    this.kinds.set(k, (this.kinds.get(k) ?? 0) + 1);
  }

  private observeString(s: string, limits: ShapeLimits, caller: Caller | undefined, property?: string): void {
    this.count('string');
    this.minLength = Math.min(this.minLength, s.length);
    this.maxLength = Math.max(this.maxLength, s.length);
    const f = stringFormat(s) ?? 'none';
    this.formats.set(f, (this.formats.get(f) ?? 0) + 1);
    if (this.namePii === null) this.namePii = property !== undefined ? piiOfName(property) : undefined;
    const pii = piiOfValue(s) ?? this.namePii;
    if (pii) this.pii.set(pii, (this.pii.get(pii) ?? 0) + 1);
    if (this.values) {
      if (!mayKeepValue(s, property)) this.values = undefined;
      else {
        this.values.set(s, (this.values.get(s) ?? 0) + 1);
        if (this.values.size > limits.enumMax) this.values = undefined;
      }
    }
    this.ownerFact(s, caller);
  }

  private ownerFact(v: string, caller: Caller | undefined): void {
    if (caller?.sub === undefined) return;
    const roles = caller.roles.length ? caller.roles.slice(0, 4) : ['*'];
    for (const r of roles) {
      let o = this.owner.get(r);
      if (!o) {
        if (this.owner.size >= 16) continue;
        o = { samples: 0, matches: 0 };
        this.owner.set(r, o);
      }
      o.samples++;
      if (v === caller.sub) o.matches++;
    }
  }

  /** A deep copy (merging never shares a child shape between two owners). */
  clone(): Shape {
    const s = new Shape();
    s.merge(this);
    return s;
  }

  /** Adds another shape's facts (two observation keys folded into one template); `o` is left as it was. */
  merge(o: Shape): void {
    this.seen += o.seen;
    for (const [k, n] of o.kinds) this.kinds.set(k, (this.kinds.get(k) ?? 0) + n);
    this.minLength = Math.min(this.minLength, o.minLength);
    this.maxLength = Math.max(this.maxLength, o.maxLength);
    for (const [k, n] of o.formats) this.formats.set(k, (this.formats.get(k) ?? 0) + n);
    if (!this.values || !o.values) this.values = undefined;
    else for (const [k, n] of o.values) this.values.set(k, (this.values.get(k) ?? 0) + n);
    for (const [k, n] of o.pii) this.pii.set(k, (this.pii.get(k) ?? 0) + n);
    this.minimum = Math.min(this.minimum, o.minimum);
    this.maximum = Math.max(this.maximum, o.maximum);
    if (o.props) {
      this.props ??= new Map();
      for (const [k, p] of o.props) {
        const mine = this.props.get(k);
        if (mine) mine.merge(p);
        else this.props.set(k, p.clone());
      }
    }
    if (o.items) {
      if (this.items) this.items.merge(o.items);
      else this.items = o.items.clone();
    }
    this.minItems = Math.min(this.minItems, o.minItems);
    this.maxItems = Math.max(this.maxItems, o.maxItems);
    for (const [r, f] of o.owner) {
      const mine = this.owner.get(r) ?? { samples: 0, matches: 0 };
      mine.samples += f.samples;
      mine.matches += f.matches;
      this.owner.set(r, mine);
    }
  }

  /** The inferred JSON Schema (2020-12, as OpenAPI 3.1 uses), bounds under `x-rampart-observed`. */
  schema(limits: ShapeLimits): Record<string, unknown> {
    const kinds = [...this.kinds.keys()];
    const nullable = this.kinds.has('null');
    const nonNull = kinds.filter((k) => k !== 'null');
    // An integer that was once fractional is a number.
    const types = nonNull.includes('number') ? nonNull.filter((k) => k !== 'integer') : nonNull;
    const out: Record<string, unknown> = {};
    const observed: Record<string, unknown> = { samples: this.seen };
    if (types.length === 0) out.type = 'null';
    else if (types.length === 1 && !nullable) out.type = types[0];
    else out.type = nullable ? [...types, 'null'] : types;
    if (types.includes('string')) {
      const strs = this.kinds.get('string') ?? 0;
      const fmt = [...this.formats.entries()].find(([f, n]) => f !== 'none' && n === strs)?.[0];
      if (fmt) out.format = fmt;
      if (
        !fmt &&
        this.values &&
        this.values.size > 0 &&
        this.values.size <= limits.enumMax &&
        strs >= limits.enumMinSamples &&
        strs >= 2 * this.values.size
      )
        out.enum = [...this.values.keys()].sort().concat(nullable ? [null as unknown as string] : []);
      observed.minLength = this.minLength;
      observed.maxLength = this.maxLength;
    }
    if (types.includes('integer') || types.includes('number')) {
      observed.minimum = this.minimum;
      observed.maximum = this.maximum;
    }
    if (types.includes('object') && this.props) {
      const objects = this.kinds.get('object') ?? 0;
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      for (const [k, p] of [...this.props.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        properties[k] = p.schema(limits);
        if (p.seen >= objects) required.push(k);
      }
      out.properties = properties;
      if (required.length) out.required = required;
    }
    if (types.includes('array')) {
      out.items = this.items ? this.items.schema(limits) : {};
      observed.minItems = this.minItems;
      observed.maxItems = this.maxItems;
    }
    if (this.pii.size) observed.pii = [...this.pii.keys()].sort();
    out['x-rampart-observed'] = observed;
    return out;
  }
}

function newShape(budget: Budget): Shape {
  budget.nodes++;
  return new Shape();
}

/**
 * The nesting depth of a JSON text, scanned before parsing (strings skipped), so a hostile
 * `[[[[…` is refused without recursion. Returns Infinity past `max`.
 */
export function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return Infinity;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}

/** Places in a shape where personal data was seen: JSON pointer → kinds. */
export function piiPlaces(shape: Shape, pointer = ''): Array<{ pointer: string; kinds: PiiKind[] }> {
  const out: Array<{ pointer: string; kinds: PiiKind[] }> = [];
  if (shape.pii.size) out.push({ pointer: pointer || '/', kinds: [...shape.pii.keys()].sort() });
  if (shape.props)
    for (const [k, p] of shape.props)
      out.push(...piiPlaces(p, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  if (shape.items) out.push(...piiPlaces(shape.items, `${pointer}/*`));
  return out;
}
