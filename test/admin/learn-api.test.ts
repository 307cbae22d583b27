/**
 * The admin API's learn-mode reads over real HTTP (src/admin/api/learn.ts): the learning API
 * versions, one's learned document and its diff against the enforced document, behind the
 * admin chain (401 without credentials, a viewer may read), problem+json for an API that
 * does not learn. Traffic goes through the real gateway to a real upstream.
 */
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, startUpstream } from '../helpers/gateway.ts';
import { P, startAdminStack, type AdminStack, type Reply } from './stack.ts';

let s: AdminStack;
let up: Awaited<ReturnType<typeof startUpstream>>;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 7, name: 'Lamp', url: req.url }));
  });
  s = await startAdminStack({
    config: {
      apis: [
        {
          name: 'shop',
          upstream: up.url,
          learn: true,
          versions: [{ base: '/v1', spec: join(FIXTURES, 'gateway/shop-v2.yaml') }],
        },
        { name: 'tracker', upstream: up.url, mode: 'learn', versions: [{ base: '/t' }] },
        {
          name: 'plain',
          upstream: up.url,
          versions: [{ base: '/p', spec: join(FIXTURES, 'gateway/shop-v2.yaml') }],
        },
      ],
    },
  });
}, 60_000);
afterAll(async () => {
  await s?.close();
  await up?.close();
});

const gw = async (path: string) => {
  const r = await request(s.gatewayUrl + path, { dispatcher: insecure });
  await r.body.text();
  return r.statusCode;
};

function expectProblem(r: Reply, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toBe('application/problem+json');
  expect(r.body.type).toBe(P + code);
}

describe('GET /admin/api/learn and /learn/{api}', () => {
  it('lists what learns and serves the learned document with its diff to a viewer', async () => {
    expectProblem(await s.call('GET', '/admin/api/learn'), 401, 'unauthenticated');
    expect(await gw('/v1/items')).toBe(200);
    expect(await gw('/v1/items/3')).toBe(200);
    expect(await gw('/v1/not-declared')).toBe(404); // refused by the contract: not learned
    expect(await gw('/t/anything/goes')).toBe(200); // mode: learn forwards everything
    const login = await s.signIn(s.viewer);
    const list = await s.as(login, 'GET', '/admin/api/learn');
    expect(list.status, list.text).toBe(200);
    expect(list.body.items).toEqual([
      { api: 'shop', base: '/v1', mode: 'enforce', exchanges: 0, operations: 0 },
      { api: 'tracker', base: '/t', mode: 'learn', exchanges: 0, operations: 0 },
    ]);

    const shop = await s.as(login, 'GET', '/admin/api/learn/shop');
    expect(shop.status, shop.text).toBe(200);
    expect(shop.body.mode).toBe('enforce');
    expect(Object.keys(shop.body.document.paths).sort()).toEqual(['/items', '/items/{itemId}']);
    expect(shop.body.diff.shadow).toEqual([]);
    expect(shop.body.diff.matched).toBe(2);
    expect(shop.body.diff.neverCalled.map((n: { operation: string }) => n.operation)).toContain(
      'GET /items/special',
    );

    const tracker = await s.as(login, 'GET', '/admin/api/learn/tracker?base=/t');
    expect(tracker.status, tracker.text).toBe(200);
    expect(tracker.body.diff).toBeUndefined();
    expect(Object.keys(tracker.body.document.paths)).toEqual(['/anything/goes']);

    // The store holds it after a flush.
    await s.app.learning.flush();
    const after = await s.as(login, 'GET', '/admin/api/learn');
    expect(after.body.items[0]).toMatchObject({ api: 'shop', exchanges: 2, operations: 2 });

    expectProblem(await s.as(login, 'GET', '/admin/api/learn/plain'), 404, 'not-found');
    expectProblem(await s.as(login, 'GET', '/admin/api/learn/shop?base=/v9'), 404, 'not-found');
    expectProblem(await s.as(login, 'GET', '/admin/api/learn/Bad%20Name'), 400, 'bad-request');
  });
});
