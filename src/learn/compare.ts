import type { Finding, RunMeta } from '../core/findings.ts';
import type { JsonSchema, OpenApiDocument } from '../core/openapi.ts';
import { findingId } from '../report/index.ts';

/**
 * A learned document against a documented one: shadow endpoints (seen, not documented —
 * API9), documented operations never called (candidates for retirement), properties
 * returned but not declared (excessive exposure — API3), and the agreement figures
 * (precision and recall of operations and properties, exact templates, types, security)
 * docs/learn.md reports.
 */
export interface Documented {
  doc: OpenApiDocument;
  /** Path prefix of the document's operations on the wire (its relative `servers[0].url`, e.g. `/v2`). */
  base: string;
}

export interface OperationMatch {
  learned: string;
  documented: string;
  /** Same literals and parameters at the same places (names aside). */
  templateExact: boolean;
  paramNamesMatch: boolean;
  /** Both require credentials, or both do not; undefined when the learner could not tell. */
  securityMatch: boolean | undefined;
}

export interface Ratio {
  matched: number;
  of: number;
  value: number;
}

export interface Comparison {
  shadow: Array<{ operation: string; calls: number; statuses: Record<string, number>; public: boolean }>;
  neverCalled: Array<{ operation: string; source: string; pointer?: string }>;
  matches: OperationMatch[];
  /** Documented properties under an object the traffic reached that never appeared (`request` or a status). */
  unseen: Array<{ operation: string; where: string; property: string }>;
  undeclared: Array<{
    operation: string;
    documented: string;
    status: string;
    property: string;
    pii: string[];
    source: string;
    pointer?: string;
  }>;
  metrics: {
    operationPrecision: Ratio;
    operationRecall: Ratio;
    templatesExact: Ratio;
    parameterNames: Ratio;
    propertyPrecision: Ratio;
    propertyRecall: Ratio;
    propertyTypes: Ratio;
    security: Ratio;
  };
}

const ratio = (matched: number, of: number): Ratio => ({ matched, of, value: of === 0 ? 1 : matched / of });
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The base path of a document: its first server URL when that is a path or a URL with one. */
export function documentBase(doc: OpenApiDocument): string {
  const servers = doc.raw.servers;
  const url =
    Array.isArray(servers) && isObj(servers[0]) && typeof servers[0].url === 'string' ? servers[0].url : '';
  let path = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    try {
      path = new URL(url).pathname;
    } catch {
      path = '';
    }
  }
  return path.replace(/\/+$/, '').replace(/\{[^}]*\}/g, '');
}

const segments = (p: string): string[] => (p === '/' ? [''] : p.split('/').slice(1));
const isParam = (s: string): boolean => /^\{[^}]+\}$/.test(s);

/** How well a learned path fits a documented template: undefined = no fit; higher = more literals agree. */
function fit(learned: string[], documented: string[]): number | undefined {
  if (learned.length !== documented.length) return undefined;
  let score = 0;
  for (let i = 0; i < learned.length; i++) {
    const l = learned[i]!;
    const d = documented[i]!;
    if (isParam(d)) score += isParam(l) ? 1 : 0;
    else if (isParam(l) || l !== d) return undefined;
    else score += 2;
  }
  return score;
}

const requires = (security: Array<Record<string, string[]>>): boolean =>
  security.length > 0 && !security.some((r) => Object.keys(r).length === 0);

