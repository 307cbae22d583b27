/**
 * Breaking-change diff of two OpenAPI documents (`rampart diff OLD NEW`): every change
 * classified by a rule of ./rules.ts, and the semantic-version bump the changes call for.
 *
 * Direction matters: a request schema must still accept everything it accepted (so
 * narrowing breaks), a response schema must not produce anything the old one could not
 * (so widening breaks). Schemas are compared structurally with `$ref`s already resolved by
 * the loader; cycles are compared once per pair.
 */
import type { JsonSchema, OpenApiDocument, OpenApiOperation, OpenApiParameter } from '../core/openapi.ts';
import { DIFF_RULES, type ChangeLevel, type DiffRuleId } from './rules.ts';

export interface Change {
  rule: DiffRuleId;
  level: ChangeLevel;
  /** `METHOD /path/{template}` (the new template when it exists). */
  operation?: string;
  /** Where in the operation, e.g. `request.body application/json /properties/name`. */
  location: string;
  message: string;
}

export type Bump = 'major' | 'minor' | 'patch' | 'none';

export interface DiffResult {
  changes: Change[];
  counts: Record<ChangeLevel, number>;
  /** What the changes call for. */
  bump: Bump;
  /** The documents' `info.version`s. */
  from: string;
  to: string;
  /** Set when the new document's version moves less than `bump` asks. */
  versionWarning?: string;
}

type Dir = 'request' | 'response';

const UPPER = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'] as const;
const LOWER = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'] as const;
const MAX_DEPTH = 24;

/** `/orders/{id}` and `/orders/{orderId}` are the same URL shape. */
function shape(template: string): string {
  return template.replace(/\{[^}]*\}/g, '{}');
}

function opName(op: OpenApiOperation): string {
  return `${op.method.toUpperCase()} ${op.path}`;
}

class Differ {
  readonly changes: Change[] = [];
  private operation: string | undefined;
  /** Schema pairs already compared in the current direction (cycles, shared subschemas). */
  private seen = new WeakMap<object, WeakSet<object>>();

  add(rule: DiffRuleId, location: string, message: string): void {
    const c: Change = { rule, level: DIFF_RULES[rule].level, location, message };
    if (this.operation) c.operation = this.operation;
    this.changes.push(c);
  }

  documents(a: OpenApiDocument, b: OpenApiDocument): void {
    const byShape = (d: OpenApiDocument) => {
      const m = new Map<string, OpenApiOperation>();
      for (const op of d.operations) m.set(`${op.method} ${shape(op.path)}`, op);
      return m;
    };
    const oldOps = byShape(a);
    const newOps = byShape(b);
    const oldPaths = new Set(a.operations.map((o) => shape(o.path)));
    const newPaths = new Set(b.operations.map((o) => shape(o.path)));
    const reportedPaths = new Set<string>();

    for (const [key, op] of oldOps) {
      const next = newOps.get(key);
      this.operation = opName(next ?? op);
      if (!next) {
        const s = shape(op.path);
        if (!newPaths.has(s)) {
          if (!reportedPaths.has(s)) {
            reportedPaths.add(s);
            const all = a.operations.filter((o) => shape(o.path) === s);
            this.operation = undefined;
            if (all.every((o) => o.deprecated))
              this.add('deprecated-operation-removed', op.path, `path ${op.path} (deprecated) was removed`);
            else this.add('path-removed', op.path, `path ${op.path} was removed`);
          }
        } else if (op.deprecated)
          this.add('deprecated-operation-removed', 'operation', `${opName(op)} (deprecated) was removed`);
        else this.add('operation-removed', 'operation', `${opName(op)} was removed`);
        continue;
      }
      this.operationPair(op, next);
    }
    for (const [key, op] of newOps) {
      if (oldOps.has(key)) continue;
      const s = shape(op.path);
      if (!oldPaths.has(s)) {
        if (reportedPaths.has('+' + s)) continue;
        reportedPaths.add('+' + s);
        this.operation = undefined;
        this.add('path-added', op.path, `path ${op.path} was added`);
      } else {
        this.operation = opName(op);
        this.add('operation-added', 'operation', `${opName(op)} was added`);
      }
    }
    this.operation = undefined;
  }

