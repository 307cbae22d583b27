import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, FIXTURES, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

// An API whose document has no version prefix (paths like /orders) is served at `base: /`,
// next to versioned APIs whose longer bases win.
describe('an API at the root', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let gw: TestGateway;
  let dir: string;

  beforeAll(async () => {
    up = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'rampart-root-'));
    const spec = join(dir, 'root.json');
    await writeFile(
      spec,
      JSON.stringify({
        openapi: '3.1.0',
        info: { title: 'root', version: '1' },
        paths: {
          '/orders/{id}': {
            get: {
              security: [],
              parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
              responses: { '200': { description: 'ok' } },
            },
          },
        },
      }),
    );
    gw = await startTestGateway(up.url, {
      apis: [
        { name: 'root', upstream: up.url, versions: [{ base: '/', spec }] },
        {
          name: 'shop',
          upstream: up.url,
          versions: [{ base: '/v2', spec: join(FIXTURES, 'gateway/shop-v2.yaml') }],
        },
      ],
    });
  });

  afterAll(async () => {
    await gw?.close();
    await up?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('routes unprefixed paths to the root API and prefixed ones to their own', async () => {
    const r = await call(`${gw.url}/orders/7`);
    expect(r.status).toBe(200);
    expect((r.json() as { url: string }).url).toBe('/orders/7');
    const shop = await call(`${gw.url}/v2/items`);
    expect(shop.status).toBe(200);
    expect((shop.json() as { url: string }).url).toBe('/v2/items');
    const miss = await call(`${gw.url}/nothing`);
    expect(miss.status).toBe(404);
    expect(miss.json()).toMatchObject({ type: 'https://rampart.dev/problems/not-found' });
    expect(gw.events.filter((e) => e.type === 'request').at(-3)).toMatchObject({
      api: 'root',
      version: '/',
      route: '/orders/{id}',
    });
  });
});
