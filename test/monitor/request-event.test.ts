import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { RampartEvent } from '../../src/core/events.ts';
import {
  call,
  insecureAgent,
  startTestGateway,
  startUpstream,
  type TestGateway,
} from '../helpers/gateway.ts';

type RequestEvent = Extract<RampartEvent, { type: 'request' }>;
const requests = (gw: TestGateway) => gw.events.filter((e): e is RequestEvent => e.type === 'request');

describe('the request event (emitted when the response is complete)', () => {
  let gw: TestGateway | undefined;
  let up: Awaited<ReturnType<typeof startUpstream>> | undefined;
  afterEach(async () => {
    await gw?.close();
    await up?.close();
  });

  it('a streamed body: time to first and last byte, bytes both ways, the object id', async () => {
    let finish!: () => void;
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('x'.repeat(1000));
      finish = () => res.end('y'.repeat(500));
    });
    gw = await startTestGateway(up.url);
    const r = await request(`${gw.url}/v2/items/42`, { dispatcher: insecureAgent });
    expect(r.statusCode).toBe(200);
    expect(requests(gw)).toHaveLength(0); // the head is out, the body is not finished
    gw.clock.advance(250);
    finish();
    expect((await r.body.text()).length).toBe(1500);
    await new Promise((res) => setTimeout(res, 20));
    const [e] = requests(gw);
    expect(e).toMatchObject({
      route: '/items/{itemId}',
      status: 200,
      objectId: '42',
      bytesOut: 1500,
      bytesIn: 0,
      ttfbMs: 0,
    });
    expect(e!.durationMs).toBe(250);
  });

  it('a gateway answer and a request body: bytes counted, no object id on a route without parameters', async () => {
    up = await startUpstream();
    gw = await startTestGateway(up.url);
    await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    await call(`${gw.url}/nowhere`);
    const [post, miss] = requests(gw);
    expect(post).toMatchObject({ route: '/items', bytesIn: 7, objectId: undefined });
    expect(post!.bytesOut).toBeGreaterThan(0);
    expect(miss).toMatchObject({ status: 404, route: '(unmatched)' });
    expect(miss!.bytesOut).toBeGreaterThan(0);
  });
});