export function compare(learned: OpenApiDocument, documented: readonly Documented[]): Comparison {
  const docOps = documented.flatMap((d) =>
    d.doc.operations.map((op) => ({
      op,
      source: d.doc.source,
      full: (d.base + op.path).replace(/\/$/, '') || '/',
    })),
  );
  const called = new Set<(typeof docOps)[number]>();
  const out: Comparison = {
    shadow: [],
    neverCalled: [],
    matches: [],
    unseen: [],
    undeclared: [],
    metrics: {} as Comparison['metrics'],
  };
  let templatesExact = 0;
  let names = 0;
  let secMatched = 0;
  let secCompared = 0;
  const props = { learned: 0, found: 0, documented: 0, recalled: 0, typed: 0, typeOk: 0 };
  for (const l of learned.operations) {
    const ls = segments(l.path);
    let best: { d: (typeof docOps)[number]; score: number } | undefined;
    for (const d of docOps) {
      if (d.op.method !== l.method) continue;
      const s = fit(ls, segments(d.full));
      if (s !== undefined && (!best || s > best.score)) best = { d, score: s };
    }
    const observed = (l.raw?.['x-rampart-observed'] ?? {}) as {
      calls?: number;
      statuses?: Record<string, number>;
    };
    if (!best) {
      out.shadow.push({
        operation: `${l.method.toUpperCase()} ${l.path}`,
        calls: observed.calls ?? 0,
        statuses: observed.statuses ?? {},
        public: !requires(l.security) && l.raw?.security !== undefined,
      });
      continue;
    }
    const d = best.d;
    called.add(d);
    const ds = segments(d.full);
    const exact = ls.every((s, i) => isParam(s) === isParam(ds[i]!));
    const sameNames = exact && ls.every((s, i) => s === ds[i]);
    if (exact) templatesExact++;
    if (sameNames) names++;
    let securityMatch: boolean | undefined;
    if (l.raw?.security !== undefined) {
      securityMatch = requires(l.security) === requires(d.op.security);
      secCompared++;
      if (securityMatch) secMatched++;
    }
    out.matches.push({
      learned: `${l.method.toUpperCase()} ${l.path}`,
      documented: `${d.op.method.toUpperCase()} ${d.full}`,
      templateExact: exact,
      paramNamesMatch: sameNames,
      securityMatch,
    });
    // Properties: request bodies and the responses of statuses both sides have.
    const pairs: Array<[JsonSchema | undefined, JsonSchema | undefined, string | undefined]> = [];
    pairs.push([jsonSchemaOf(l.requestBody?.content), jsonSchemaOf(d.op.requestBody?.content), undefined]);
    for (const [status, r] of Object.entries(l.responses)) {
      const dr = d.op.responses[status] ?? d.op.responses[`${status[0]}XX`] ?? d.op.responses.default;
      if (!dr) continue;
      pairs.push([jsonSchemaOf(r.content), jsonSchemaOf(dr.content), status]);
    }
    for (const [ls2, ds2, status] of pairs) {
      if (ls2 === undefined || ds2 === undefined) continue;
      const lp = flatten(ls2);
      const dp = flatten(ds2);
      if (lp.size === 0 && dp.size === 0) continue;
      for (const [ptr, t] of lp) {
        props.learned++;
        const dt = dp.get(ptr);
        if (dt) {
          props.found++;
          props.typed++;
          if (typesAgree(t.types, dt.types)) props.typeOk++;
        } else if (status !== undefined && status.startsWith('2') && !parentOpen(ptr, dp))
          out.undeclared.push({
            operation: `${l.method.toUpperCase()} ${l.path}`,
            documented: `${d.op.method.toUpperCase()} ${d.full}`,
            status,
            property: ptr,
            pii: t.pii,
            source: d.source,
            ...(d.op.pointer ? { pointer: d.op.pointer } : {}),
          });
      }
      // Recall only over places the traffic reached (a documented object seen at least once).
      for (const ptr of dp.keys()) {
        const parent = ptr.slice(0, ptr.lastIndexOf('/'));
        if (parent !== '' && !lp.has(parent)) continue;
        props.documented++;
        if (lp.has(ptr)) props.recalled++;
        else
          out.unseen.push({
            operation: `${d.op.method.toUpperCase()} ${d.full}`,
            where: status ?? 'request',
            property: ptr,
          });
      }
    }
  }
  for (const d of docOps)
    if (!called.has(d))
      out.neverCalled.push({
        operation: `${d.op.method.toUpperCase()} ${d.full}`,
        source: d.source,
        ...(d.op.pointer ? { pointer: d.op.pointer } : {}),
      });
  out.metrics = {
    operationPrecision: ratio(out.matches.length, learned.operations.length),
    operationRecall: ratio(called.size, docOps.length),
    templatesExact: ratio(templatesExact, out.matches.length),
    parameterNames: ratio(names, out.matches.length),
    propertyPrecision: ratio(props.found, props.learned),
    propertyRecall: ratio(props.recalled, props.documented),
    propertyTypes: ratio(props.typeOk, props.typed),
    security: ratio(secMatched, secCompared),
  };
  return out;
}

