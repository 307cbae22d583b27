/**
 * `x-rampart` extensions that are invalid or contradict the document: the gateway would
 * refuse them or, worse, enforce something other than what the author meant.
 */
import { parsePointer, parseYamlSource, toPointer, validateAt } from '../../core/config-loader.ts';
import { pathTemplateParams, xRampartSchema } from '../../core/openapi-loader.ts';
import { isObj, properties } from '../schema.ts';
import type { AuditDocument, Hit, Rule } from '../types.ts';
import { bodySchemas, isPublic } from './util.ts';

/**
 * Problems of one `x-rampart` object (at pointer segments `at`) against the schemas the
 * gateway's policies declare — unknown keys with a did-you-mean, invalid values — and their
 * cross-reference checks over the document: exactly what `rampart check` and the gateway
 * refuse. Without the schemas (AuditDocument.xRampart unset) only contradictions are judged.
 */
function schemaProblems(
  x: unknown,
  at: string[],
  audit: AuditDocument,
): { problems: string[]; first?: string[] } {
  const keys = audit.xRampart;
  if (!keys) return { problems: [] };
  const source = audit.source ?? parseYamlSource(JSON.stringify(audit.doc.raw), audit.file);
  // A copy: validation applies defaults, and the other rules read the document as written.
  const errors = validateAt(structuredClone(x), xRampartSchema(keys) as Record<string, unknown>, source, at);
  const problems = errors.map((e) => `${e.path}: ${e.message}`);
  let first = errors[0] ? parsePointer(errors[0].path) : undefined;
  if (errors.length === 0 && isObj(x))
    for (const [k, v] of Object.entries(x)) {
      const check = keys.get(k)?.check;
      if (!check) continue;
      for (const p of check(v, audit.doc)) {
        const segments = [...at, k, ...(p.path ?? [])];
        problems.push(`${toPointer(segments)}: ${p.message}`);
        first ??= segments;
      }
    }
  return { problems, ...(first ? { first } : {}) };
}

export const xRampartInvalid: Rule = {
  id: 'audit/x-rampart-invalid',
  title: 'x-rampart extension invalid or contradicting the document',
  owasp: 'API8:2023',
  severity: 'medium',
  rationale:
    'The gateway enforces x-rampart: a misspelt key protects nothing, and a rule that names a missing operation or field cannot work.',
  fix: 'Correct the extension (docs/x-rampart.md lists every key and its schema) so it matches the operation it annotates.',
  related: [],
  operation(ctx) {
    const { op, siblings } = ctx;
    const own = isObj(op.raw?.['x-rampart']) ? (op.raw['x-rampart'] as Record<string, unknown>) : {};
    const x = op.rampart;
    const schema = schemaProblems(own, [...ctx.at, 'x-rampart'], ctx.audit);
    const problems: string[] = [...schema.problems];
    if (Array.isArray(x.roles) && x.roles.length) {
      if (isPublic(op))
        problems.push('roles are required but the operation requires no authentication (security: [])');
    }
    if (x.owner !== undefined) {
      const o = x.owner;
      if (isObj(o)) {
        if (typeof o.lookup === 'string') {
          const m = /^([A-Z]+) (\/\S*)$/.exec(o.lookup);
          if (!m) problems.push(`owner.lookup '${o.lookup}' must be 'METHOD /path/{param}'`);
          else {
            const target = siblings.find((s) => s.method === m[1]!.toLowerCase() && s.path === m[2]);
            if (!target) problems.push(`owner.lookup names ${o.lookup}, which is not in this document`);
            const needs = pathTemplateParams(m[2]!);
            const has = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
            const missing = needs.filter((n) => !has.includes(n));
            if (missing.length)
              problems.push(`owner.lookup needs {${missing.join('}, {')}}, which ${op.path} does not have`);
          }
        } else if (!op.parameters.some((p) => p.in === 'path'))
          problems.push('owner without a lookup on an operation with no path parameter');
        if (isPublic(op))
          problems.push('owner needs a caller identity but the operation requires no authentication');
      }
    }
    if (x.ssrf !== undefined) {
      const s = x.ssrf;
      if (isObj(s) && Array.isArray(s.fields)) {
        const names = new Set<string>([...op.parameters.map((p) => p.name)]);
        for (const b of bodySchemas(ctx)) for (const p of properties(b.schema)) names.add(p.path).add(p.name);
        const unknown = s.fields.map(String).filter((f) => !names.has(f));
        if (unknown.length)
          problems.push(
            `ssrf.fields ${unknown.map((f) => `'${f}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not an input of this operation`,
          );
      }
    }
    if ('bodyLimit' in own && !op.requestBody)
      problems.push('bodyLimit on an operation without a request body');
    const dep = own.deprecation;
    if (isObj(dep) && typeof dep.date === 'string' && typeof dep.sunset === 'string') {
      const [d, su] = [Date.parse(dep.date), Date.parse(dep.sunset)];
      if (!Number.isNaN(d) && !Number.isNaN(su) && su < d)
        problems.push(
          `deprecation.sunset ${dep.sunset} is before deprecation.date ${dep.date} (RFC 8594: never earlier)`,
        );
    }
    if (!problems.length) return undefined;
    return {
      at: schema.first ?? [...ctx.at, 'x-rampart'],
      message: `x-rampart on ${op.method.toUpperCase()} ${op.path}: ${problems.join('; ')}.`,
      details: { problems },
    };
  },
  document(audit) {
    const hits: Hit[] = [];
    const push = (x: unknown, at: string[], where: string): void => {
      if (x === undefined) return;
      if (!isObj(x)) {
        hits.push({ key: at.join('/'), at, message: `${where} x-rampart: must be an object.` });
        return;
      }
      const { problems, first } = schemaProblems(x, at, audit);
      if (problems.length)
        hits.push({
          key: at.join('/'),
          at: first ?? at,
          message: `${where} x-rampart: ${problems.join('; ')}.`,
          details: { problems },
        });
    };
    push(audit.doc.raw['x-rampart'], ['x-rampart'], 'Document-level');
    // Path items carry x-rampart for all their operations (the gateway reads it there too).
    const paths = audit.doc.raw.paths;
    if (isObj(paths))
      for (const [p, item] of Object.entries(paths))
        if (isObj(item)) push(item['x-rampart'], ['paths', p, 'x-rampart'], `Path ${p}`);
    return hits;
  },
};
