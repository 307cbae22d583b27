import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../src/gateway/policy.ts';
import { request } from 'undici';
import {
  call,
  insecureAgent,
  startTestGateway,
  startUpstream,
  type TestGateway,
} from '../helpers/gateway.ts';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

const BIG = 48 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Deterministic bytes: chunk i is filled with (i % 251). */
function chunkAt(i: number, size: number): Buffer {
  return Buffer.alloc(size, i % 251);
}

function expectedHash(total: number): string {
  const h = createHash('sha256');
  for (let off = 0, i = 0; off < total; off += CHUNK, i++) h.update(chunkAt(i, Math.min(CHUNK, total - off)));
  return h.digest('hex');
}

/** Writes `total` bytes honouring backpressure; `progress.written` tells how far it got. */
function streamBody(res: ServerResponse, total: number, progress: { written: number; done: boolean }): void {
  let i = 0;
  const next = (): void => {
    while (progress.written < total) {
      const size = Math.min(CHUNK, total - progress.written);
      progress.written += size;
      if (!res.write(chunkAt(i++, size))) {
        res.once('drain', next);
        return;
      }
    }
    progress.done = true;
    res.end();
  };
  next();
}

/** Resolves when `read()` has not changed for `quietMs` (the writer is blocked on backpressure). */
async function settled(read: () => number, quietMs = 300): Promise<number> {
  let last = read();
  let stableSince = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 25));
    const now = read();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) return now;
  }
}

describe('gateway response streaming (undici dispatch handler)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let asyncGw: TestGateway;
  const progress = { written: 0, done: false };
  let abortedMidStream: Promise<boolean> = Promise.resolve(false);

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      switch (req.url) {
        case '/v2/items/big':
          progress.written = 0;
          progress.done = false;
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
          return streamBody(res, BIG, progress);
        case '/v2/items/endless':
          abortedMidStream = new Promise((resolve) => {
            res.on('close', () => resolve(!res.writableFinished));
          });
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          return streamBody(res, Number.MAX_SAFE_INTEGER, { written: 0, done: false });
        case '/v2/items/dies':
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1_000_000 });
          res.write(Buffer.alloc(100_000, 1), () => res.socket?.destroy());
          return;
        case '/v2/items/cookies':
          res.writeEarlyHints({ link: '</app.css>; rel=preload; as=style' });
          res.setHeader('set-cookie', ['a=1; Secure; HttpOnly', 'b=2; Secure; HttpOnly']);
          res.setHeader('x-name', 'caf\u00e9');
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"ok":true}');
          return;
        case '/v2/items/chunked':
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('one,');
          setImmediate(() => {
            res.write('two,');
            setImmediate(() => res.end('three'));
          });
          return;
        case '/v2/items/empty':
          res.writeHead(204);
          res.end();
          return;
        default:
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{}');
      }
    });
    gw = await startTestGateway(up.url);
    // A response policy that finishes asynchronously: the head (and the body behind it) waits for it.
    const slowStamp: Policy = {
      name: 'slow-stamp',
      priority: 900,
      hooks: {
        onResponse: async (_ctx, res) => {
          await new Promise((r) => setTimeout(r, 20));
          res.headers['x-stamped'] = 'yes';
        },
      },
    };
    asyncGw = await startTestGateway(up.url, {}, [slowStamp]);
  });
  afterAll(async () => {
    await gw.close();
    await asyncGw.close();
    await up.close();
  });

  it('streams a large body intact and holds the upstream back while the client does not read', async () => {
    const u = new URL(gw.url);
    const socket = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false });
    await new Promise<void>((r) => socket.once('secureConnect', () => r()));
    socket.write(`GET /v2/items/big HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`);
    // Read only the first bytes, then stop reading: the upstream must be held back.
    const first = await new Promise<Buffer>((r) => socket.once('data', r));
    socket.pause();
    const writtenWhilePaused = await settled(() => progress.written);
    expect(progress.done).toBe(false);
    // Kernel socket buffers on two hops and a few stream buffers, not the whole body.
    expect(writtenWhilePaused).toBeLessThan(BIG / 2);

    const chunks: Buffer[] = [first];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.resume();
    await new Promise((r) => socket.once('close', r));
    const all = Buffer.concat(chunks);
    const split = all.indexOf('\r\n\r\n');
    const head = all.subarray(0, split).toString('latin1');
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head).toMatch(new RegExp(`content-length: ${BIG}`, 'i'));
    const body = all.subarray(split + 4);
    expect(body.length).toBe(BIG);
    expect(createHash('sha256').update(body).digest('hex')).toBe(expectedHash(BIG));
  });

  it('aborts the upstream request when the client goes away mid-stream', async () => {
    const u = new URL(gw.url);
    const socket = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false });
    await new Promise<void>((r) => socket.once('secureConnect', () => r()));
    socket.write(`GET /v2/items/endless HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
    await new Promise((r) => socket.once('data', r));
    socket.destroy();
    expect(await abortedMidStream).toBe(true);
  });

  it('breaks the client connection when the upstream dies mid-body (never a silently short body)', async () => {
    const r = call(`${gw.url}/v2/items/dies`);
    await expect(r).rejects.toThrow();
    // The gateway keeps serving.
    expect((await call(`${gw.url}/v2/items/1`)).status).toBe(200);
  });

  it('passes Set-Cookie lines separately and header bytes unchanged; drops 1xx interim answers', async () => {
    const r = await call(`${gw.url}/v2/items/cookies`);
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toEqual(['a=1; Secure; HttpOnly', 'b=2; Secure; HttpOnly']);
    expect(Buffer.from(String(r.headers['x-name']), 'latin1')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(r.headers.link).toBeUndefined();
    expect(r.text).toBe('{"ok":true}');
  });

  it('passes chunked bodies on chunked, and answers HEAD with the length but no body', async () => {
    const chunked = await call(`${gw.url}/v2/items/chunked`);
    expect(chunked.status).toBe(200);
    expect(chunked.headers['transfer-encoding']).toBe('chunked');
    expect(chunked.headers['content-length']).toBeUndefined();
    expect(chunked.text).toBe('one,two,three');
    const head = await request(`${gw.url}/v2/items/big`, { method: 'HEAD', dispatcher: insecureAgent });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(BIG));
    expect(await head.body.text()).toBe('');
    // The connection is still usable afterwards (no stray body bytes on it).
    expect((await call(`${gw.url}/v2/items/1`)).status).toBe(200);
  });

  it('waits for an asynchronous response policy before the head, for streamed and empty bodies', async () => {
    const big = await request(`${asyncGw.url}/v2/items/big`, { dispatcher: insecureAgent });
    expect(big.statusCode).toBe(200);
    expect(big.headers['x-stamped']).toBe('yes');
    const hash = createHash('sha256');
    for await (const c of big.body) hash.update(c as Buffer);
    expect(hash.digest('hex')).toBe(expectedHash(BIG));
    const empty = await call(`${asyncGw.url}/v2/items/empty`);
    expect(empty.status).toBe(204);
    expect(empty.headers['x-stamped']).toBe('yes');
    expect(empty.text).toBe('');
  });
});
