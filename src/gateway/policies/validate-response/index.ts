import { Type } from '@sinclair/typebox';
import { decodeAnswer } from '../../contract/encoding.ts';
import { mismatchViolation, responseContractFor } from '../../contract/operation.ts';
import { codeForStatus, replaceWithProblem, responseJson } from '../../contract/response.ts';
import type { Violation } from '../../contract/schema.ts';
import { definePolicy, type RequestContext, type ResponseContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

const Mode = Type.Union([Type.Literal('block'), Type.Literal('report')]);

const schema = Type.Object(
  {
    mode: Type.Union([Type.Literal('block'), Type.Literal('report')], {
      description:
        'block: an answer that breaks the contract becomes 502 response-invalid (a broken error answer keeps its status with a generic problem); report: pass it on and emit a contract-violation event.',
      default: 'block',
    }),
    apis: Type.Record(Type.String(), Type.Object({ mode: Mode }, { additionalProperties: false }), {
      description: 'Per-API mode (by apis[].name).',
      default: {},
    }),
  },
  {
    additionalProperties: false,
    description: 'Response validation against the OpenAPI contract (API10, API8).',
  },
);

/**
 * validate-response: every upstream answer checked against the operation's declared
 * responses — status, Content-Type, body schema (undeclared properties are left to
 * minimise-response). In block mode an undeclared status or a 2xx/3xx that breaks its
 * schema becomes 502 `response-invalid`; a 4xx/5xx whose body is not the declared error
 * document (an error page, a framework message) is replaced by a generic problem with the
 * same status. The violation goes to a contract-violation event, never to the client.
 */
export const validateResponse = definePolicy({
  name: 'validate-response',
  priority: PRIORITIES['validate-response'],
  enabledByDefault: false,
  schema,
  create(options) {
    return {
      forRoute(route) {
        const contract = responseContractFor(route.operation, route.document.openapi);
        const mode = options.apis[route.api]?.mode ?? options.mode;
        const routeName = `${route.operation.method.toUpperCase()} ${route.template}`;
        const head = route.operation.method === 'head';
        const violationsOf = (ctx: RequestContext, res: ResponseContext): Violation[] => {
          const body = res.body;
          const length = body?.length ?? 0;
          const m = contract.match(
            res.status,
            res.headers['content-type'] as string | undefined,
            head ? 0 : length,
          );
          if (!m.ok) return [mismatchViolation(m)];
          const entry = m.entry;
          if (!entry?.schema || head || ctx.method === 'HEAD' || length === 0) return [];
          // gzip/deflate/br are decoded (bounded by the 8 MiB limit) and the answer leaves as identity.
          const undecodable = decodeAnswer(res);
          if (undecodable)
            return [
              { pointer: '/header/content-encoding', keyword: 'contentEncoding', detail: undecodable.detail },
            ];
          if (!entry.json) return [];
          const parsed = responseJson(ctx, res);
          if (!parsed.ok) return [{ pointer: '/body', keyword: 'json', detail: 'the body is not JSON' }];
          return entry.schema.check(parsed.value, '/body');
        };
        return {
          needsResponseBody: true,
          onResponse: function validateResponseHook(ctx: RequestContext, res: ResponseContext) {
            if (res.local) return;
            const violations = violationsOf(ctx, res);
            if (violations.length === 0) return;
            ctx.log.warn(
              { requestId: ctx.id, api: route.api, route: routeName, status: res.status, violations },
              'upstream answer breaks the contract',
            );
            ctx.emit({
              type: 'contract-violation',
              at: ctx.clock.now(),
              requestId: ctx.id,
              ip: ctx.ip,
              policy: 'validate-response',
              direction: 'response',
              action: mode === 'block' ? 'blocked' : 'reported',
              api: route.api,
              route: routeName,
              problem: 'response-invalid',
              violations: violations.map(({ pointer, keyword }) => ({ pointer, keyword })),
            });
            if (mode === 'report') return;
            const declaredStatus = violations[0]!.keyword !== 'status';
            if (declaredStatus && res.status >= 400)
              replaceWithProblem(
                ctx,
                res,
                codeForStatus(res.status),
                'The upstream answered with an error',
                res.status,
              );
            else
              replaceWithProblem(
                ctx,
                res,
                'response-invalid',
                'The upstream answer does not match the contract',
              );
          },
        };
      },
    };
  },
});
