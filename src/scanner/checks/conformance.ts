import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema } from '../../core/openapi.ts';
import type { Check, FindingDraft } from '../context.ts';
import type { Exchange } from '../http.ts';
import { TAMPER_MARKUP } from '../relay.ts';
import { callers } from '../runner.ts';
import { requestSchema, responseFor, type ScanOperation } from '../spec.ts';
import { fix, status, who, OWASP } from './util.ts';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv2020,
) => Ajv2020;

/** True when a resolved schema contains a reference cycle (ajv cannot compile those). */
function cyclic(v: unknown, stack = new Set<unknown>()): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (stack.has(v)) return true;
  stack.add(v);
  const r = Object.values(v).some((x) => cyclic(x, stack));
  stack.delete(v);
  return r;
}

export class ResponseValidator {
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, validateFormats: true }));
  private readonly cache = new Map<unknown, ValidateFunction | undefined>();

  /** Problems of a JSON value against a schema (`/path message`), [] when valid or not checkable. */
  problems(schema: JsonSchema, value: unknown): string[] {
    let fn = this.cache.get(schema);
    if (!this.cache.has(schema)) {
      try {
        fn = typeof schema === 'object' && !cyclic(schema) ? this.ajv.compile(schema) : undefined;
      } catch {
        fn = undefined;
      }
      this.cache.set(schema, fn);
    }
    if (!fn || fn(value)) return [];
    return (fn.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  }
}

/** What is wrong with one answer against the operation's responses (status, content type, schema). */
export function violations(v: ResponseValidator, sop: ScanOperation, x: Exchange): string[] {
  const r = x.response;
  if (!r) return [];
  const doc = responseFor(sop.op, r.status);
  if (!doc) return [`status ${r.status} is not documented (${Object.keys(sop.op.responses).join(', ')})`];
  const type = (r.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (
    r.text.length > 0 &&
    doc.types.length > 0 &&
    type &&
    !doc.types.some((t) => t === type || t === '*/*' || (t.endsWith('/*') && type.startsWith(t.slice(0, -1))))
  )
    return [`content type ${type} is not documented for ${r.status} (${doc.types.join(', ')})`];
  if (doc.schema !== undefined && r.json !== undefined && /json/.test(type))
    return v.problems(doc.schema, r.json);
  return [];
}

const hasMarkup = (x: Exchange): boolean => (x.response?.text ?? '').includes(TAMPER_MARKUP.slice(0, 12));

/**
 * Conformance: answers are checked against the document (status, content type, JSON
 * schema) — those from the crawl, plus one valid call of every operation the scan may
 * send. With a tampering relay in front of a third-party API (--tamper-upstream), an
 * answer that breaks the document while the relay served tampered data is API10: the
 * target passes what an upstream says through without validating it.
 */
export const conformance: Check = {
  id: 'conformance',
  title: 'Answers violate the document',
  owasp: 'API8:2023',
  cwe: 20,
  severity: 'low',
  applicable: () => undefined,
  async *run(ctx) {
    const v = new ResponseValidator();
    const reported = new Set<string>();
    for (const sop of ctx.ops) {
      for (const o of ctx.observed.get(sop.key) ?? []) {
        const p = violations(v, sop, o.x);
        if (p.length === 0 || reported.has(sop.key)) continue;
        reported.add(sop.key);
        yield draft(sop, o.x, p, o.identity ? `as ${o.identity}` : 'without credentials', false);
      }
    }
    // Operations the crawl did not call: one valid request each.
    for (const sop of ctx.ops.filter(
      (s) => !ctx.observed.has(s.key) && !reported.has(s.key) && ['POST', 'PUT', 'PATCH'].includes(s.method),
    )) {
      const params: Record<string, string | number> = {};
      let allowed = true;
      const identity =
        callers(ctx, sop).find((i) => !i || !/admin/i.test(i.role ?? '')) ?? callers(ctx, sop)[0];
      for (const p of sop.op.parameters.filter((x) => x.in === 'path')) {
        const obj = ctx.objects.find(
          (o) =>
            o.collection === ctx.collectionOf(sop.path, p.name) && (!identity || o.owner === identity.name),
        );
        if (
          !obj ||
          (!obj.createdByScan && !ctx.unsafe && sop.method !== 'POST') ||
          (!obj.createdByScan && !ctx.unsafe)
        )
          allowed = false;
        else params[p.name] = obj.id;
      }
      if (!allowed || (sop.secured && !identity) || !requestSchema(sop.op)) continue;
      const before = ctx.relays.reduce((n, r) => n + r.tampered, 0);
      const x = await ctx.call(sop, { params, ...(identity ? { identity } : {}) });
      const viaRelay = ctx.relays.reduce((n, r) => n + r.tampered, 0) > before;
      const p = violations(v, sop, x);
      if (p.length === 0 && !(viaRelay && hasMarkup(x) && status(x) < 300)) continue;
      reported.add(sop.key);
      yield draft(
        sop,
        x,
        p.length ? p : ['tampered upstream markup passed through'],
        who(identity),
        viaRelay,
      );
    }
  },
};

function draft(
  sop: ScanOperation,
  x: Exchange,
  problems: string[],
  as: string,
  viaRelay: boolean,
): FindingDraft {
  const upstream = viaRelay && status(x) >= 200 && status(x) < 300;
  return {
    operation: sop.key,
    key: upstream ? 'upstream' : 'document',
    ...(upstream ? { owasp: 'API10:2023' as const, severity: 'high' as const, cwe: 20 } : {}),
    title: upstream
      ? `${sop.key} passes a third-party answer through unvalidated`
      : `${sop.key} answers outside its document`,
    description: upstream
      ? `While the scan's relay served tampered data from the upstream API, ${sop.key} accepted it and answered ${status(x)} with values its own document forbids: ${problems.join('; ')}. The API trusts what its supplier says.`
      : `An answer ${as} does not match the document: ${problems.join('; ')}.`,
    exchanges: [{ x, note: `${as}: ${status(x)} — ${problems[0]}` }],
    confidence: 'confirmed',
    details: { problems },
    remediation: upstream
      ? fix(
          "Validate every third-party answer against the supplier's contract (types, ranges, lengths, content type, size) and fail closed (502).",
          'validate-response',
          'x-rampart:\n  validateResponse: true',
          [OWASP + '0xaa-unsafe-consumption-of-apis/'],
        )
      : fix(
          'Make the implementation and the document agree (status codes, content types, schemas).',
          'validate-response',
          'x-rampart:\n  validateResponse: true',
        ),
  };
}
