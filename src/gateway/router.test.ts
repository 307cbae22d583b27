import { describe, expect, it } from 'vitest';
import { parseOpenApi } from '../core/openapi-loader.ts';
import { Router } from './router.ts';
import { checkRequestTarget } from './path.ts';

const doc = parseOpenApi(
  `openapi: 3.1.0
info: { title: t, version: '2' }
paths:
  /:
    get: { responses: { '200': { description: ok } } }
  /orders:
    get: { responses: { '200': { description: ok } } }
    post: { responses: { '201': { description: ok } } }
  /orders/{orderId}:
    parameters: [{ name: orderId, in: path, required: true, schema: { type: string } }]
    get: { responses: { '200': { description: ok } } }
    patch: { responses: { '200': { description: ok } } }
  /orders/latest:
    get: { responses: { '200': { description: ok } } }
  /orders/{orderId}/items/{itemId}:
    parameters:
      - { name: orderId, in: path, required: true, schema: { type: string } }
      - { name: itemId, in: path, required: true, schema: { type: string } }
    get: { responses: { '200': { description: ok } } }
  /reports/{year}-{month}.csv:
    parameters:
      - { name: year, in: path, required: true, schema: { type: string } }
      - { name: month, in: path, required: true, schema: { type: string } }
    get: { responses: { '200': { description: ok } } }
`,
  'router-test.yaml',
);
const router = new Router([
  { key: 'shop /v2', api: 'shop', base: '/v2', document: doc },
  { key: 'shop /api/v3', api: 'shop', base: '/api/v3', document: doc },
]);

describe('Router', () => {
  it.each([
    ['GET', '/v2/orders', '/orders', {}],
    ['POST', '/v2/orders', '/orders', {}],
    ['GET', '/v2/orders/42', '/orders/{orderId}', { orderId: '42' }],
    ['GET', '/v2/orders/latest', '/orders/latest', {}],
    ['GET', '/v2/orders/a%20b', '/orders/{orderId}', { orderId: 'a b' }],
    ['GET', '/v2/orders/7/items/9', '/orders/{orderId}/items/{itemId}', { orderId: '7', itemId: '9' }],
    ['GET', '/v2/reports/2026-11.csv', '/reports/{year}-{month}.csv', { year: '2026', month: '11' }],
    ['HEAD', '/v2/orders/1', '/orders/{orderId}', { orderId: '1' }],
    ['GET', '/v2', '/', {}],
    ['GET', '/api/v3/orders', '/orders', {}],
  ])('%s %s → %s', (method, path, template, params) => {
    const r = router.match(method, path);
    expect(r.kind).toBe('match');
    if (r.kind !== 'match') return;
    expect(r.route.template).toBe(template);
    expect(r.route.params).toEqual(params);
  });

  it.each([
    ['GET', '/v3/orders'],
    ['GET', '/v2/orders/1/items'],
    ['GET', '/v2/orders/'],
    ['GET', '/v2orders'],
    ['GET', '/v2/reports/2026.csv'],
  ])('%s %s → not found', (method, path) => {
    expect(router.match(method, path).kind).toBe('not-found');
  });

  it('answers method-not-allowed with the Allow list', () => {
    const r = router.match('DELETE', '/v2/orders/1');
    expect(r).toMatchObject({ kind: 'method-not-allowed', allow: 'GET, HEAD, PATCH' });
  });
});

describe('checkRequestTarget', () => {
  it.each(['/v2/orders', '/v2/orders?x=1&y=%20', '/v2/a%20b', "/v2/it's", '/'])('accepts %s', (t) => {
    expect(checkRequestTarget(t).ok).toBe(true);
  });
  it.each([
    'v2/orders',
    'http://evil/v2',
    '/v2/../x',
    '/v2/./x',
    '/v2/%2e%2e/x',
    '/v2/.%2E/x',
    '/v2//x',
    '/v2/a%2fb',
    '/v2/a%5cb',
    '/v2/a%00',
    '/v2/a%0a',
    '/v2/%g1',
    '/v2/a b',
    '/v2/a"b',
    '/v2/x?a=%zz',
    '/v2/x?a=%00',
    '/v2/%C0%AF',
    '/v2/x?q=%FF',
    '*',
  ])('refuses %s', (t) => {
    expect(checkRequestTarget(t).ok).toBe(false);
  });
});
