import type { Check, FindingDraft, KnownObject } from '../context.ts';
import type { Identity } from '../identities.ts';
import { fix, ok, sameObject, status, who, OWASP } from './util.ts';

const ownerFix = (path: string, param: string): string =>
  `x-rampart:\n  owner: { lookup: 'GET ${path}', field: <owner field>, claim: sub }   # on every operation with {${param}}`;

/**
 * Object-level authorization by identity swapping: objects one identity created through
 * the document's operations (or listed as its own) are read, changed and deleted as
 * another non-admin identity. Writes and deletes only touch objects the scan created,
 * unless --unsafe.
 */
export const bola: Check = {
  id: 'bola-identity-swap',
  title: 'Broken object level authorization',
  owasp: 'API1:2023',
  cwe: 639,
  severity: 'high',
  applicable: (ctx) =>
    ctx.users.length < 2
      ? 'needs two non-admin identities (--identity/--auth)'
      : ctx.objects.length === 0
        ? 'no objects could be created or listed'
        : undefined,
  async *run(ctx) {
    const order = ['GET', 'PATCH', 'PUT', 'DELETE'];
    const ops = ctx.ops
      .filter((s) => order.includes(s.method) && s.secured && objectParam(s) !== undefined)
      .sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method));
    for (const sop of ops) {
      const param = objectParam(sop)!;
      const coll = ctx.collectionOf(sop.path, param);
      const objs = ctx.objects.filter(
        (o) => o.collection === coll && ctx.users.some((u) => u.name === o.owner),
      );
      const write = sop.method !== 'GET';
      let done = false;
      for (const obj of objs.slice(0, 3)) {
        if (done) break;
        if (write && !obj.createdByScan && !ctx.unsafe) {
          ctx.note(`${sop.key}: not sent to ${coll}/${obj.id} — the scan did not create it (use --unsafe)`);
          continue;
        }
        const owner = ctx.identities.find((i) => i.name === obj.owner)!;
        const attacker = ctx.users.find((u) => u.name !== owner.name) as Identity;
        const own = { ...(obj.parents ?? {}), [param]: obj.id };
        // 1. The owner's own path, as another user.
        let d = await swap(ctx, sop, obj, owner, attacker, own, own);
        // 2. Nested objects: the attacker's own parent path with the owner's object id
        //    (/projects/{mine}/tasks/{theirs}) — an API that checks the parent but not that
        //    the object belongs to it.
        if (!d && obj.parents) {
          const mine = ctx.parentParams(coll, attacker.name);
          if (mine && Object.keys(mine).some((k) => String(mine[k]) !== String(obj.parents![k])))
            d = await swap(ctx, sop, obj, owner, attacker, own, { ...mine, [param]: obj.id });
        }
        if (d) {
          done = true;
          yield d;
        }
      }
    }
  },
};

/**
 * The path parameter that names the object: the only one, or — with several
 * (`/users/{userId}/orders/{orderId}`) — the last, when the path ends with it.
 */
function objectParam(sop: import('../spec.ts').ScanOperation): string | undefined {
  const names = sop.op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
  if (names.length === 1) return names[0];
  if (names.length === 0) return undefined;
  const inPath = [...sop.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const last = inPath[inPath.length - 1];
  return last !== undefined && sop.path.endsWith(`{${last}}`) && names.includes(last) ? last : undefined;
}

async function swap(
  ctx: import('../context.ts').ScanContext,
  sop: import('../spec.ts').ScanOperation,
  obj: KnownObject,
  owner: Identity,
  attacker: Identity,
  params: Record<string, string | number>,
  attackParams: Record<string, string | number>,
): Promise<FindingDraft | undefined> {
  const viaOwnParent = attackParams !== params;
  const how = viaOwnParent ? ` through ${attacker.name}'s own ${describeParents(attackParams, obj)}` : '';
  const body = sop.op.requestBody ? ctx.sampleBody(sop) : undefined;
  if (sop.method === 'DELETE') {
    const x = await ctx.call(sop, { identity: attacker, params: attackParams });
    if (!ok(x)) return undefined;
    const get = ctx.ops.find((s) => s.method === 'GET' && s.path === sop.path);
    const after = get ? await ctx.call(get, { identity: owner, params }) : undefined;
    if (after && ok(after)) return undefined; // not actually deleted
    return draft(sop, obj, owner, attacker, viaOwnParent, [
      { x, note: `${who(attacker)}: ${status(x)} deleting ${owner.name}'s object${how}` },
      ...(after ? [{ x: after, note: `${who(owner)}: ${status(after)} — the object is gone` }] : []),
    ]);
  }
  // Control: the owner itself must succeed, or the operation cannot be judged.
  const control = await ctx.call(sop, { identity: owner, params, ...(body ? { body } : {}) });
  if (!ok(control)) return undefined;
  const x = await ctx.call(sop, { identity: attacker, params: attackParams, ...(body ? { body } : {}) });
  if (!ok(x)) return undefined;
  const reference = obj.body ?? control.response!.json;
  const leaked = sop.method === 'GET' ? sameObject(reference, x.response!.json) : true;
  if (!leaked) return undefined;
  return draft(sop, obj, owner, attacker, viaOwnParent, [
    { x: control, note: `${who(owner)} (the owner): ${status(control)}` },
    { x, note: `${who(attacker)}: ${status(x)} on ${owner.name}'s object ${String(obj.id)}${how}` },
  ]);
}

const describeParents = (attackParams: Record<string, string | number>, obj: KnownObject): string =>
  Object.keys(obj.parents ?? {})
    .map((k) => `${k} ${String(attackParams[k])}`)
    .join(', ');

function draft(
  sop: import('../spec.ts').ScanOperation,
  obj: KnownObject,
  owner: Identity,
  attacker: Identity,
  viaOwnParent: boolean,
  exchanges: FindingDraft['exchanges'],
): FindingDraft {
  const verb =
    { GET: 'reads', PATCH: 'changes', PUT: 'replaces', DELETE: 'deletes' }[sop.method] ?? 'reaches';
  const param = objectParam(sop)!;
  const parents = Object.keys(obj.parents ?? {});
  return {
    operation: sop.key,
    title: `Another user ${verb} objects it does not own (${sop.key})`,
    description: viaOwnParent
      ? `${attacker.name} ${verb} the object ${String(obj.id)} that ${owner.name} ${obj.createdByScan ? 'created' : 'owns'} by putting its id under ${attacker.name}'s own ${parents.join(', ')}; the API checks that the enclosing object is the caller's, not that this object belongs to it.`
      : `${attacker.name} ${verb} the object ${String(obj.id)} that ${owner.name} ${obj.createdByScan ? 'created' : 'owns'}; the API checks that a caller is signed in, not that the object is theirs.`,
    exchanges,
    confidence: 'confirmed',
    severity: sop.method === 'GET' ? 'high' : 'critical',
    key: sop.method,
    details: {
      owner: owner.name,
      attacker: attacker.name,
      objectId: obj.id,
      createdByScan: obj.createdByScan,
      ...(obj.parents ? { parents: obj.parents, viaOwnParent } : {}),
    },
    remediation: fix(
      parents.length
        ? `Authorize every object access against the caller and check that the object belongs to the enclosing ${parents.join(', ')} in the path (look it up by both ids); answer 404 otherwise.`
        : 'Authorize every object access against the caller (owner, assignee or admin) and answer 404 otherwise, before reading or writing.',
      'owner',
      ownerFix(sop.path.slice(sop.base.length), param),
      [OWASP + '0xa1-broken-object-level-authorization/'],
    ),
  };
}
