/** Small helpers the rules share: security, x-rampart, schemas of an operation, snippets. */
import { stringify } from 'yaml';
import type { JsonSchema, OpenApiOperation } from '../../core/openapi.ts';
import { isObj, type Obj } from '../schema.ts';
import type { AuditDocument, OperationContext } from '../types.ts';

/** No security requirement, or an empty one (`{}` = anonymous allowed). */
export function isPublic(op: OpenApiOperation): boolean {
  return op.security.length === 0 || op.security.some((r) => Object.keys(r).length === 0);
}

export function scopes(op: OpenApiOperation): string[] {
  return op.security.flatMap((r) => Object.values(r).flat());
}

export function roles(op: OpenApiOperation): string[] {
  const r = op.rampart.roles;
  return Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : [];
}

export const hasOwner = (op: OpenApiOperation): boolean => isObj(op.rampart.owner);

/** A policy is configured in rampart.yaml and not switched off. */
export function gatewayPolicy(audit: AuditDocument, name: string): Obj | undefined {
  const p = audit.gateway?.policies[name];
  if (p === undefined) return undefined;
  if (isObj(p) && p.enabled === false) return undefined;
  return isObj(p) ? p : {};
}

export interface MediaSchema {
  media: string;
  schema: Obj;
  at: string[];
}

export function bodySchemas(ctx: OperationContext): MediaSchema[] {
  const out: MediaSchema[] = [];
  for (const [media, m] of Object.entries(ctx.op.requestBody?.content ?? {}))
    if (isObj(m.schema))
      out.push({ media, schema: m.schema, at: [...ctx.at, 'requestBody', 'content', media, 'schema'] });
  return out;
}

export function responseSchemas(
  ctx: OperationContext,
  which: (code: string) => boolean,
): Array<MediaSchema & { code: string }> {
  const out: Array<MediaSchema & { code: string }> = [];
  for (const [code, r] of Object.entries(ctx.op.responses)) {
    if (!which(code)) continue;
    for (const [media, m] of Object.entries(r.content ?? {}))
      if (isObj(m.schema))
        out.push({
          code,
          media,
          schema: m.schema,
          at: [...ctx.at, 'responses', code, 'content', media, 'schema'],
        });
  }
  return out;
}

export const is2xx = (code: string): boolean => /^2/.test(code);
export const isError = (code: string): boolean => /^[45]/.test(code) || code === 'default';

export function hasResponse(op: OpenApiOperation, code: string): boolean {
  return code in op.responses || `${code[0]}XX` in op.responses;
}

/** An `x-rampart` block ready to paste under the operation. */
export function snippet(value: Record<string, unknown>): string {
  const lines = ['x-rampart:'];
  for (const [k, v] of Object.entries(value))
    lines.push(`  ${k}: ${stringify(v, { collectionStyle: 'flow', lineWidth: 0 }).trim()}`);
  return lines.join('\n');
}

/** The schema of a parameter, as an object (or undefined). */
export const paramSchema = (s: JsonSchema | undefined): Obj | undefined => (isObj(s) ? s : undefined);

/** `a, b and 3 more` */
export function list(items: readonly string[], max = 4): string {
  const shown = items.slice(0, max).map((s) => `'${s}'`);
  const rest = items.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}
