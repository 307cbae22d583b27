import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Learner } from './learner.ts';
import { LearningProxy } from './proxy.ts';

let upstream: Server;
let upstreamUrl: string;
const seen: Array<Record<string, string | string[] | undefined>> = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    seen.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/base/binary') {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          connection: 'x-secret',
          'x-secret': '1',
        });
        return res.end(Buffer.from([0, 1, 2, 255]));
      }
      res.writeHead(req.method === 'POST' ? 201 : 200, {
        'content-type': 'application/json',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(body.length ? body : JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/base`;
});

afterAll(async () => {
  await new Promise<void>((r) => upstream.close(() => r()));
});

describe('the learning proxy', () => {
  it('forwards everything unchanged (bodies both ways, repeated fields), drops hop-by-hop fields, learns off the path', async () => {
    const learner = new Learner();
    const proxy = new LearningProxy({ upstream: upstreamUrl, learner, maxSampleBytes: 64 });
    await proxy.start();
    const small = JSON.stringify({ name: 'x' });
    const big = JSON.stringify({ name: 'y'.repeat(200) });
    // node:http, not undici: undici refuses to send a Connection field that lists other fields.
    const a = await new Promise<{ status: number; text: string; cookies: string[] | undefined }>(
      (resolve, reject) => {
        const r = httpRequest(
          `${proxy.url}/orders`,
          {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              connection: 'keep-alive, x-hop',
              'x-hop': 'drop me',
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode!, text, cookies: res.headers['set-cookie'] }),
            );
          },
        );
        r.on('error', reject);
        r.end(small);
      },
    );
    expect(a.status).toBe(201);
    expect(a.text).toBe(small);
    expect(a.cookies).toEqual(['a=1', 'b=2']);
    const b = await request(`${proxy.url}/orders`, {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(await b.body.text()).toBe(big); // forwarded whole, only the sample is capped
    const c = await request(`${proxy.url}/binary`);
    expect(Buffer.from(await c.body.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(c.headers['x-secret']).toBeUndefined();
    await proxy.close();
    expect(seen[0]!['x-hop']).toBeUndefined();
    expect(seen[0]!['x-forwarded-for']).toBe('127.0.0.1');
    expect(learner.stats.learned).toBe(3);
    expect(learner.stats.skipped).toEqual({ 'too-large': 2, binary: 1 });
    const op = learner.operations.get('post /orders')!;
    expect(op.statuses.get(201)).toBe(2);
    expect(op.requestBodies.get('application/json')!.parsed).toBe(1);
  });

  it('samples bodies at the given rate, and every exchange for paths and statuses', async () => {
    const learner = new Learner();
    let i = 0;
    const proxy = new LearningProxy({
      upstream: upstreamUrl,
      learner,
      sample: 0.5,
      random: () => (i++ % 2 ? 0.9 : 0.1),
    });
    await proxy.start();
    for (let n = 0; n < 4; n++) await (await request(`${proxy.url}/items/${n}`)).body.text();
    await proxy.close();
    const op = learner.operations.get('get /items/{}')!;
    expect(op.calls).toBe(4);
    expect(op.responses.get(200)!.get('application/json')!.parsed).toBe(2);
  });
});
