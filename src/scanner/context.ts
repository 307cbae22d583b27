import { findingId } from '../report/id.ts';
import type {
  Confidence,
  Evidence,
  Finding,
  OwaspApiCategory,
  Remediation,
  Severity,
} from '../core/findings.ts';
import type { Canary } from './canary.ts';
import type { TamperRelay } from './relay.ts';
import { toEvidence, type Exchange, type ScanHttp } from './http.ts';
import { isAdmin, login, type Identity } from './identities.ts';
import { isObj, requestSchema, type ScanOperation } from './spec.ts';
import { sampleObject, sampleValue, type SampleOptions, type ValuePool } from './values.ts';

export const STACK_TRACE =
  /\n\s+at [^\n]+[:(][^\n]*\d+:\d+|Traceback \(most recent call last\)|\bat [A-Za-z0-9_$.<>]+ \((?:file:|\/)[^)]*:\d+:\d+\)|Exception in thread|\.java:\d+\)|System\.[A-Za-z.]+Exception/;
export const DB_ERROR =
  /SQLITE_[A-Z]+|SQL syntax|syntax error at or near|unrecognized token|unterminated quoted string at or near|quoted string not properly terminated|ORA-\d{5}|SQLSTATE\[|PG::[A-Za-z]+Error|MySQL server version|MariaDB server version|near "[^"]*": syntax error|\bSELECT\b[^"]{0,200}\bFROM\b[^"]{0,200}\bWHERE\b/i;

/** True when a body shows a stack trace or a database error text. */
export function leaksInternals(text: string): boolean {
  const t = text.length > 200_000 ? text.slice(0, 200_000) : text;
  return STACK_TRACE.test(t.replace(/\\n/g, '\n')) || DB_ERROR.test(t);
}

/** A check: one module under checks/. */
export interface Check {
  id: string;
  title: string;
  owasp: OwaspApiCategory;
  cwe: number;
  severity: Severity;
  /** Why the check cannot run here (shown as a "could not test" note), or undefined. */
  applicable(ctx: ScanContext): string | undefined;
  run(ctx: ScanContext): AsyncIterable<FindingDraft>;
}

/** What a check yields; the runner fills id, source, check and the check's defaults. */
export interface FindingDraft {
  operation: string;
  title: string;
  description: string;
  exchanges: Array<{ x: Exchange; note?: string }>;
  remediation: Remediation;
  /** Distinguishes two findings of one check on one operation (kept in the id hash). */
  key?: string;
  severity?: Severity;
  confidence?: Confidence;
  owasp?: OwaspApiCategory;
  cwe?: number;
  details?: Record<string, unknown>;
}

/** An object the scan knows: created through the document's operations, listed, or probed. */
export interface KnownObject {
  /** Collection path template the object belongs to (`/v2/records`). */
  collection: string;
  id: string | number;
  /** Identity that created it or first read it. */
  owner: string;
  createdByScan: boolean;
  /** The object as returned at creation/listing. */
  body?: Record<string, unknown>;
  /**
   * For a nested collection (`/projects/{projectId}/tasks`): the values of the enclosing
   * path parameters the object was created or listed under (`{ projectId: 7 }`).
   */
  parents?: Record<string, string | number>;
}

export interface CallOptions {
  identity?: Identity;
  params?: Record<string, string | number>;
  query?: Record<string, string | number>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw path suffix replacing the template (traversal payloads). */
  rawPath?: string;
  contentType?: string;
}

/** Stable id: the same problem at the same place gets the same id across runs. */
export function scanFindingId(check: string, operation: string, key: string): string {
  return findingId('scan', check, operation, key);
}

/** Everything a check may use: the HTTP client, operations, identities, the canary, known objects. */
export class ScanContext {
  readonly objects: KnownObject[] = [];
  /** Baseline exchanges per operation key (the crawl), for passive checks. */
  readonly observed = new Map<string, Array<{ identity?: string; x: Exchange }>>();
  readonly notes: string[] = [];
  readonly tag: string;
  /** First answer per operation that leaked a stack trace or a database error (verbose-errors reads it). */
  readonly leakyErrors = new Map<string, Exchange>();
  /** Tampering relays in front of the target's upstream APIs (conformance reads their counters). */
  relays: TamperRelay[] = [];
  /** Extra HMAC secrets to try (--jwt-wordlist), after the bundled list. */
  jwtWordlist: string[] = [];

  constructor(
    readonly http: ScanHttp,
    private operations: ScanOperation[],
    readonly identities: Identity[],
    readonly pool: ValuePool,
    readonly canary: Canary | undefined,
    readonly unsafe: boolean,
    tag: string,
    readonly now: () => number,
  ) {
    this.tag = tag;
  }

  /** The operations the checks test (every operation, or the focused ones after `narrow`). */
  get ops(): ScanOperation[] {
    return this.operations;
  }

  /** Restricts the operations the checks see (`--focus-audit … --focus-only`). */
  narrow(ops: ScanOperation[]): void {
    this.operations = ops;
  }

  note(msg: string): void {
    if (!this.notes.includes(msg)) this.notes.push(msg);
  }

  get users(): Identity[] {
    return this.identities.filter((i) => !isAdmin(i));
  }

  get admins(): Identity[] {
    return this.identities.filter(isAdmin);
  }

  sampleOptions(extra: Partial<SampleOptions> = {}): SampleOptions {
    return {
      urlValue: this.canary ? this.canary.url(this.canary.newToken()) : `${this.http.origin}/`,
      pool: this.pool,
      tag: this.tag,
      ...extra,
    };
  }

  /** A valid JSON body for the operation, or undefined when it takes none. */
  sampleBody(sop: ScanOperation, extra?: Partial<SampleOptions>): Record<string, unknown> | undefined {
    const schema = requestSchema(sop.op);
    if (schema === undefined) return sop.op.requestBody ? {} : undefined;
    return sampleObject(schema, this.sampleOptions(extra));
  }

  /** Collection template that owns a path parameter: `/v2/records/{recordId}` → `/v2/records`. */
  collectionOf(path: string, param: string): string {
    const i = path.indexOf(`{${param}}`);
    return path.slice(0, Math.max(0, i - 1));
  }

  /** The path parameters of a template in path order (`/a/{x}/b/{y}` → x, y). */
  static pathParams(path: string): string[] {
    return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  }

  /**
   * Values for every enclosing path parameter of `path`, each a known object owned by
   * `owner` (`/projects/{projectId}/tasks` → `{ projectId: <one of owner's projects> }`),
   * together with that object's own parents; undefined when one is unknown.
   */
  parentParams(path: string, owner: string): Record<string, string | number> | undefined {
    const names = ScanContext.pathParams(path);
    if (names.length === 0) return {};
    const last = names[names.length - 1]!;
    const coll = this.collectionOf(path, last);
    const obj = this.objects.find((o) => o.collection === coll && o.owner === owner);
    if (!obj) return undefined;
    return { ...(obj.parents ?? {}), [last]: obj.id };
  }

  /** Values for the operation's path parameters: known objects first, then schema samples. */
  paramCandidates(sop: ScanOperation, param: string): Array<{ value: string | number; obj?: KnownObject }> {
    const coll = this.collectionOf(sop.path, param);
    const out: Array<{ value: string | number; obj?: KnownObject }> = this.objects
      .filter((o) => o.collection === coll)
      .map((o) => ({ value: o.id, obj: o }));
    if (out.length === 0) {
      const p = sop.op.parameters.find((x) => x.in === 'path' && x.name === param);
      out.push({ value: sampleValue(p?.schema, param, this.sampleOptions()) as string | number });
    }
    return out;
  }

  /** Default parameters for an operation (first candidate of each path parameter). */
  defaultParams(sop: ScanOperation): Record<string, string | number> {
    const params: Record<string, string | number> = {};
    for (const p of sop.op.parameters.filter((x) => x.in === 'path'))
      params[p.name] = this.paramCandidates(sop, p.name)[0]!.value;
    // A nested object brings its own enclosing ids: /projects/{its project}/tasks/{it}.
    const names = ScanContext.pathParams(sop.path);
    const leaf = names[names.length - 1];
    if (leaf !== undefined && names.length > 1 && sop.path.endsWith(`{${leaf}}`)) {
      const first = this.paramCandidates(sop, leaf)[0]!.obj;
      if (first?.parents) Object.assign(params, first.parents);
    }
    return params;
  }

  /** Required query parameters with sample values. */
  defaultQuery(sop: ScanOperation): Record<string, string | number> {
    const q: Record<string, string | number> = {};
    for (const p of sop.op.parameters.filter((x) => x.in === 'query' && x.required))
      q[p.name] = String(sampleValue(p.schema, p.name, this.sampleOptions()));
    return q;
  }

  /** Required header parameters with sample values (never credentials: those come from identities). */
  requiredHeaders(sop: ScanOperation): Record<string, string> {
    const h: Record<string, string> = {};
    for (const p of sop.op.parameters.filter(
      (x) => x.in === 'header' && x.required && !/^(authorization|cookie)$/i.test(x.name),
    ))
      h[p.name] = String(sampleValue(p.schema, p.name, this.sampleOptions()));
    return h;
  }

  buildPath(
    sop: ScanOperation,
    params: Record<string, string | number> = {},
    query: Record<string, string | number> = {},
    raw = false,
  ): string {
    const all = { ...this.defaultParams(sop), ...params };
    let path = sop.path.replace(/\{([^}]+)\}/g, (_m, n: string) =>
      raw ? String(all[n]) : encodeURIComponent(String(all[n] ?? '1')),
    );
    const qs = new URLSearchParams(
      Object.entries({ ...this.defaultQuery(sop), ...query }).map(
        ([k, v]) => [k, String(v)] as [string, string],
      ),
    ).toString();
    if (qs) path += '?' + qs;
    return path;
  }

  async refresh(id: Identity): Promise<void> {
    if (
      id.recipe &&
      id.recipe.refresh > 0 &&
      id.loggedInAt !== undefined &&
      this.now() - id.loggedInAt > id.recipe.refresh * 1000
    )
      await login(this.http, id, this.now());
  }

  /** Sends one request for an operation as an identity (or anonymously). */
  async call(sop: ScanOperation, o: CallOptions = {}): Promise<Exchange> {
    if (o.identity) await this.refresh(o.identity);
    const path = o.rawPath ?? this.buildPath(sop, o.params, o.query);
    const body = o.body === undefined && sop.op.requestBody ? this.sampleBody(sop) : o.body;
    const x = await this.http.send({
      method: sop.method,
      path,
      headers: {
        accept: 'application/json, */*;q=0.5',
        ...this.requiredHeaders(sop),
        ...(o.identity?.headers ?? {}),
        ...(o.headers ?? {}),
      },
      ...(body !== undefined ? { body } : {}),
      ...(o.contentType ? { contentType: o.contentType } : {}),
    });
    // Evidence names the identity unless its credential was overridden (forged tokens).
    const own = Object.keys(o.identity?.headers ?? {}).map((k) => k.toLowerCase());
    if (o.identity && !Object.keys(o.headers ?? {}).some((k) => own.includes(k.toLowerCase())))
      x.as = o.identity.name;
    if (
      x.response &&
      x.response.status >= 400 &&
      !this.leakyErrors.has(sop.key) &&
      leaksInternals(x.response.text)
    )
      this.leakyErrors.set(sop.key, x);
    return x;
  }

  /** Records a created or listed object (ids from the body or a Location header). */
  remember(
    collection: string,
    owner: string,
    createdByScan: boolean,
    body: unknown,
    location?: string,
    parents?: Record<string, string | number>,
  ): KnownObject | undefined {
    let id: unknown;
    if (isObj(body))
      id =
        body.id ??
        body.uuid ??
        body._id ??
        // The object's own key (`recordId`, `list_uuid`, `orderID`), not a reference to another one.
        Object.entries(body).find(
          ([k, v]) => /(Id|ID|Uuid|_id|_uuid)$/.test(k) && (typeof v === 'string' || typeof v === 'number'),
        )?.[1];
    if ((id === undefined || typeof id === 'object') && location)
      id = location.split('?')[0]!.split('/').filter(Boolean).pop();
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    if (this.objects.some((o) => o.collection === collection && String(o.id) === String(id)))
      return undefined;
    const obj: KnownObject = {
      collection,
      id,
      owner,
      createdByScan,
      ...(isObj(body) ? { body } : {}),
      ...(parents && Object.keys(parents).length ? { parents } : {}),
    };
    this.objects.push(obj);
    return obj;
  }

  /** The finding scaffold a check fills; kept here so evidence is always masked. */
  static evidence(draft: FindingDraft): Evidence {
    return {
      exchanges: draft.exchanges.map((e) => toEvidence(e.x, e.note)),
      ...(draft.details ? { details: draft.details } : {}),
    };
  }

  /** 2xx answer? */
  static ok(x: Exchange): boolean {
    return !!x.response && x.response.status >= 200 && x.response.status < 300;
  }
}

/** Builds the final Finding from a draft and its check. */
export function toFinding(check: Check, d: FindingDraft): Finding {
  return {
    id: scanFindingId(check.id, d.operation, d.key ?? ''),
    source: 'scan',
    check: check.id,
    owasp: d.owasp ?? check.owasp,
    cwe: d.cwe ?? check.cwe,
    severity: d.severity ?? check.severity,
    confidence: d.confidence ?? 'firm',
    operation: d.operation,
    title: d.title,
    description: d.description,
    evidence: ScanContext.evidence(d),
    remediation: d.remediation,
  };
}
