import type { Check, ScanContext } from '../context.ts';
import type { Identity } from '../identities.ts';
import { callers } from '../runner.ts';
import { isObj, propertiesOf, requestSchema, typesOf, type ScanOperation } from '../spec.ts';
import { fix, ok, status, who, OWASP } from './util.ts';

const PAGE_PARAM =
  /^(limit|size|page_?size|per_?page|count|top|\$top|take|max(_?results)?|first|last|page_?limit|batch_?size)$/i;
const HUGE_PAGE = 100_000;

/** Operations the scan may send a body to: creations, and writes on objects it created. */
export function writableTargets(
  ctx: ScanContext,
  methods: string[],
): Array<{ sop: ScanOperation; params: Record<string, string | number>; identity?: Identity }> {
  const out: Array<{ sop: ScanOperation; params: Record<string, string | number>; identity?: Identity }> = [];
  for (const sop of ctx.ops.filter((s) => methods.includes(s.method) && requestSchema(s.op) !== undefined)) {
    const identity = callers(ctx, sop)[0];
    if (sop.secured && !identity) continue;
    const params: Record<string, string | number> = {};
    let skip = false;
    for (const p of sop.op.parameters.filter((x) => x.in === 'path')) {
      const mine = ctx.objects.find(
        (o) =>
          o.collection === ctx.collectionOf(sop.path, p.name) &&
          (o.createdByScan || ctx.unsafe) &&
          (!identity || o.owner === identity.name),
      );
      if (!mine) skip = true;
      else params[p.name] = mine.id;
    }
    if (!skip && (sop.method === 'POST' || sop.path.includes('{')))
      out.push({ sop, params, ...(identity ? { identity } : {}) });
  }
  return out;
}

/** Page-size parameters without (or beyond) a maximum: a huge value must be refused. */
export const pageSize: Check = {
  id: 'unbounded-page-size',
  title: 'Unbounded page size',
  owasp: 'API4:2023',
  cwe: 770,
  severity: 'medium',
  applicable: () => undefined,
  async *run(ctx) {
    for (const sop of ctx.ops.filter((s) => s.method === 'GET')) {
      const p = sop.op.parameters.find(
        (x) =>
          x.in === 'query' &&
          PAGE_PARAM.test(x.name) &&
          typesOf(x.schema).some((t) => t === 'integer' || t === 'number'),
      );
      if (!p) continue;
      const max = isObj(p.schema) && typeof p.schema.maximum === 'number' ? p.schema.maximum : undefined;
      if (max !== undefined && max >= HUGE_PAGE) continue;
      const identity = callers(ctx, sop)[0];
      if (sop.secured && !identity) continue;
      const x = await ctx.call(sop, { query: { [p.name]: HUGE_PAGE }, ...(identity ? { identity } : {}) });
      if (!ok(x)) continue;
      yield {
        operation: sop.key,
        key: p.name,
        title: `${sop.key} honours ${p.name}=${HUGE_PAGE}`,
        description: `${p.name}=${HUGE_PAGE} was accepted (${status(x)})${max !== undefined ? ` although the document caps it at ${max}` : ' and the document sets no maximum'}: one request can make the API read and serialise a whole table.`,
        exchanges: [{ x, note: `${who(identity)}: ${status(x)} for ${p.name}=${HUGE_PAGE}` }],
        confidence: 'confirmed',
        remediation: fix(
          `Cap ${p.name} on the server (document "maximum") and answer 400 beyond it.`,
          'validate-request',
          `# in the document: schema: { type: integer, minimum: 1, maximum: ${max ?? 100} }\nx-rampart:\n  validateRequest: true`,
          [OWASP + '0xa4-unrestricted-resource-consumption/'],
        ),
      };
    }
  },
};

const BIG = 1024 * 1024;

/** Request bodies: a 1 MiB string in a text property must be refused (413/400/422). */
export const bodySize: Check = {
  id: 'unbounded-body',
  title: 'Unbounded request body',
  owasp: 'API4:2023',
  cwe: 770,
  severity: 'medium',
  applicable: (ctx) =>
    writableTargets(ctx, ['POST']).length === 0 ? 'no operation the scan may send a body to' : undefined,
  async *run(ctx) {
    for (const t of writableTargets(ctx, ['POST', 'PUT', 'PATCH'])
      .filter((t) => t.sop.path.includes('{') || t.sop.method === 'POST')
      .slice(0, 12)) {
      const props = propertiesOf(requestSchema(t.sop.op));
      const body = ctx.sampleBody(t.sop) ?? {};
      const field = Object.entries(props)
        .filter(
          ([k, s]) =>
            k in body &&
            typesOf(s).includes('string') &&
            s.pattern === undefined &&
            s.format === undefined &&
            s.enum === undefined &&
            !/pass|secret|email|user|name$/i.test(k),
        )
        .sort(
          ([, a], [, b]) => Number(typeof b.maxLength === 'number') - Number(typeof a.maxLength === 'number'),
        )[0];
      if (!field) continue;
      const [name, schema] = field;
      const x = await ctx.call(t.sop, {
        params: t.params,
        body: { ...body, [name]: 'A'.repeat(BIG) },
        ...(t.identity ? { identity: t.identity } : {}),
      });
      if (!ok(x)) continue;
      if (isObj(x.response!.json))
        ctx.remember(
          t.sop.path,
          t.identity?.name ?? 'anonymous',
          true,
          x.response!.json,
          x.response!.headers.location,
        );
      const limit = typeof t.sop.op.rampart.bodyLimit === 'number' ? t.sop.op.rampart.bodyLimit : undefined;
      yield {
        operation: t.sop.key,
        title: `${t.sop.key} accepts a 1 MiB body`,
        description: `A body with a ${BIG}-character '${name}'${typeof schema.maxLength === 'number' ? ` (maxLength ${schema.maxLength})` : ''} was accepted (${status(x)})${limit ? `; the document declares bodyLimit ${limit}` : ''}. Parallel requests like this exhaust memory and storage.`,
        exchanges: [{ x, note: `${who(t.identity)}: ${status(x)} for a ${BIG}-byte '${name}'` }],
        confidence: 'confirmed',
        remediation: fix(
          'Refuse bodies over a size limit before parsing (413) and enforce maxLength on text properties.',
          'request-limits',
          `x-rampart:\n  bodyLimit: ${limit ?? 65536}`,
          [OWASP + '0xa4-unrestricted-resource-consumption/'],
        ),
      };
    }
  },
};
