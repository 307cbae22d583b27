import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../../core/openapi-loader.ts';
import type { OpenApiDocument } from '../../../core/openapi.ts';
import { LAB_SPECS } from '../../../lab/index.ts';
import type { Denial } from '../../policy.ts';
import { buildPolicy, documentRoute, testContext, testRoute, testServices } from '../test-context.ts';
import { ssrfGuard, urlFields } from './index.ts';

let doc: OpenApiDocument;
beforeAll(async () => {
  doc = await loadOpenApi(LAB_SPECS.v2);
});

const avatar = (url: string) => ({
  route: documentRoute(doc, 'put', '/users/me/avatar'),
  body: Buffer.from(JSON.stringify({ url })),
});

describe('ssrf-guard', () => {
  it.each([
    ['http://127.0.0.1:9000/latest/meta-data/', 'private-address'],
    ['http://169.254.169.254/latest/meta-data/', 'private-address'],
    ['http://[::ffff:10.0.0.1]/', 'private-address'],
    ['http://100.64.0.1/', 'private-address'],
    ['file:///etc/passwd', 'scheme'],
    ['http://user:pw@93.184.215.14/', 'credentials'],
  ])('refuses %s (%s) with 422 url-not-allowed', async (url, reason) => {
    const policy = buildPolicy(ssrfGuard, {}, testServices());
    const ctx = testContext(avatar(url));
    const d = (await policy.onRequest(ctx)) as Denial;
    expect(d.problem).toMatchObject({
      type: 'https://rampart.dev/problems/url-not-allowed',
      status: 422,
      errors: [{ pointer: '/body/url', reason }],
    });
    expect(ctx.events).toMatchObject([{ type: 'contract-violation', policy: 'ssrf-guard' }]);
  });
  it('passes a public address and an allow-listed private host', async () => {
    expect(
      await buildPolicy(ssrfGuard, {}, testServices()).onRequest(
        testContext(avatar('http://93.184.215.14/a.png')),
      ),
    ).toBeUndefined();
    const policy = buildPolicy(ssrfGuard, { allowPrivate: ['127.0.0.1:9000'] }, testServices());
    expect(await policy.onRequest(testContext(avatar('http://127.0.0.1:9000/a.png')))).toBeUndefined();
    expect(await policy.onRequest(testContext(avatar('http://127.0.0.1:9001/a.png')))).toBeDefined();
  });
  it('host allow-list and scheme list', async () => {
    const policy = buildPolicy(
      ssrfGuard,
      { allowHosts: ['*.cdn.example'], schemes: ['https'] },
      testServices(),
    );
    const d = (await policy.onRequest(testContext(avatar('https://93.184.215.14/')))) as Denial;
    expect(d.problem).toMatchObject({ errors: [{ reason: 'host-not-allowed' }] });
  });
  it('finds format: uri fields (nested, in arrays) and x-rampart.ssrf.fields; no fields → not in the chain', () => {
    expect(
      urlFields({
        type: 'object',
        properties: {
          a: { type: 'string', format: 'uri' },
          list: {
            type: 'array',
            items: { type: 'object', properties: { hook: { type: 'string', format: 'url' } } },
          },
        },
      }),
    ).toEqual([['a'], ['list', '*', 'hook']]);
    const policy = buildPolicy(ssrfGuard, {}, testServices());
    expect(policy.forRoute(documentRoute(doc, 'get', '/health'))).toBeUndefined();
    const declared = testRoute({
      method: 'post',
      template: '/hooks',
      rampart: { ssrf: { fields: ['/target/href'] } },
    });
    expect(policy.forRoute(declared)).toBeDefined();
  });
});
