import type { Check } from '../context.ts';
import { isObj, propertiesOf, requestSchema, successResponses, type ScanOperation } from '../spec.ts';
import { fix, ok, status, who, OWASP } from './util.ts';

const PRIVILEGED =
  /^(role|roles|is_?admin|admin|permissions?|scopes?|groups?|is_?staff|is_?superuser|verified|is_?verified|email_?verified|balance|credits?|plan|tier|owner(_?id)?|user_?id|account_?id|status|approved|discount)$/i;

/** Properties worth trying: readOnly in the request or response schema, or privileged names the request does not document as writable. */
function candidates(
  sop: ScanOperation,
): Array<{ name: string; schema: Record<string, unknown>; privileged: boolean }> {
  const req = propertiesOf(requestSchema(sop.op));
  const res: Record<string, Record<string, unknown>> = {};
  for (const r of successResponses(sop.op)) Object.assign(res, propertiesOf(r.schema));
  const out: Array<{ name: string; schema: Record<string, unknown>; privileged: boolean }> = [];
  for (const [name, schema] of Object.entries({ ...res, ...req })) {
    const writable = name in req && req[name]!.readOnly !== true;
    if (writable) continue;
    const readOnly = req[name]?.readOnly === true || res[name]?.readOnly === true;
    const privileged = PRIVILEGED.test(name);
    if (!readOnly && !privileged) continue;
    if (/^(id|uuid|_id|created_?at|updated_?at)$/i.test(name)) continue;
    out.push({ name, schema, privileged });
  }
  return out.sort((a, b) => Number(b.privileged) - Number(a.privileged)).slice(0, 6);
}

function tamperValue(schema: Record<string, unknown>, current: unknown, tag: string): unknown {
  if (Array.isArray(schema.enum)) {
    const others = schema.enum.filter((v) => v !== current && v !== null);
    return (
      others.find((v) => typeof v === 'string' && /admin|root|super|owner/i.test(v)) ??
      others[others.length - 1]
    );
  }
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  if (t === 'boolean') return current === true ? false : true;
  if (t === 'integer' || t === 'number') return typeof current === 'number' ? current + 1000 : 999999;
  if (t === 'array') return ['admin'];
  return /role|group|tier|plan/i.test(String(schema.title ?? '')) ? 'admin' : `rampart${tag}`;
}

/**
 * Mass assignment: privileged and readOnly properties are sent one at a time with a
 * valid body (as a non-admin identity, on its own resources or objects the scan
 * created), then read back. Accepted and applied = a finding; the old value is put back.
 */
export const massAssignment: Check = {
  id: 'mass-assignment',
  title: 'Mass assignment of privileged or read-only properties',
  owasp: 'API3:2023',
  cwe: 915,
  severity: 'high',
  applicable: (ctx) => (ctx.identities.length === 0 ? 'needs an identity' : undefined),
  async *run(ctx) {
    const user = ctx.users[ctx.users.length - 1] ?? ctx.identities[0]!;
    for (const sop of ctx.ops.filter(
      (s) => ['PATCH', 'PUT', 'POST'].includes(s.method) && requestSchema(s.op) !== undefined,
    )) {
      const params: Record<string, string | number> = {};
      let skip = false;
      for (const p of sop.op.parameters.filter((x) => x.in === 'path')) {
        const mine = ctx.objects.find(
          (o) =>
            o.collection === ctx.collectionOf(sop.path, p.name) && o.createdByScan && o.owner === user.name,
        );
        if (!mine) skip = true;
        else params[p.name] = mine.id;
      }
      if (skip) continue;
      const read = ctx.ops.find((s) => s.method === 'GET' && s.path === sop.path);
      const before = read ? await ctx.call(read, { identity: user, params }) : undefined;
      const current = before && ok(before) && isObj(before.response!.json) ? before.response!.json : {};
      for (const c of candidates(sop)) {
        const value = tamperValue(c.schema, current[c.name], ctx.tag);
        if (value === undefined) continue;
        const plain = ctx.sampleBody(sop) ?? {};
        // Control: without the property, would the answer carry that value anyway (server-set)?
        const control =
          read === undefined || sop.method === 'POST'
            ? await ctx.call(sop, { identity: user, params, body: plain })
            : undefined;
        if (
          control &&
          ok(control) &&
          isObj(control.response!.json) &&
          JSON.stringify(control.response!.json[c.name]) === JSON.stringify(value)
        )
          continue;
        const body = { ...plain, [c.name]: value };
        const x = await ctx.call(sop, { identity: user, params, body });
        if (!ok(x)) continue;
        const echoed =
          isObj(x.response!.json) && JSON.stringify(x.response!.json[c.name]) === JSON.stringify(value);
        const after = read ? await ctx.call(read, { identity: user, params }) : undefined;
        const stored =
          after &&
          ok(after) &&
          isObj(after.response!.json) &&
          JSON.stringify(after.response!.json[c.name]) === JSON.stringify(value);
        if (!echoed && !stored) continue;
        // Put the old value back (best effort) so later checks see the identity as it was.
        if (c.name in current && sop.method !== 'POST')
          await ctx.call(sop, { identity: user, params, body: { [c.name]: current[c.name] } });
        yield {
          operation: sop.key,
          key: c.name,
          title: `${sop.key} binds the ${c.privileged ? 'privileged' : 'read-only'} property '${c.name}'`,
          description: `Sending '${c.name}' (${c.privileged ? 'a privileged property' : 'readOnly in the document'}) in the body of ${sop.key} ${who(user)} changed it to ${JSON.stringify(value)}; the API binds request properties it should ignore or reject.`,
          exchanges: [
            { x, note: `${who(user)}: ${status(x)} with ${c.name}=${JSON.stringify(value)}` },
            ...(after ? [{ x: after, note: `read back: ${c.name} is ${JSON.stringify(value)}` }] : []),
          ],
          confidence: 'confirmed',
          severity: c.privileged ? 'high' : 'medium',
          remediation: fix(
            'Bind only the documented writable properties (an allow-list per operation) and reject readOnly or unknown properties with 422.',
            'property-access',
            `x-rampart:\n  propertyAccess: { readOnly: [${c.name}] }   # and mark ${c.name} readOnly in the schema`,
            [OWASP + '0xa3-broken-object-property-level-authorization/'],
          ),
        };
      }
    }
  },
};