  private operationPair(a: OpenApiOperation, b: OpenApiOperation): void {
    if (a.path !== b.path)
      this.add('path-parameter-renamed', 'path', `path template ${a.path} is now ${b.path}`);
    if (!a.deprecated && b.deprecated) this.add('operation-deprecated', 'operation', 'marked deprecated');
    if (a.deprecated && !b.deprecated) this.add('operation-reactivated', 'operation', 'no longer deprecated');
    if (a.operationId !== undefined && a.operationId !== b.operationId)
      this.add(
        'operation-id-changed',
        'operationId',
        `operationId ${a.operationId} is now ${b.operationId ?? '(none)'}`,
      );
    this.parameters(a, b);
    this.requestBody(a, b);
    this.responses(a, b);
    this.security(a.security, b.security);
  }

  private parameters(a: OpenApiOperation, b: OpenApiOperation): void {
    // Path parameters are matched by position (a rename keeps the URL), others by in + name.
    const key = (op: OpenApiOperation, p: OpenApiParameter) => {
      if (p.in === 'path') {
        const names = [...op.path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);
        return `path:#${names.indexOf(p.name)}`;
      }
      return `${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`;
    };
    const oldP = new Map(a.parameters.map((p) => [key(a, p), p]));
    const newP = new Map(b.parameters.map((p) => [key(b, p), p]));
    for (const [k, p] of oldP) {
      const loc = `parameters ${p.in} ${p.name}`;
      const n = newP.get(k);
      if (!n) {
        this.add('request-parameter-removed', loc, `${p.in} parameter '${p.name}' was removed`);
        continue;
      }
      if (!p.required && n.required)
        this.add('request-parameter-became-required', loc, `${p.in} parameter '${p.name}' became required`);
      if (p.required && !n.required)
        this.add('request-parameter-became-optional', loc, `${p.in} parameter '${p.name}' became optional`);
      this.schema(p.schema, n.schema, 'request', loc, '');
    }
    for (const [k, n] of newP) {
      if (oldP.has(k)) continue;
      const loc = `parameters ${n.in} ${n.name}`;
      if (n.required)
        this.add('new-required-request-parameter', loc, `new required ${n.in} parameter '${n.name}'`);
      else this.add('new-optional-request-parameter', loc, `new optional ${n.in} parameter '${n.name}'`);
    }
  }

  private requestBody(a: OpenApiOperation, b: OpenApiOperation): void {
    const ra = a.requestBody;
    const rb = b.requestBody;
    if (!ra && !rb) return;
    if (!ra) {
      if (rb!.required) this.add('request-body-added-required', 'request.body', 'a required body was added');
      else this.add('request-body-added-optional', 'request.body', 'an optional body was added');
      return;
    }
    if (!rb) {
      this.add('request-body-removed', 'request.body', 'the request body was removed');
      return;
    }
    if (!ra.required && rb.required)
      this.add('request-body-became-required', 'request.body', 'the request body became required');
    for (const [type, media] of Object.entries(ra.content)) {
      const loc = `request.body ${type}`;
      const next = rb.content[type];
      if (!next) {
        this.add('request-media-type-removed', loc, `media type ${type} is no longer accepted`);
        continue;
      }
      this.schema(media.schema, next.schema, 'request', loc, '');
    }
    for (const type of Object.keys(rb.content))
      if (!ra.content[type])
        this.add('request-media-type-added', `request.body ${type}`, `media type ${type} is now accepted`);
  }

