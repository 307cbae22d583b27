import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../../core/openapi-loader.ts';
import type { HttpMethod, OpenApiDocument } from '../../../core/openapi.ts';
import { LAB_SPECS } from '../../../lab/index.ts';
import type { Denial, RouteMatch } from '../../policy.ts';
import { buildPolicy, documentRoute, testContext, testRoute, testServices } from '../test-context.ts';
import { requestLimits } from '../request-limits/index.ts';
import { validateRequest } from './index.ts';

let doc: OpenApiDocument;
beforeAll(async () => {
  doc = await loadOpenApi(LAB_SPECS.v2);
});

const labRoute = (method: HttpMethod, template: string, params: Record<string, string> = {}): RouteMatch =>
  documentRoute(doc, method, template, params);

const P = 'https://rampart.dev/problems/';

describe('validate-request', () => {
  it('400 bad-request with every parameter violation and a blocked event', async () => {
    const policy = buildPolicy(validateRequest, {}, testServices());
    const ctx = testContext({ route: labRoute('get', '/records'), query: 'limit=1000000&offset=-1' });
    const d = (await policy.onRequest(ctx)) as Denial;
    expect(d.problem).toMatchObject({
      type: P + 'bad-request',
      status: 400,
      errors: [
        { pointer: '/query/limit', keyword: 'maximum' },
        { pointer: '/query/offset', keyword: 'minimum' },
      ],
    });
    expect(ctx.events).toMatchObject([
      { type: 'contract-violation', policy: 'validate-request', action: 'blocked', route: 'GET /records' },
    ]);
  });

  it('422 validation-failed for an undeclared body property (mass assignment)', async () => {
    const policy = buildPolicy(validateRequest, {}, testServices());
    const ctx = testContext({
      route: labRoute('patch', '/users/me'),
      body: Buffer.from('{"fullName":"A","isAdmin":true}'),
    });
    const d = (await policy.onRequest(ctx)) as Denial;
    expect(d.problem).toMatchObject({
      type: P + 'validation-failed',
      status: 422,
      errors: [{ pointer: '/body/isAdmin' }],
    });
  });

  it('400 unsafe-json for duplicate keys; 415 for a charset other than UTF-8', async () => {
    const policy = buildPolicy(validateRequest, {}, testServices());
    const dup = testContext({
      route: labRoute('post', '/auth/login'),
      body: Buffer.from('{"username":"alice","password":"x","username":"admin"}'),
    });
    expect(((await policy.onRequest(dup)) as Denial).problem.type).toBe(P + 'unsafe-json');
    const latin1 = testContext({
      route: labRoute('post', '/auth/login'),
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      body: Buffer.from('{"username":"a","password":"b"}'),
    });
    expect(((await policy.onRequest(latin1)) as Denial).problem).toMatchObject({
      type: P + 'unsupported-media-type',
      status: 415,
    });
  });

  it('malformed JSON propagates as the gateway’s invalid-json ProblemError', async () => {
    const policy = buildPolicy(validateRequest, {}, testServices());
    const ctx = testContext({ route: labRoute('post', '/auth/login'), body: Buffer.from('{"username":') });
    expect(() => policy.onRequest(ctx)).toThrow(expect.objectContaining({ name: 'ProblemError' }));
  });

  it('report mode (per API) forwards and reports', async () => {
    const policy = buildPolicy(validateRequest, { apis: { clinic: { mode: 'report' } } }, testServices());
    const ctx = testContext({ route: labRoute('get', '/records'), query: 'limit=1000000' });
    expect(await policy.onRequest(ctx)).toBeUndefined();
    expect(ctx.events).toMatchObject([
      { type: 'contract-violation', action: 'reported', problem: 'bad-request' },
    ]);
  });

  it('x-rampart.bodyLimit answers 413 beyond it', async () => {
    const policy = buildPolicy(validateRequest, {}, testServices());
    const body = Buffer.from(JSON.stringify({ title: 't', notes: 'x'.repeat(70_000) }));
    const ctx = testContext({ route: labRoute('post', '/records'), body });
    expect(((await policy.onRequest(ctx)) as Denial).problem).toMatchObject({
      type: P + 'payload-too-large',
      status: 413,
    });
  });

  it('an omitted additionalProperties is closed unless x-rampart.validate.undeclared: allow', async () => {
    const operation = {
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { type: 'object', properties: { fullName: { type: 'string' } } } },
        },
      },
    };
    const body = Buffer.from('{"fullName":"A","nickname":"x"}');
    const policy = buildPolicy(validateRequest, {}, testServices());
    const closed = testRoute({ method: 'patch', template: '/me', operation });
    expect(((await policy.onRequest(testContext({ route: closed, body }))) as Denial).problem).toMatchObject({
      errors: [{ pointer: '/body/nickname', keyword: 'unevaluatedProperties' }],
    });
    const open = testRoute({
      method: 'patch',
      template: '/me',
      operation,
      rampart: { validate: { undeclared: 'allow' } },
    });
    expect(await policy.onRequest(testContext({ route: open, body }))).toBeUndefined();
  });

  it('valid requests pass', async () => {
    const policy = buildPolicy(validateRequest, {}, testServices());
    expect(
      await policy.onRequest(testContext({ route: labRoute('get', '/records'), query: 'q=Cardio&limit=5' })),
    ).toBeUndefined();
    expect(
      await policy.onRequest(
        testContext({ route: labRoute('get', '/records/{recordId}', { recordId: '3' }) }),
      ),
    ).toBeUndefined();
  });

  it('reuses request-limits’ scan of the body, and still refuses every hazard through it', async () => {
    const limits = buildPolicy(requestLimits, {}, testServices());
    const policy = buildPolicy(validateRequest, {}, testServices());
    const route = labRoute('post', '/auth/login');
    const run = async (text: string) => {
      const ctx = testContext({ route, body: Buffer.from(text) });
      expect(await limits.onRequest(ctx)).toBeUndefined();
      expect(ctx.state.jsonShape?.body).toBe(ctx.body);
      return (await policy.onRequest(ctx)) as Denial | undefined;
    };
    for (const [text, keyword] of [
      ['{"username":"alice","password":"x","user\\u006eame":"admin"}', 'duplicate-key'],
      ['{"username":"alice","password":"x","__proto__":{}}', 'prototype-key'],
      ['{"username":"alice","password":1e400}', 'unsafe-number'],
    ] as const)
      expect((await run(text))?.problem, text).toMatchObject({
        type: P + 'unsafe-json',
        errors: [{ keyword }],
      });
    expect(await run('{"username":"alice","password":"s3cr:et\\""}')).toBeUndefined();
  });
});
