/**
 * request-limits' JSON decisions through the policy itself (the scan is contract/json-strict.ts,
 * tested beside it): what is forwarded, what is refused with which problem, and what it hands
 * validate-request. Each expectation fails when one of those decisions is removed (#19).
 */
import { describe, expect, it } from 'vitest';
import { ProblemError } from '../../../core/errors.ts';
import type { Denial } from '../../policy.ts';
import { buildPolicy, testContext, testServices } from '../test-context.ts';
import { requestLimits } from './index.ts';

const P = 'https://rampart.dev/problems/';
const policy = buildPolicy(requestLimits, { maxJsonDepth: 3, maxJsonElements: 5 }, testServices());
/** The problem a hook threw (the gateway answers a thrown ProblemError with it). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e instanceof ProblemError ? e.problem : e;
  }
  return undefined;
}
const post = (body: string, type = 'application/json') =>
  testContext({ method: 'POST', body: Buffer.from(body), headers: { 'content-type': type } });

describe('request-limits: JSON bodies', () => {
  it('forwards well-formed JSON and hands validate-request the scan of those very bytes', async () => {
    const ctx = post('{"a":[1,2],"b":"x"}');
    expect(await policy.onRequest(ctx)).toBeUndefined();
    expect(ctx.state.jsonShape).toEqual({ body: ctx.body, shape: { ok: true, members: 2, exact: true } });
  });

  it('refuses malformed JSON with invalid-json and its line and column, never the content', async () => {
    const ctx = post('{"password":"hunter2",}');
    let err: unknown;
    try {
      await policy.onRequest(ctx);
    } catch (e) {
      err = e;
    }
    // JSON.parse words it (the gateway answers the thrown ProblemError with 400).
    expect(err).toBeInstanceOf(ProblemError);
    const p = (err as ProblemError).problem;
    expect(p).toMatchObject({ type: P + 'invalid-json', status: 400 });
    expect(p.detail).toMatch(/line 1, column \d+/);
    expect(JSON.stringify(p)).not.toContain('hunter2');
    expect(ctx.state.jsonShape).toBeUndefined();
  });

  it('refuses invalid UTF-8 with invalid-json', async () => {
    const ctx = testContext({
      method: 'POST',
      body: Buffer.from([0x22, 0xff, 0x22]),
      headers: { 'content-type': 'application/json' },
    });
    expect(thrown(() => policy.onRequest(ctx))).toMatchObject({
      type: P + 'invalid-json',
      detail: 'The body is not valid UTF-8',
    });
  });

  it('refuses nesting and size beyond the bounds with their own problem and detail', async () => {
    const deep = (await policy.onRequest(post('[[[[1]]]]'))) as Denial;
    expect(deep.problem).toMatchObject({
      type: P + 'json-too-deep',
      status: 400,
      detail: 'JSON nesting exceeds 3 levels',
    });
    const large = (await policy.onRequest(post('[1,2,3,4,5,6]'))) as Denial;
    expect(large.problem).toMatchObject({
      type: P + 'json-too-large',
      status: 400,
      detail: 'JSON has more than 5 values',
    });
  });

  it('a +json media type is JSON too; other types and empty bodies are not scanned', async () => {
    expect(thrown(() => policy.onRequest(post('{,}', 'application/merge-patch+json')))).toMatchObject({
      type: P + 'invalid-json',
    });
    const text = post('{,}', 'text/plain');
    expect(await policy.onRequest(text)).toBeUndefined();
    expect(text.state.jsonShape).toBeUndefined();
    // Not scanned even when it happens to be JSON text: only a JSON media type declares JSON.
    const jsonText = post('{"a":1}', 'text/plain');
    expect(await policy.onRequest(jsonText)).toBeUndefined();
    expect(jsonText.state.jsonShape).toBeUndefined();
    const empty = post('');
    expect(await policy.onRequest(empty)).toBeUndefined();
    expect(empty.state.jsonShape).toBeUndefined();
  });
});