  private responses(a: OpenApiOperation, b: OpenApiOperation): void {
    const covered = (code: string) =>
      b.responses[code] !== undefined || b.responses[`${code[0]}XX`] !== undefined;
    for (const [code, resp] of Object.entries(a.responses)) {
      const loc = `responses ${code}`;
      const next = b.responses[code] ?? b.responses[`${code[0]}XX`];
      if (!next || !covered(code)) {
        this.add('response-status-removed', loc, `status ${code} is no longer documented`);
        continue;
      }
      const oldContent = resp.content ?? {};
      const newContent = next.content ?? {};
      for (const [type, media] of Object.entries(oldContent)) {
        const n = newContent[type];
        if (!n) {
          this.add(
            'response-media-type-removed',
            `${loc} ${type}`,
            `status ${code} no longer returns ${type}`,
          );
          continue;
        }
        this.schema(media.schema, n.schema, 'response', `${loc} ${type}`, '');
      }
      for (const type of Object.keys(newContent))
        if (!oldContent[type])
          this.add('response-media-type-added', `${loc} ${type}`, `status ${code} may now return ${type}`);
    }
    for (const code of Object.keys(b.responses))
      if (a.responses[code] === undefined)
        this.add('response-status-added', `responses ${code}`, `status ${code} was added`);
  }

  /**
   * Security requirement lists are alternatives (OR) of scheme sets (AND). The change
   * breaks a client when some old alternative it may be using satisfies no new one.
   */
  private security(a: OpenApiOperation['security'], b: OpenApiOperation['security']): void {
    const norm = (reqs: OpenApiOperation['security']) =>
      reqs.map((r) => new Map(Object.entries(r).map(([k, scopes]) => [k, new Set(scopes)])));
    const oldAlt = norm(a);
    const newAlt = norm(b);
    // An empty requirement object `{}` makes security optional: treat it as public.
    const isPublic = (alts: ReturnType<typeof norm>) => alts.length === 0 || alts.some((m) => m.size === 0);
    const fmt = (alts: ReturnType<typeof norm>) =>
      alts.length === 0
        ? 'none'
        : alts
            .map(
              (m) =>
                [...m].map(([k, s]) => (s.size ? `${k}[${[...s].sort().join(' ')}]` : k)).join(' + ') || '{}',
            )
            .join(' | ');
    if (isPublic(oldAlt) && !isPublic(newAlt)) {
      this.add('security-added', 'security', `now requires ${fmt(newAlt)}`);
      return;
    }
    if (!isPublic(oldAlt) && isPublic(newAlt)) {
      this.add('security-removed', 'security', `no longer requires authentication (was ${fmt(oldAlt)})`);
      return;
    }
    if (isPublic(oldAlt)) return;
    // new alternative `n` accepts a client using old `o` when n's schemes and scopes are a subset of o's.
    const accepts = (n: Map<string, Set<string>>, o: Map<string, Set<string>>) =>
      [...n].every(([k, scopes]) => {
        const have = o.get(k);
        return have !== undefined && [...scopes].every((s) => have.has(s));
      });
    const broken = oldAlt.filter((o) => !newAlt.some((n) => accepts(n, o)));
    if (broken.length > 0) this.add('security-changed', 'security', `was ${fmt(oldAlt)}, now ${fmt(newAlt)}`);
    else if (fmt(oldAlt) !== fmt(newAlt))
      this.add('security-relaxed', 'security', `was ${fmt(oldAlt)}, now ${fmt(newAlt)}`);
  }

  private schema(
    a: JsonSchema | undefined,
    b: JsonSchema | undefined,
    dir: Dir,
    loc: string,
    ptr: string,
    depth = 0,
  ): void {
    if (a === undefined || b === undefined || depth > MAX_DEPTH) return;
    const sa = flatten(a);
    const sb = flatten(b);
    if (typeof a === 'object' && typeof b === 'object') {
      let set = this.seen.get(a);
      if (!set) this.seen.set(a, (set = new WeakSet()));
      if (set.has(b)) return;
      set.add(b);
    }
    const where = `${loc}${ptr ? ' ' + ptr : ''}`;
    this.types(sa, sb, dir, where);
    this.enums(sa, sb, dir, where);
    this.formats(sa, sb, dir, where);
    this.bounds(sa, sb, dir, where);
    this.alternatives(sa, sb, dir, where);
    this.properties(sa, sb, dir, loc, ptr, depth);
    if (sa.items !== undefined && sb.items !== undefined)
      this.schema(sa.items, sb.items, dir, loc, `${ptr}/items`, depth + 1);
  }

