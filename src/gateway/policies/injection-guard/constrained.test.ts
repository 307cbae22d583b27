import { describe, expect, it } from 'vitest';
import { parseOpenApi } from '../../../core/openapi-loader.ts';
import type { Denial } from '../../policy.ts';
import { validateRequest } from '../validate-request/index.ts';
import { buildPolicy, documentRoute, testContext, testServices, type TestPolicy } from '../test-context.ts';
import { injectionGuard } from './index.ts';

// The guard looks only at free text: a string the contract constrains (an enum value the API
// declares, say) is skipped — but only in a body validate-request has just found valid.
const doc = parseOpenApi(
  `openapi: 3.1.0
info: { title: t, version: '1' }
paths:
  /filters:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [op]
              properties:
                # A declared value the detector would flag as SQL if it were free text.
                op: { type: string, enum: ["' OR '1'='1"] }
                code: { type: string, pattern: '^[A-Z]{3}$' }
                note: { type: string, maxLength: 200 }
      responses: { '200': { description: ok } }
`,
  'filters.yaml',
);
const route = documentRoute(doc, 'post', '/filters');
const TYPE = 'https://rampart.dev/problems/injection-detected';

async function run(policies: TestPolicy[], body: unknown): Promise<Denial | undefined> {
  const ctx = testContext({ route, method: 'POST', body: Buffer.from(JSON.stringify(body)) });
  for (const p of policies) {
    const d = (await p.onRequest(ctx)) as Denial | undefined;
    if (d) return d;
  }
  return undefined;
}

describe('injection-guard and the contract', () => {
  it('skips a string the schema constrains once validate-request found the body valid', async () => {
    const chain = [
      buildPolicy(validateRequest, {}, testServices()),
      buildPolicy(injectionGuard, {}, testServices()),
    ];
    expect(await run(chain, { op: "' OR '1'='1", code: 'ABC', note: 'fine' })).toBeUndefined();
    // Free text next to it is still inspected.
    const d = await run(chain, { op: "' OR '1'='1", note: "x' OR '1'='1" });
    expect(d?.problem).toMatchObject({
      type: TYPE,
      status: 400,
      errors: [{ pointer: '/body/note', kind: 'sql' }],
    });
  });

  it('inspects every string when no validation ran', async () => {
    const guard = [buildPolicy(injectionGuard, {}, testServices())];
    const d = await run(guard, { op: "' OR '1'='1" });
    expect(d?.problem).toMatchObject({ type: TYPE, errors: [{ pointer: '/body/op', kind: 'sql' }] });
  });

  it('inspects every string of a body that broke the contract (validation in report mode forwards it)', async () => {
    const chain = [
      buildPolicy(validateRequest, { mode: 'report' }, testServices()),
      buildPolicy(injectionGuard, {}, testServices()),
    ];
    // `code` breaks its pattern: the body is not the one the schema describes, so nothing is skipped.
    const d = await run(chain, { op: "' OR '1'='1", code: 'not a code' });
    expect(d?.problem).toMatchObject({ type: TYPE, errors: [{ pointer: '/body/op', kind: 'sql' }] });
  });

  it('a body validated earlier does not stand in for another body', async () => {
    const validate = buildPolicy(validateRequest, {}, testServices());
    const guard = buildPolicy(injectionGuard, {}, testServices());
    const ctx = testContext({
      route,
      method: 'POST',
      body: Buffer.from(JSON.stringify({ op: "' OR '1'='1" })),
    });
    expect(await validate.onRequest(ctx)).toBeUndefined();
    const other = testContext({
      route,
      method: 'POST',
      body: Buffer.from(JSON.stringify({ op: "' OR '1'='1" })),
    });
    other.state.conformingBody = Buffer.from(JSON.stringify({ op: "' OR '1'='1" })); // equal bytes, another buffer
    const d = (await guard.onRequest(other)) as Denial | undefined;
    expect(d?.problem).toMatchObject({ type: TYPE, errors: [{ pointer: '/body/op' }] });
    expect(await guard.onRequest(ctx)).toBeUndefined();
  });
});
