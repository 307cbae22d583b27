import { Type } from '@sinclair/typebox';
import { problem } from '../../../core/errors.ts';
import type { JsonShape } from '../../contract/json-guard.ts';
import { requestContractFor, type RequestInput } from '../../contract/operation.ts';
import { definePolicy, deny, type RequestContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { validateRequestXRampart } from './x-rampart.ts';

const Mode = Type.Union([Type.Literal('enforce'), Type.Literal('report')]);

const schema = Type.Object(
  {
    mode: Type.Union([Type.Literal('enforce'), Type.Literal('report')], {
      description:
        'enforce: refuse requests that break the contract (400/415/422 with errors); report: emit a contract-violation event and forward them.',
      default: 'enforce',
    }),
    apis: Type.Record(Type.String(), Type.Object({ mode: Mode }, { additionalProperties: false }), {
      description: 'Per-API mode (by apis[].name), e.g. { clinic: { mode: report } } while rolling out.',
      default: {},
    }),
    rejectUnknownQuery: Type.Boolean({
      description: 'Refuse query parameters the operation does not declare.',
      default: false,
    }),
  },
  {
    additionalProperties: false,
    description: 'Request validation against the OpenAPI contract (API3, API4, API8).',
  },
);

declare module '../../policy.ts' {
  interface PolicyState {
    /**
     * The body this request's contract check found valid (set only then): the injection
     * guard may skip the strings the schema constrains (contract/constrained.ts).
     */
    conformingBody: Buffer;
  }
}

/** A request context as the contract's input (a class: no closure made per request). */
class ContextInput implements RequestInput {
  constructor(
    private readonly ctx: RequestContext,
    readonly shape: JsonShape | undefined,
  ) {}
  get pathParams(): Readonly<Record<string, string>> {
    return this.ctx.route!.params;
  }
  get query(): string {
    return this.ctx.query;
  }
  get headers(): RequestInput['headers'] {
    return this.ctx.headers;
  }
  get body(): Buffer | undefined {
    return this.ctx.body;
  }
  json(): unknown {
    return this.ctx.json();
  }
}

/**
 * validate-request: every request checked against its operation's contract — parameters
 * (path, query with its style, header, cookie), Content-Type and charset, the body against
 * its schema with undeclared properties refused, hostile JSON (duplicate keys, prototype
 * keys, unsafe numbers) — with validators compiled once per operation in `forRoute`.
 * `x-rampart.bodyLimit` bounds an operation's body (413), `x-rampart.validate` sets the
 * mode and whether undeclared body properties are allowed per document/path/operation.
 */
export const validateRequest = definePolicy({
  name: 'validate-request',
  priority: PRIORITIES['validate-request'],
  enabledByDefault: false,
  schema,
  xRampart: validateRequestXRampart,
  create(options) {
    return {
      forRoute(route) {
        const x = (route.rampart.validate ?? {}) as {
          mode?: 'enforce' | 'report';
          undeclared?: 'reject' | 'allow';
        };
        const mode = x.mode ?? options.apis[route.api]?.mode ?? options.mode;
        const contract = requestContractFor(route.operation, route.document.openapi, {
          closeObjects: x.undeclared !== 'allow',
          rejectUnknownQuery: options.rejectUnknownQuery,
        });
        const bodyLimit = route.rampart.bodyLimit as number | undefined;
        // The limit travels with its denial, so the check below reads it from `tooLarge` itself.
        const tooLarge =
          // Stryker disable next-line ConditionalExpression: `true` builds an unused denial whose limit is undefined, and `n > undefined` is false, so no request is refused; `false` is killed by the 413 tests
          bodyLimit !== undefined
            ? {
                limit: bodyLimit,
                denial: deny(
                  problem('payload-too-large', {
                    detail: `Request bodies are limited to ${bodyLimit} bytes here`,
                  }),
                ),
              }
            : undefined;
        const routeName = `${route.operation.method.toUpperCase()} ${route.template}`;
        return {
          onRequest: function validateRequestHook(ctx: RequestContext) {
            if (tooLarge && ctx.body !== undefined && ctx.body.length > tooLarge.limit)
              return tooLarge.denial;
            // Only request-limits' scan of these very bytes may stand in for the contract's own.
            const scanned = ctx.state.jsonShape;
            let shape = scanned?.shape;
            if (shape !== undefined) {
              // Stryker disable next-line ConditionalExpression: `true` only drops the reuse of a fresh scan (the contract scans the bytes itself, same verdict: a cost, not a decision); `false` (a stale scan reused) is killed by decisions.test.ts
              if (scanned!.body !== ctx.body) shape = undefined;
            }
            const verdict = contract.check(new ContextInput(ctx, shape));
            if (!verdict) {
              if (ctx.body !== undefined) ctx.state.conformingBody = ctx.body;
              return undefined;
            }
            ctx.emit({
              type: 'contract-violation',
              at: ctx.clock.now(),
              requestId: ctx.id,
              ip: ctx.ip,
              policy: 'validate-request',
              direction: 'request',
              action: mode === 'enforce' ? 'blocked' : 'reported',
              api: route.api,
              route: routeName,
              problem: verdict.code,
              violations: verdict.errors.map(({ pointer, keyword }) => ({ pointer, keyword })),
            });
            if (mode === 'report') return undefined;
            return deny(problem(verdict.code, { detail: verdict.detail, errors: verdict.errors }));
          },
        };
      },
    };
  },
});