  private types(a: Flat, b: Flat, dir: Dir, where: string): void {
    if (!a.types || !b.types) {
      if (!a.types && b.types && dir === 'request')
        this.add('request-type-narrowed', where, `now only accepts ${[...b.types].join('|')}`);
      return;
    }
    const ta = a.types;
    const tb = b.types;
    const covers = (set: Set<string>, t: string) => set.has(t) || (t === 'integer' && set.has('number'));
    const aNonNull = [...ta].filter((t) => t !== 'null');
    const bNonNull = [...tb].filter((t) => t !== 'null');
    if (dir === 'request') {
      const lost = aNonNull.filter((t) => !covers(tb, t));
      if (lost.length || (a.types.has('null') && !b.types.has('null')))
        this.add(
          'request-type-narrowed',
          where,
          `type ${[...a.types].join('|')} is now ${[...b.types].join('|')}`,
        );
      else if (bNonNull.some((t) => !covers(ta, t)) || (!a.types.has('null') && b.types.has('null')))
        this.add(
          'request-type-widened',
          where,
          `type ${[...a.types].join('|')} is now ${[...b.types].join('|')}`,
        );
    } else {
      const gained = bNonNull.filter((t) => !covers(ta, t));
      if (gained.length)
        this.add(
          'response-type-changed',
          where,
          `type ${[...a.types].join('|')} is now ${[...b.types].join('|')}`,
        );
      else if (!a.types.has('null') && b.types.has('null'))
        this.add('response-became-nullable', where, 'may now be null');
    }
  }

  private enums(a: Flat, b: Flat, dir: Dir, where: string): void {
    const ea = a.enum;
    const eb = b.enum;
    if (!ea && !eb) return;
    const key = (v: unknown) => JSON.stringify(v);
    const removed = ea && eb ? ea.filter((v) => !eb.some((w) => key(w) === key(v))) : [];
    const added = ea && eb ? eb.filter((v) => !ea.some((w) => key(w) === key(v))) : [];
    const list = (vs: unknown[]) => vs.map((v) => JSON.stringify(v)).join(', ');
    if (dir === 'request') {
      if (!ea && eb) this.add('request-enum-value-removed', where, `now restricted to ${list(eb)}`);
      else if (removed.length)
        this.add('request-enum-value-removed', where, `no longer accepts ${list(removed)}`);
      if (ea && !eb) this.add('request-enum-value-added', where, 'enum removed: any value accepted');
      else if (added.length) this.add('request-enum-value-added', where, `now also accepts ${list(added)}`);
    } else {
      if (ea && !eb) this.add('response-enum-value-added', where, 'enum removed: any value may be returned');
      else if (added.length) this.add('response-enum-value-added', where, `may now return ${list(added)}`);
      if (removed.length)
        this.add('response-enum-value-removed', where, `no longer returns ${list(removed)}`);
    }
  }

  private formats(a: Flat, b: Flat, dir: Dir, where: string): void {
    if (a.format === b.format) return;
    if (dir === 'request') {
      if (b.format !== undefined)
        this.add('request-format-changed', where, `format ${a.format ?? '(none)'} is now ${b.format}`);
    } else
      this.add(
        'response-format-changed',
        where,
        `format ${a.format ?? '(none)'} is now ${b.format ?? '(none)'}`,
      );
  }