function jsonSchemaOf(content: Record<string, { schema?: JsonSchema }> | undefined): JsonSchema | undefined {
  if (!content) return undefined;
  for (const [ct, m] of Object.entries(content))
    if ((ct === 'application/json' || ct.endsWith('+json')) && m.schema !== undefined) return m.schema;
  return undefined;
}

interface Place {
  types: string[];
  pii: string[];
  /** An object that declares no properties (any property allowed). */
  open: boolean;
}

/** Pointer → types of every property place in a schema (`/items/*\/id`), `$ref`s already resolved. */
export function flatten(
  schema: JsonSchema,
  pointer = '',
  out = new Map<string, Place>(),
  seen = new Set<object>(),
): Map<string, Place> {
  if (!isObj(schema) || seen.has(schema) || pointer.split('/').length > 16) return out;
  seen.add(schema);
  const parts = [
    schema,
    ...(['allOf', 'oneOf', 'anyOf'] as const).flatMap((k) =>
      Array.isArray(schema[k]) ? (schema[k] as JsonSchema[]) : [],
    ),
  ];
  for (const part of parts) {
    if (!isObj(part)) continue;
    if (part !== schema) flatten(part, pointer, out, seen);
    if (isObj(part.properties))
      for (const [k, v] of Object.entries(part.properties)) {
        const ptr = `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const prev = out.get(ptr);
        const place = placeOf(v as JsonSchema);
        out.set(
          ptr,
          prev
            ? {
                types: [...new Set([...prev.types, ...place.types])],
                pii: prev.pii,
                open: prev.open && place.open,
              }
            : place,
        );
        flatten(v as JsonSchema, ptr, out, seen);
      }
    if (part.items !== undefined) flatten(part.items as JsonSchema, `${pointer}/*`, out, seen);
  }
  seen.delete(schema);
  return out;
}

function placeOf(s: JsonSchema): Place {
  if (!isObj(s)) return { types: [], pii: [], open: true };
  const t = s.type;
  let types = Array.isArray(t) ? (t as string[]) : typeof t === 'string' ? [t] : [];
  for (const k of ['allOf', 'oneOf', 'anyOf'] as const)
    if (Array.isArray(s[k]))
      for (const sub of s[k] as JsonSchema[]) types = [...types, ...placeOf(sub).types];
  const observed = isObj(s['x-rampart-observed']) ? (s['x-rampart-observed'] as Obj) : {};
  const open = types.includes('object') && !isObj(s.properties) && s.additionalProperties !== false;
  return {
    types: [...new Set(types)],
    pii: Array.isArray(observed.pii) ? (observed.pii as string[]) : [],
    open,
  };
}

/** Learned types agree when each is allowed by the document (an integer is a number). */
function typesAgree(learned: string[], documented: string[]): boolean {
  if (documented.length === 0) return true;
  return learned.every((t) => documented.includes(t) || (t === 'integer' && documented.includes('number')));
}

/** A property under a documented object that declares no properties is not "undeclared". */
function parentOpen(ptr: string, documented: Map<string, Place>): boolean {
  const parent = ptr.slice(0, ptr.lastIndexOf('/'));
  return parent !== '' && documented.get(parent)?.open === true;
}

/** The comparison as findings of the shared model (docs/findings.md), source `learn`. */
export function comparisonFindings(c: Comparison, learnedSource: string): Finding[] {
  const out: Finding[] = [];
  for (const s of c.shadow)
    out.push({
      id: findingId('learn', 'learn/shadow-endpoint', s.operation),
      source: 'learn',
      check: 'learn/shadow-endpoint',
      owasp: 'API9:2023',
      cwe: 1059,
      severity: s.public ? 'high' : 'medium',
      confidence: 'firm',
      operation: s.operation,
      title: `Shadow endpoint: ${s.operation} answers but is in no document`,
      description:
        `${s.operation} was called ${s.calls} time(s) through the learning proxy (statuses ${Object.entries(
          s.statuses,
        )
          .map(([k, v]) => `${k}×${v}`)
          .join(
            ', ',
          )})${s.public ? ', answered without credentials,' : ''} and matches no operation of the documents. ` +
        'Undocumented endpoints escape review, versioning and the gateway’s contract.',
      evidence: { location: { file: learnedSource }, details: { calls: s.calls, statuses: s.statuses } },
      remediation: {
        summary:
          'Remove the endpoint, or document it (then the gateway routes and enforces it; undocumented paths answer 404 there).',
        references: ['https://owasp.org/API-Security/editions/2023/en/0xa9-improper-inventory-management/'],
      },
    });
  for (const n of c.neverCalled)
    out.push({
      id: findingId('learn', 'learn/never-called', n.operation),
      source: 'learn',
      check: 'learn/never-called',
      owasp: 'API9:2023',
      severity: 'info',
      confidence: 'tentative',
      operation: n.operation,
      title: `Documented but never called: ${n.operation}`,
      description: `No traffic reached ${n.operation} while learning: a candidate for retirement, or a gap in the traffic observed.`,
      evidence: { location: { file: n.source, ...(n.pointer ? { pointer: n.pointer } : {}) } },
      remediation: {
        summary: 'Check whether any client still needs it; deprecate and retire it if none does.',
      },
    });
  for (const u of c.undeclared)
    out.push({
      id: findingId('learn', 'learn/undeclared-property', u.documented, u.status, u.property),
      source: 'learn',
      check: 'learn/undeclared-property',
      owasp: 'API3:2023',
      cwe: 213,
      severity: u.pii.length ? 'high' : 'medium',
      confidence: 'firm',
      operation: u.documented,
      title: `Undeclared property ${u.property} returned by ${u.documented} (${u.status})`,
      description:
        `The ${u.status} answers of ${u.documented} carried ${u.property}, which its schema does not declare` +
        (u.pii.length ? ` (personal data seen there: ${u.pii.join(', ')}; no value was kept)` : '') +
        '. Returning more than the contract says is excessive data exposure.',
      evidence: {
        location: { file: u.source, ...(u.pointer ? { pointer: u.pointer } : {}) },
        details: { status: u.status, property: u.property, ...(u.pii.length ? { pii: u.pii } : {}) },
      },
      remediation: {
        summary:
          'Stop returning it, or declare it if clients need it; the gateway’s minimise-response policy drops undeclared properties.',
        policy: 'minimise-response',
      },
    });
  return out;
}

/** Run facts for a comparison report. */
export function comparisonMeta(c: Comparison, target: string, startedAt: Date): RunMeta {
  const m = c.metrics;
  return {
    tool: 'learn',
    target,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    version: '0.1.0',
    stats: {
      shadowEndpoints: c.shadow.length,
      neverCalled: c.neverCalled.length,
      undeclaredProperties: c.undeclared.length,
      operationPrecision: round(m.operationPrecision.value),
      operationRecall: round(m.operationRecall.value),
      propertyPrecision: round(m.propertyPrecision.value),
      propertyRecall: round(m.propertyRecall.value),
    },
  };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
