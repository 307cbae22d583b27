/**
 * `flow-limit` (priority 720): business-flow limits (OWASP API6) — a flow such as
 * "redeem a coupon on an invoice" may complete `limit` times per consumer per window, counted
 * exactly (a sliding-window log in the counter store) and shared by every operation that
 * names the same flow, on every node. A slot is reserved atomically when the request
 * starts, so concurrent replays cannot both pass, and given back when the upstream does not
 * answer 2xx (`count: successes`, the default). Flows are declared with `x-rampart.flow` on
 * operations, or in rampart.yaml (`policies.flow-limit.flows`, each with the operations it
 * covers). Fails closed by default: no counter, no coupon.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { WindowDecision, WindowSpec } from '../../../core/counters.ts';
import { problem } from '../../../core/errors.ts';
import { definePolicy, deny, type PolicyResult, type RequestContext, type RouteInfo } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { retrySeconds } from '../rate-limit/headers.ts';
import { compileKey, ipv6PrefixSchema, knownSelector, uniqueId, type KeyFn } from '../rate-limit/keys.ts';
import { perList, windowSeconds } from '../rate-limit/limits.ts';
import { flowSchema, flowXRampart } from './x-rampart.ts';

type Flow = Static<typeof flowSchema>;

interface Reservation {
  key: string;
  id: string;
}
declare module '../../policy.ts' {
  interface PolicyState {
    'flow-limit': Reservation[];
  }
}

const schema = Type.Object(
  {
    flows: Type.Array(
      Type.Object(
        {
          ...flowSchema.properties,
          operations: Type.Array(Type.String({ pattern: '^[A-Z]+ /' }), {
            minItems: 1,
            description:
              "Operations that form the flow: 'METHOD /base/template', e.g. 'POST /v2/invoices/{invoiceId}/coupons'.",
          }),
        },
        { additionalProperties: false },
      ),
      {
        description: 'Flows declared here instead of in the OpenAPI document (x-rampart.flow).',
        default: [],
      },
    ),
    ipv6Prefix: ipv6PrefixSchema,
  },
  { additionalProperties: false },
);

const same = (a: Flow, b: Flow): boolean =>
  a.limit === b.limit &&
  windowSeconds(a.window) === windowSeconds(b.window) &&
  perList(a.per).join('+') === perList(b.per).join('+');

export const flowLimit = definePolicy({
  name: 'flow-limit',
  priority: PRIORITIES['flow-limit'],
  schema,
  xRampart: flowXRampart,
  create(options, services) {
    const counters = services.counters;
    const configured = new Map<string, Flow>();
    for (const [i, f] of options.flows.entries()) {
      if (!(windowSeconds(f.window) > 0))
        throw new Error(`flows/${i}/window: the window must be a positive duration`);
      for (const s of perList(f.per))
        if (!knownSelector(s)) throw new Error(`flows/${i}/per: unknown 'per' key '${s}'`);
      const prev = configured.get(f.name);
      if (prev && !same(prev, f))
        throw new Error(`flows/${i}: flow '${f.name}' is declared twice with different limits`);
      configured.set(f.name, f);
    }
    return {
      forRoute(route: RouteInfo) {
        const opName = `${route.operation.method.toUpperCase()} ${route.base}${route.template}`;
        const declared = route.rampart.flow as Flow | Flow[] | undefined;
        const flows: Flow[] = [
          ...(declared === undefined ? [] : Array.isArray(declared) ? declared : [declared]),
          ...options.flows.filter((f) => f.operations.includes(opName)),
        ];
        if (flows.length === 0) return undefined;
        const compiled = flows.map((f) => ({
          flow: f,
          key: compileKey(f.per, route, options.ipv6Prefix) as KeyFn,
          prefix: `flow:${route.api}:${f.name}:`,
          windowMs: windowSeconds(f.window) * 1000,
          successes: (f.count ?? 'successes') === 'successes',
        }));

        const step = (ctx: RequestContext, i: number): PolicyResult | Promise<PolicyResult> => {
          if (i === compiled.length) return undefined;
          const c = compiled[i]!;
          const spec: WindowSpec = {
            key: `${c.prefix}{${c.key(ctx)}}`,
            limit: c.flow.limit,
            windowMs: c.windowMs,
            failMode: c.flow.failMode ?? 'closed',
          };
          const id = uniqueId();
          const next = (d: WindowDecision): PolicyResult | Promise<PolicyResult> => {
            if (!d.allowed) {
              refund(ctx);
              const wait = retrySeconds(d.retryMs);
              if (d.degraded === 'closed')
                return deny(
                  problem('limits-unavailable', {
                    detail: 'The shared flow counters are unreachable; this flow fails closed',
                  }),
                  { 'Retry-After': String(wait) },
                );
              return deny(
                problem('flow-limit-exceeded', {
                  detail: `Flow '${c.flow.name}' allows ${c.flow.limit} per ${windowSeconds(c.flow.window)} s`,
                  limit: c.flow.name,
                  retry_after: wait,
                }),
                { 'Retry-After': String(wait) },
              );
            }
            if (c.successes) (ctx.state['flow-limit'] ??= []).push({ key: spec.key, id });
            return step(ctx, i + 1);
          };
          const d = counters.window(spec, 'reserve', id);
          return d instanceof Promise ? d.then(next) : next(d);
        };

        const refund = (ctx: RequestContext): void => {
          for (const r of ctx.state['flow-limit'] ?? []) {
            const p = counters.unwindow(r.key, r.id);
            if (p instanceof Promise) p.catch(() => undefined);
          }
          ctx.state['flow-limit'] = [];
        };

        return {
          onRequest: (ctx) => step(ctx, 0),
          onResponse(ctx, res) {
            if (res.status < 200 || res.status > 299) refund(ctx);
          },
        };
      },
    };
  },
});