  private bounds(a: Flat, b: Flat, dir: Dir, where: string): void {
    const narrowed: string[] = [];
    const widened: string[] = [];
    const num = (s: Flat, k: string): number | undefined => {
      const v = s.raw[k];
      return typeof v === 'number' ? v : undefined;
    };
    for (const k of UPPER) {
      const x = num(a, k);
      const y = num(b, k);
      if (x === y) continue;
      if (y !== undefined && (x === undefined || y < x)) narrowed.push(`${k} ${x ?? '∞'} → ${y}`);
      else widened.push(`${k} ${x} → ${y ?? '∞'}`);
    }
    for (const k of LOWER) {
      const x = num(a, k);
      const y = num(b, k);
      if (x === y) continue;
      if (y !== undefined && (x === undefined || y > x)) narrowed.push(`${k} ${x ?? '-∞'} → ${y}`);
      else widened.push(`${k} ${x} → ${y ?? '-∞'}`);
    }
    const pa = a.raw.pattern;
    const pb = b.raw.pattern;
    if (pa !== pb) {
      if (pb !== undefined) narrowed.push(`pattern ${String(pa ?? '(none)')} → ${String(pb)}`);
      else widened.push(`pattern ${String(pa)} removed`);
    }
    if (a.raw.multipleOf !== b.raw.multipleOf && b.raw.multipleOf !== undefined)
      narrowed.push(`multipleOf ${String(a.raw.multipleOf ?? '(none)')} → ${String(b.raw.multipleOf)}`);
    if (dir === 'request') {
      if (narrowed.length) this.add('request-bound-narrowed', where, narrowed.join('; '));
      if (widened.length) this.add('request-bound-widened', where, widened.join('; '));
    } else {
      if (widened.length) this.add('response-bound-widened', where, widened.join('; '));
      if (narrowed.length) this.add('response-bound-narrowed', where, narrowed.join('; '));
    }
  }

  private alternatives(a: Flat, b: Flat, dir: Dir, where: string): void {
    for (const k of ['oneOf', 'anyOf'] as const) {
      const xa = a.raw[k];
      const xb = b.raw[k];
      if (!Array.isArray(xa) && !Array.isArray(xb)) continue;
      const la = Array.isArray(xa) ? xa.length : 0;
      const lb = Array.isArray(xb) ? xb.length : 0;
      if (dir === 'request' && lb < la)
        this.add('schema-alternatives-removed', where, `${k} has ${lb} alternatives (was ${la})`);
      else if (la !== lb || JSON.stringify(xa) !== JSON.stringify(xb))
        this.add('schema-alternatives-changed', where, `${k} alternatives changed (${la} → ${lb})`);
    }
  }

  private properties(a: Flat, b: Flat, dir: Dir, loc: string, ptr: string, depth: number): void {
    if (!a.properties && !b.properties) return;
    const pa = a.properties ?? {};
    const pb = b.properties ?? {};
    const at = (name: string) => `${loc} ${ptr}/properties/${name}`;
    if (dir === 'request') {
      for (const name of Object.keys(pa)) {
        if (pb[name] !== undefined) continue;
        if (b.additionalProperties === false)
          this.add(
            'request-property-removed',
            at(name),
            `property '${name}' was removed (extra properties are refused)`,
          );
        else this.add('request-property-removed-open', at(name), `property '${name}' was removed`);
      }
      for (const name of Object.keys(pb)) {
        if (pa[name] === undefined) {
          if (b.required.has(name))
            this.add('new-required-request-property', at(name), `new required property '${name}'`);
          else this.add('new-optional-request-property', at(name), `new optional property '${name}'`);
        } else if (!a.required.has(name) && b.required.has(name))
          this.add('request-property-became-required', at(name), `property '${name}' became required`);
      }
      if (a.additionalProperties !== false && b.additionalProperties === false && a.properties)
        this.add(
          'request-additional-properties-closed',
          `${loc} ${ptr || '/'}`,
          'undeclared properties are now refused',
        );
    } else {
      for (const name of Object.keys(pa)) {
        if (pb[name] === undefined)
          this.add('response-property-removed', at(name), `property '${name}' was removed`);
        else if (a.required.has(name) && !b.required.has(name))
          this.add(
            'response-property-became-optional',
            at(name),
            `property '${name}' is no longer always present`,
          );
      }
      for (const name of Object.keys(pb))
        if (pa[name] === undefined)
          this.add('response-property-added', at(name), `property '${name}' was added`);
    }
    for (const name of Object.keys(pa)) {
      if (pb[name] !== undefined)
        this.schema(pa[name], pb[name], dir, loc, `${ptr}/properties/${name}`, depth + 1);
    }
  }
}

