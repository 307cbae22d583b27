/**
 * `x-rampart` extensions that are invalid or contradict the document: the gateway would
 * refuse them or, worse, enforce something other than what the author meant.
 */
import { suggest } from '../../core/config-loader.ts';
import { pathTemplateParams } from '../../core/openapi-loader.ts';
import { isObj, properties } from '../schema.ts';
import type { Hit, Rule } from '../types.ts';
import { bodySchemas, isPublic } from './util.ts';

/** Every `x-rampart` key the gateway's policies read (docs/policies.md). */
export const KNOWN_X_RAMPART_KEYS = [
  'auth',
  'mfa',
  'roles',
  'owner',
  'propertyAccess',
  'rateLimit',
  'flowLimit',
  'bruteForce',
  'validateRequest',
  'validateResponse',
  'injectionGuard',
  'ssrf',
  'minimiseResponse',
  'bodyLimit',
  'deprecated',
  'sunset',
  'successor',
  'cors',
  'requestLimits',
  'public',
  // The keys the gateway's policies declare today (docs/x-rampart.md).
  'deprecation',
  'concurrency',
  'flow',
  'validate',
  'injection',
  'pii',
  'uniformFailure',
];

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function window(v: unknown, name: string, out: string[]): void {
  if (!isObj(v)) {
    out.push(`${name} must be an object like { per: user, limit: 5, window: 60 }`);
    return;
  }
  if (typeof v.limit !== 'number' || !Number.isInteger(v.limit) || v.limit < 1)
    out.push(`${name}.limit must be a positive integer`);
  if (typeof v.window !== 'number' || v.window <= 0)
    out.push(`${name}.window must be a positive number of seconds`);
}

export const xRampartInvalid: Rule = {
  id: 'audit/x-rampart-invalid',
  title: 'x-rampart extension invalid or contradicting the document',
  owasp: 'API8:2023',
  severity: 'medium',
  rationale:
    'The gateway enforces x-rampart: a misspelt key protects nothing, and a rule that names a missing operation or field cannot work.',
  fix: 'Correct the extension (see docs/policies.md for every key) so it matches the operation it annotates.',
  related: [],
  operation(ctx) {
    const { op, siblings } = ctx;
    const own = isObj(op.raw?.['x-rampart']) ? (op.raw['x-rampart'] as Record<string, unknown>) : {};
    const x = op.rampart;
    const problems: string[] = [];
    for (const k of Object.keys(own))
      if (!KNOWN_X_RAMPART_KEYS.includes(k)) {
        const s = suggest(k, KNOWN_X_RAMPART_KEYS);
        problems.push(`unknown key '${k}'${s ? ` (did you mean '${s}'?)` : ''}`);
      }
    if (x.roles !== undefined) {
      if (!Array.isArray(x.roles) || !x.roles.length || x.roles.some((r) => typeof r !== 'string'))
        problems.push('roles must be a non-empty list of role names');
      else if (isPublic(op))
        problems.push('roles are required but the operation requires no authentication (security: [])');
    }
    if (x.owner !== undefined) {
      const o = x.owner;
      if (!isObj(o)) problems.push('owner must be an object { lookup, field, claim }');
      else {
        if (typeof o.field !== 'string') problems.push('owner.field is missing');
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
      if (!isObj(s) || !Array.isArray(s.fields)) problems.push('ssrf must be { fields: [...] }');
      else {
        const names = new Set<string>([...op.parameters.map((p) => p.name)]);
        for (const b of bodySchemas(ctx)) for (const p of properties(b.schema)) names.add(p.path).add(p.name);
        const unknown = s.fields.map(String).filter((f) => !names.has(f));
        if (unknown.length)
          problems.push(
            `ssrf.fields ${unknown.map((f) => `'${f}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not an input of this operation`,
          );
      }
    }
    if ('bruteForce' in own) window(x.bruteForce, 'bruteForce', problems);
    if ('rateLimit' in own) window(x.rateLimit, 'rateLimit', problems);
    if ('flowLimit' in own) window(x.flowLimit, 'flowLimit', problems);
    if (
      x.bodyLimit !== undefined &&
      (typeof x.bodyLimit !== 'number' || !Number.isInteger(x.bodyLimit) || x.bodyLimit <= 0)
    )
      problems.push('bodyLimit must be a positive integer (bytes)');
    if ('bodyLimit' in own && !op.requestBody)
      problems.push('bodyLimit on an operation without a request body');
    if (!problems.length) return undefined;
    return {
      at: [...ctx.at, 'x-rampart'],
      message: `x-rampart on ${op.method.toUpperCase()} ${op.path}: ${problems.join('; ')}.`,
      details: { problems },
    };
  },
  document(audit) {
    const hits: Hit[] = [];
    const x = audit.doc.raw['x-rampart'];
    if (x === undefined) return hits;
    const problems: string[] = [];
    if (!isObj(x)) problems.push('must be an object');
    else {
      for (const k of Object.keys(x))
        if (!KNOWN_X_RAMPART_KEYS.includes(k)) {
          const s = suggest(k, KNOWN_X_RAMPART_KEYS);
          problems.push(`unknown key '${k}'${s ? ` (did you mean '${s}'?)` : ''}`);
        }
      for (const k of ['deprecated', 'sunset'] as const)
        if (
          x[k] !== undefined &&
          (typeof x[k] !== 'string' || !DATE.test(x[k] as string) || Number.isNaN(Date.parse(x[k] as string)))
        )
          problems.push(`${k} must be a date (YYYY-MM-DD)`);
      if (typeof x.deprecated === 'string' && typeof x.sunset === 'string' && x.sunset < x.deprecated)
        problems.push(`sunset ${x.sunset} is before deprecated ${x.deprecated} (RFC 8594: never earlier)`);
      if (x.successor !== undefined && (typeof x.successor !== 'string' || !x.successor.startsWith('/')))
        problems.push('successor must be the base path of the next version, e.g. /v2');
      if ('rateLimit' in x) window(x.rateLimit, 'rateLimit', problems);
    }
    if (problems.length)
      hits.push({
        key: 'document',
        at: ['x-rampart'],
        message: `Document-level x-rampart: ${problems.join('; ')}.`,
        details: { problems },
      });
    return hits;
  },
};
