import type { Check } from '../context.ts';
import { isObj, requestSchema } from '../spec.ts';
import { fix, ok, status, who, OWASP } from './util.ts';

/**
 * Sensitive business flows: an action on an object (`POST /things/{id}/action`) is sent
 * twice with the same body by the object's owner. Two successes whose answers differ
 * (the effect accumulated: a discount applied again, a counter moved twice) mean the
 * action is replayable; a once-only action answers 409 the second time. Sent to
 * objects the scan did not create only with --unsafe.
 */
/** A new id is a new object (a create endpoint answered twice), not an effect that accumulated. */
const ID_KEY = /^(id|uuid|_id)$|(Id|ID|_id)$/;

export const businessFlow: Check = {
  id: 'business-flow-replay',
  title: 'Replayable business action',
  owasp: 'API6:2023',
  cwe: 837,
  severity: 'medium',
  applicable: (ctx) => (ctx.users.length === 0 ? 'needs a non-admin identity' : undefined),
  async *run(ctx) {
    for (const sop of ctx.ops.filter(
      (s) => s.method === 'POST' && /\{[^}]+\}\/[^/{}]+$/.test(s.path) && requestSchema(s.op) !== undefined,
    )) {
      const param = sop.op.parameters.find((p) => p.in === 'path')?.name;
      if (!param || sop.op.parameters.filter((p) => p.in === 'path').length !== 1) continue;
      const coll = ctx.collectionOf(sop.path, param);
      const obj = ctx.objects.find(
        (o) =>
          o.collection === coll &&
          ctx.users.some((u) => u.name === o.owner) &&
          (o.createdByScan || ctx.unsafe),
      );
      if (!obj) {
        if (ctx.objects.some((o) => o.collection === coll))
          ctx.note(`${sop.key}: replay not sent — the scan did not create the object (use --unsafe)`);
        continue;
      }
      const owner = ctx.identities.find((i) => i.name === obj.owner)!;
      const body = ctx.sampleBody(sop);
      const first = await ctx.call(sop, {
        identity: owner,
        params: { [param]: obj.id },
        ...(body ? { body } : {}),
      });
      if (!ok(first)) continue;
      const second = await ctx.call(sop, {
        identity: owner,
        params: { [param]: obj.id },
        ...(body ? { body } : {}),
      });
      if (!ok(second)) continue;
      const a = first.response!.json;
      const b = second.response!.json;
      const changed =
        isObj(a) && isObj(b)
          ? Object.keys(a).filter((k) => typeof a[k] === 'number' && a[k] !== b[k] && !ID_KEY.test(k))
          : [];
      if (changed.length === 0) continue;
      yield {
        operation: sop.key,
        title: `${sop.key} can be repeated and its effect accumulates`,
        description: `The same request ${who(owner)} succeeded twice (${status(first)}, ${status(second)}) and changed ${changed.join(', ')} again (${changed.map((k) => `${k}: ${String(a && (a as Record<string, unknown>)[k])} → ${String((b as Record<string, unknown>)[k])}`).join('; ')}): a once-only action can be replayed.`,
        exchanges: [
          { x: first, note: `first: ${status(first)}` },
          { x: second, note: `replay: ${status(second)}, ${changed.join(', ')} changed again` },
        ],
        confidence: 'confirmed',
        remediation: fix(
          'Record the action and refuse repeats (409) in the same transaction; limit how often a user may run the flow.',
          'flow-limit',
          'x-rampart:\n  rateLimit: { per: user, limit: 5, window: 3600 }   # plus a once-only rule in the service',
          [OWASP + '0xa6-unrestricted-access-to-sensitive-business-flows/'],
        ),
      };
    }
  },
};
