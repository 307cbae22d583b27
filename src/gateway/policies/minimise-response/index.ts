import { Type } from '@sinclair/typebox';
import { responseContractFor } from '../../contract/operation.ts';
import type { PiiKind } from '../../contract/pii.ts';
import { decodeAnswer } from '../../contract/encoding.ts';
import { provablySafeJson } from '../../contract/json-guard.ts';
import { replaceWithProblem, responseJson, setResponseJson } from '../../contract/response.ts';
import { definePolicy, type RequestContext, type ResponseContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { minimiseXRampart, piiKindSchema } from './x-rampart.ts';

const schema = Type.Object(
  {
    pii: Type.Array(piiKindSchema, {
      uniqueItems: true,
      description: 'PII kinds masked in every answer: email, phone, card, iban, national-id, token.',
      default: [],
    }),
    apis: Type.Record(
      Type.String(),
      Type.Object({ pii: Type.Array(piiKindSchema, { uniqueItems: true }) }, { additionalProperties: false }),
      { description: 'Per-API PII kinds (by apis[].name), replacing `pii`.', default: {} },
    ),
  },
  { additionalProperties: false, description: 'Response minimisation and PII masking (API3).' },
);

/**
 * minimise-response: every JSON answer rebuilt with only the properties its response
 * schema declares (nested objects, arrays, allOf/oneOf/anyOf, recursive schemas), then PII
 * masked per API (`pii`, `apis.<name>.pii`, `x-rampart.pii`), unmasked for roles in a
 * property's `x-rampart.visibleTo`. Minimisers and maskers are compiled per operation; the
 * body is parsed once (shared with validate-response) and serialised once — only when
 * something was dropped or masked, or when the upstream's text could be read two ways
 * (duplicate member names, numbers no double holds); otherwise its bytes pass unchanged.
 */
export const minimiseResponse = definePolicy({
  name: 'minimise-response',
  priority: PRIORITIES['minimise-response'],
  enabledByDefault: false,
  schema,
  xRampart: minimiseXRampart,
  create(options) {
    return {
      forRoute(route) {
        const x = route.rampart.pii as { mask: PiiKind[] } | undefined;
        const kinds = new Set<PiiKind>(x?.mask ?? options.apis[route.api]?.pii ?? options.pii);
        const contract = responseContractFor(route.operation, route.document.openapi, { pii: kinds });
        if (!contract.hasJsonSchemas) return undefined;
        const routeName = `${route.operation.method.toUpperCase()} ${route.template}`;
        return {
          needsResponseBody: true,
          onResponse: function minimiseResponseHook(ctx: RequestContext, res: ResponseContext) {
            if (res.local || ctx.state.responseReplaced || res.body === undefined || res.body.length === 0)
              return;
            if (ctx.method === 'HEAD') return;
            const m = contract.match(
              res.status,
              res.headers['content-type'] as string | undefined,
              res.body.length,
            );
            if (!m.ok || !m.entry?.json || (!m.entry.minimise && !m.entry.mask)) return;
            const undecodable = decodeAnswer(res);
            if (undecodable)
              return replaceWithProblem(
                ctx,
                res,
                'response-invalid',
                `An encoded upstream answer cannot be minimised: ${undecodable.detail}`,
              );
            const parsed = responseJson(ctx, res);
            if (!parsed.ok)
              return replaceWithProblem(
                ctx,
                res,
                'response-invalid',
                'The upstream answer is not the JSON it declares',
              );
            const stats = { dropped: 0, pointers: [] as string[] };
            let value = m.entry.minimise ? m.entry.minimise(parsed.value, stats, '') : parsed.value;
            if (m.entry.mask) {
              if (value === parsed.value) value = structuredClone(value);
              value = m.entry.mask(value, ctx.principal?.roles ?? []);
            }
            if (stats.dropped > 0)
              // The upstream over-shares (API3): worth a signal, with where — never the values.
              ctx.emit({
                type: 'contract-violation',
                at: ctx.clock.now(),
                requestId: ctx.id,
                ip: ctx.ip,
                policy: 'minimise-response',
                direction: 'response',
                action: 'blocked',
                api: route.api,
                route: routeName,
                violations: stats.pointers.map((pointer) => ({ pointer, keyword: 'undeclared' })),
              });
            // Nothing dropped or masked: the upstream's bytes are the answer checked — unless they
            // hold what a client could read differently (duplicate names: JSON.parse kept the
            // last, some parsers keep the first; numbers no double holds), then re-serialised.
            if (value === parsed.value && provablySafeJson(res.body, parsed.value)) return;
            setResponseJson(ctx, res, value);
          },
        };
      },
    };
  },
});
