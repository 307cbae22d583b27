/**
 * `uniform-failure` (priority 390; its response hook runs after the contract policies and
 * before brute-force counts the attempt): on an operation that declares
 * `x-rampart.uniformFailure` (a sign-in, an OTP check, an account recovery), every failure
 * answer becomes one identical problem — the same status, headers and body whatever the
 * upstream said (404 "no account named …", 401 "wrong password for …", a 502 that
 * validate-response made of an undeclared status). Statuses in `pass` (request shape and
 * throttling, which do not depend on the account) pass unchanged. Without it, an upstream
 * that tells unknown accounts from wrong passwords stays an enumeration oracle even behind
 * a validating gateway: validation only moves the difference (401 vs 502).
 */
import { Type } from '@sinclair/typebox';
import { PROBLEM_CONTENT_TYPE, problem } from '../../../core/errors.ts';
import { codeForStatus } from '../../contract/response.ts';
import { definePolicy, type RequestContext, type ResponseContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { uniformFailureXRampart, type UniformFailureValue } from './x-rampart.ts';

const schema = Type.Object(
  {
    pass: Type.Array(Type.Integer({ minimum: 400, maximum: 599 }), {
      description:
        'Failure statuses that pass unchanged: malformed requests and throttling answer every account alike, and clients need their Retry-After.',
      default: [400, 413, 415, 422, 429],
    }),
  },
  {
    additionalProperties: false,
    description: 'One failure answer for credential checks and account recovery (API2, no enumeration).',
  },
);

export const uniformFailure = definePolicy({
  name: 'uniform-failure',
  priority: PRIORITIES['uniform-failure'],
  schema,
  xRampart: uniformFailureXRampart,
  create(options) {
    const pass = new Set(options.pass);
    return {
      forRoute(route) {
        const declared = route.rampart.uniformFailure as UniformFailureValue | undefined;
        if (declared === undefined) return undefined;
        const status = declared === true ? 401 : (declared.status ?? 401);
        const detail = declared === true ? undefined : declared.detail;
        const code = status === 401 ? 'invalid-credentials' : codeForStatus(status);
        const text = detail ?? 'The credentials were not accepted';
        const routeName = `${route.operation.method.toUpperCase()} ${route.template}`;
        return {
          // The upstream's failure body must never stream through: it is the oracle.
          needsResponseBody: true,
          onResponse: function uniformFailureHook(ctx: RequestContext, res: ResponseContext) {
            if (res.status < 400 || pass.has(res.status)) return;
            // The gateway's own 4xx denials answer every account alike; its 5xx (an upstream
            // that failed, timed out or leaked) may depend on the account, so it is folded too.
            if (res.local && res.status < 500) return;
            (res.status >= 500 ? ctx.log.warn : ctx.log.debug).call(
              ctx.log,
              { requestId: ctx.id, api: route.api, route: routeName, status: res.status },
              'failure answer of a credential operation replaced by the uniform one',
            );
            const p = problem(code, { detail: text, status, request_id: ctx.id });
            const body = Buffer.from(JSON.stringify(p));
            res.status = status;
            res.headers = {
              'content-type': PROBLEM_CONTENT_TYPE,
              'cache-control': 'no-store',
              'content-length': String(body.length),
            };
            res.body = body;
            ctx.state.responseJson = { body, value: p, ok: true };
            ctx.state.responseReplaced = true;
          },
        };
      },
    };
  },
});
