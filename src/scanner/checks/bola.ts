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
      .filter(
        (s) =>
          order.includes(s.method) &&
          s.secured &&
          s.op.parameters.filter((p) => p.in === 'path').length === 1,
      )
      .sort((a, b) => order.indexOf(a.method) - order.indexOf(b.method));
    for (const sop of ops) {
      const param = sop.op.parameters.find((p) => p.in === 'path')!.name;
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
        const d = await swap(ctx, sop, param, obj, owner, attacker);
        if (d) {
          done = true;
          yield d;
        }
      }
    }
  },
};

async function swap(
  ctx: import('../context.ts').ScanContext,
  sop: import('../spec.ts').ScanOperation,
  param: string,
  obj: KnownObject,
  owner: Identity,
  attacker: Identity,
): Promise<FindingDraft | undefined> {
  const params = { [param]: obj.id };
  const body = sop.op.requestBody ? ctx.sampleBody(sop) : undefined;
  if (sop.method === 'DELETE') {
    const x = await ctx.call(sop, { identity: attacker, params });
    if (!ok(x)) return undefined;
    const get = ctx.ops.find((s) => s.method === 'GET' && s.path === sop.path);
    const after = get ? await ctx.call(get, { identity: owner, params }) : undefined;
    if (after && ok(after)) return undefined; // not actually deleted
    return draft(sop, obj, owner, attacker, [
      { x, note: `${who(attacker)}: ${status(x)} deleting ${owner.name}'s object` },
      ...(after ? [{ x: after, note: `${who(owner)}: ${status(after)} — the object is gone` }] : []),
    ]);
  }
  // Control: the owner itself must succeed, or the operation cannot be judged.
  const control = await ctx.call(sop, { identity: owner, params, ...(body ? { body } : {}) });
  if (!ok(control)) return undefined;
  const x = await ctx.call(sop, { identity: attacker, params, ...(body ? { body } : {}) });
  if (!ok(x)) return undefined;
  const reference = obj.body ?? control.response!.json;
  const leaked = sop.method === 'GET' ? sameObject(reference, x.response!.json) : true;
  if (!leaked) return undefined;
  return draft(sop, obj, owner, attacker, [
    { x: control, note: `${who(owner)} (the owner): ${status(control)}` },
    { x, note: `${who(attacker)}: ${status(x)} on ${owner.name}'s object ${String(obj.id)}` },
  ]);
}

function draft(
  sop: import('../spec.ts').ScanOperation,
  obj: KnownObject,
  owner: Identity,
  attacker: Identity,
  exchanges: FindingDraft['exchanges'],
): FindingDraft {
  const verb =
    { GET: 'reads', PATCH: 'changes', PUT: 'replaces', DELETE: 'deletes' }[sop.method] ?? 'reaches';
  const param = sop.op.parameters.find((p) => p.in === 'path')!.name;
  return {
    operation: sop.key,
    title: `Another user ${verb} objects it does not own (${sop.key})`,
    description: `${attacker.name} ${verb} the object ${String(obj.id)} that ${owner.name} ${obj.createdByScan ? 'created' : 'owns'}; the API checks that a caller is signed in, not that the object is theirs.`,
    exchanges,
    confidence: 'confirmed',
    severity: sop.method === 'GET' ? 'high' : 'critical',
    key: sop.method,
    details: {
      owner: owner.name,
      attacker: attacker.name,
      objectId: obj.id,
      createdByScan: obj.createdByScan,
    },
    remediation: fix(
      'Authorize every object access against the caller (owner, assignee or admin) and answer 404 otherwise, before reading or writing.',
      'owner',
      ownerFix(sop.path.slice(sop.base.length), param),
      [OWASP + '0xa1-broken-object-level-authorization/'],
    ),
  };
}