/** A schema with `allOf` merged and its type set normalised (3.0 `nullable` and 3.1 type arrays alike). */
interface Flat {
  raw: Record<string, unknown>;
  /** Undefined when the schema does not constrain the type. */
  types: Set<string> | undefined;
  enum: unknown[] | undefined;
  format: string | undefined;
  properties: Record<string, JsonSchema> | undefined;
  required: Set<string>;
  additionalProperties: unknown;
  items: JsonSchema | undefined;
}

function flatten(s: JsonSchema, depth = 0): Flat {
  const raw: Record<string, unknown> = typeof s === 'object' && s !== null ? { ...s } : {};
  let properties: Record<string, JsonSchema> | undefined =
    raw.properties && typeof raw.properties === 'object'
      ? { ...(raw.properties as Record<string, JsonSchema>) }
      : undefined;
  const required = new Set<string>(Array.isArray(raw.required) ? (raw.required as string[]) : []);
  let types: Set<string> | undefined;
  const t = raw.type;
  if (typeof t === 'string') types = new Set([t]);
  else if (Array.isArray(t)) types = new Set(t as string[]);
  if (Array.isArray(raw.allOf) && depth < 8) {
    for (const part of raw.allOf as JsonSchema[]) {
      const f = flatten(part, depth + 1);
      if (f.properties) properties = { ...properties, ...f.properties };
      for (const r of f.required) required.add(r);
      if (f.types) types = types ? new Set([...types].filter((x) => f.types!.has(x))) : f.types;
      for (const k of [...UPPER, ...LOWER, 'pattern', 'format', 'enum', 'additionalProperties', 'items'])
        if (raw[k] === undefined && f.raw[k] !== undefined) raw[k] = f.raw[k];
    }
  }
  if (!types && properties) types = new Set(['object']);
  if (types && raw.nullable === true) types.add('null');
  if (Array.isArray(raw.enum) && raw.enum.includes(null) && types) types.add('null');
  return {
    raw,
    types,
    enum: Array.isArray(raw.enum) ? (raw.enum as unknown[]) : undefined,
    format: typeof raw.format === 'string' ? raw.format : undefined,
    properties,
    required,
    additionalProperties: raw.additionalProperties,
    items: raw.items as JsonSchema | undefined,
  };
}

const BUMP_ORDER: Bump[] = ['none', 'patch', 'minor', 'major'];

/** Compares two loaded documents. */
export function diffDocuments(a: OpenApiDocument, b: OpenApiDocument): DiffResult {
  const d = new Differ();
  d.documents(a, b);
  const counts: Record<ChangeLevel, number> = { breaking: 0, warning: 0, info: 0 };
  let bump: Bump = 'none';
  for (const c of d.changes) {
    counts[c.level]++;
    const rule = DIFF_RULES[c.rule] as { additive?: true };
    const need: Bump = c.level === 'breaking' ? 'major' : rule.additive ? 'minor' : 'patch';
    if (BUMP_ORDER.indexOf(need) > BUMP_ORDER.indexOf(bump)) bump = need;
  }
  const result: DiffResult = { changes: d.changes, counts, bump, from: a.version, to: b.version };
  const actual = versionBump(a.version, b.version);
  if (actual !== undefined && BUMP_ORDER.indexOf(actual) < BUMP_ORDER.indexOf(bump))
    result.versionWarning = `info.version goes ${a.version} → ${b.version} (${actual}) but the changes call for a ${bump} bump`;
  return result;
}

/** The semantic-version step between two versions, or undefined when either is not semver-like. */
export function versionBump(from: string, to: string): Bump | undefined {
  const p = (v: string) =>
    /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/
      .exec(v)
      ?.slice(1)
      .map((x) => Number(x ?? 0));
  const a = p(from);
  const b = p(to);
  if (!a || !b) return undefined;
  if (b[0]! !== a[0]!) return b[0]! > a[0]! ? 'major' : 'none';
  if (b[1]! !== a[1]!) return b[1]! > a[1]! ? 'minor' : 'none';
  if (b[2]! !== a[2]!) return b[2]! > a[2]! ? 'patch' : 'none';
  return 'none';
}
