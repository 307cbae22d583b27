/**
 * The contract policies in the real gateway (TLS, undici pool, exchange buffering) against
 * an upstream that over-shares, breaks its schema, answers huge or never finishes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

const SPEC = `openapi: 3.0.3
info: { title: shop, version: '2' }
paths:
  /items/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: integer, minimum: 1 } }]
      responses:
        '200':
          description: an item
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties:
                  id: { type: integer }
                  name: { type: string }
                  price: { type: number, nullable: true }
        '404': { description: none, content: { application/problem+json: { schema: { type: object, required: [type] } } } }
  /search:
    get:
      parameters:
        - name: filter
          in: query
          style: form
          explode: true
          schema:
            type: object
            properties:
              color: { type: string, enum: [red, blue] }
              size: { type: integer, maximum: 10 }
              tag: { type: array, maxItems: 2, items: { type: string } }
        - { name: page, in: query, schema: { type: integer, minimum: 1 } }
      responses: { '200': { description: found, content: { application/json: { schema: { type: object } } } } }
  /packed/{coding}:
    get:
      parameters: [{ name: coding, in: path, required: true, schema: { type: string } }]
      responses:
        '200':
          description: a compressed item
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties: { id: { type: integer }, name: { type: string } }
  /notes:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: &note
              type: object
              properties:
                title: { type: string }
                tags: { type: array, items: { type: object, properties: { k: { type: string } } } }
      responses: { '200': { description: the note, content: { application/json: { schema: *note } } } }
  /huge:
    get:
      responses: { '200': { description: big, content: { application/json: { schema: { type: object } } } } }
  /never:
    get:
      responses: { '200': { description: slow, content: { application/json: { schema: { type: object } } } } }
`;

// Built once: 64 MiB of spaces in a JSON string, gzip'd to ~64 KiB (a zip bomb for the 8 MiB limit).
const BOMB = gzipSync(
  Buffer.concat([Buffer.from('{"id":1,"name":"'), Buffer.alloc(64 * 1024 * 1024, 0x20), Buffer.from('"}')]),
  { level: 9 },
);

let dir: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let gw: TestGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-contract-'));
  await writeFile(join(dir, 'shop.yaml'), SPEC);
  upstream = await startUpstream((req, res, body) => {
    const json = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.url === '/v2/items/1')
      return json(200, { id: 1, name: 'pen', price: null, costCents: 12, supplier: { iban: 'x' } });
    if (req.url === '/v2/items/2') return json(200, { id: 'two', name: 'pad' });
    if (req.url === '/v2/items/3')
      return json(404, '<html><body>Not Found: /srv/shop/items.js</body></html>', 'text/html');
    if (req.url === '/v2/items/4')
      return json(500, 'TypeError: cannot read x\n    at handler (/srv/shop.js:1:1)', 'text/plain');
    if (req.url?.startsWith('/v2/search')) return json(200, { q: req.url });
    if (req.url === '/v2/notes')
      return json(
        200,
        req.headers['x-answer'] === 'dup' ? '{"title":"a","tags":[{"k":"x","\\u006b":"y"}]}' : body,
      );
    const packed = /^\/v2\/packed\/([a-z0-9-]+)$/.exec(req.url ?? '');
    if (packed) {
      const item = Buffer.from(JSON.stringify({ id: 7, name: 'pen', costCents: 12, supplier: 'acme' }));
      const bad = Buffer.from(JSON.stringify({ id: 'seven', name: 'pen' }));
      const [coding, body]: [string, Buffer] = (
        {
          gzip: ['gzip', gzipSync(item)],
          br: ['br', brotliCompressSync(item)],
          deflate: ['deflate', deflateSync(item)],
          'raw-deflate': ['deflate', deflateRawSync(item)],
          layered: ['deflate, gzip', gzipSync(deflateSync(item))],
          'gzip-invalid': ['gzip', gzipSync(bad)],
          // 1 GiB of spaces inside a JSON string: ~1 MiB compressed, far over the 8 MiB limit decoded.
          bomb: ['gzip', BOMB],
          corrupt: ['gzip', Buffer.concat([gzipSync(item).subarray(0, 12), Buffer.from('not gzip at all')])],
          zstd: ['zstd', item],
        } as Record<string, [string, Buffer]>
      )[packed[1]!]!;
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': coding, etag: '"enc-1"' });
      return res.end(body);
    }
    if (req.url === '/v2/huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      res.write('{"a":"');
      for (let i = 0; i < 9; i++) res.write(chunk);
      return res.end('"}');
    }
    if (req.url === '/v2/never') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.write('{"partial":');
    }
    json(404, { type: 'about:blank' }, 'application/problem+json');
  });
  gw = await startTestGateway(upstream.url, {
    apis: [
      { name: 'shop', upstream: upstream.url, versions: [{ base: '/v2', spec: join(dir, 'shop.yaml') }] },
    ],
    limits: { upstreamResponseTimeoutMs: 1000 },
    policies: {
      'validate-request': { enabled: true },
      'validate-response': { enabled: true },
      'minimise-response': { enabled: true },
    },
  });
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

const P = 'https://rampart.dev/problems/';

describe('contract chain in the gateway', () => {
  it('minimises an over-sharing answer to the declared properties (3.0 nullable kept)', async () => {
    const r = await call(`${gw.url}/v2/items/1`);
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ id: 1, name: 'pen', price: null });
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
  });
  it('a 2xx that breaks its schema is a 502 response-invalid', async () => {
    const r = await call(`${gw.url}/v2/items/2`);
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json()).toMatchObject({ type: P + 'response-invalid' });
    expect(gw.events).toContainEqual(
      expect.objectContaining({
        type: 'contract-violation',
        policy: 'validate-response',
        route: 'GET /items/{id}',
      }),
    );
  });
  it('an HTML error page keeps its status but not its body; an undeclared 500 never reaches the client', async () => {
    const notFound = await call(`${gw.url}/v2/items/3`);
    expect(notFound.status).toBe(404);
    expect(notFound.json()).toMatchObject({ type: P + 'not-found' });
    expect(notFound.text).not.toContain('/srv/');
    const boom = await call(`${gw.url}/v2/items/4`);
    expect([500, 502]).toContain(boom.status);
    expect(boom.text).not.toContain('/srv/');
  });
  it('validates the request before the upstream sees it', async () => {
    const before = upstream.seen.length;
    const r = await call(`${gw.url}/v2/items/0`);
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({
      type: P + 'bad-request',
      errors: [{ pointer: '/path/id', keyword: 'minimum' }],
    });
    expect(upstream.seen.length).toBe(before);
  });
  it('an answer beyond the 8 MiB inspection limit is a 502, not passed on unchecked', async () => {
    const r = await call(`${gw.url}/v2/huge`);
    expect(r.status).toBe(502);
    expect(r.json()).toMatchObject({ type: P + 'bad-gateway' });
  });
  it('an answer that never ends is bounded by the upstream timeout', async () => {
    const r = await call(`${gw.url}/v2/never`);
    expect([502, 504]).toContain(r.status);
    expect(r.text).not.toContain('partial');
  });

  it('exploded form-style query objects: each property is a query parameter, validated and bounded', async () => {
    const ok = await call(`${gw.url}/v2/search?color=red&size=3&tag=a&tag=b&page=2`);
    expect(ok.status).toBe(200);
    const before = upstream.seen.length;
    const bad = await call(`${gw.url}/v2/search?color=green&size=30&tag=a&tag=b&tag=c&size=1`);
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/problem+json');
    const p = bad.json() as { type: string; errors: Array<{ pointer: string; keyword: string }> };
    expect(p.type).toBe(P + 'bad-request');
    expect(p.errors.map((e) => [e.pointer, e.keyword])).toEqual(
      expect.arrayContaining([
        ['/query/filter/color', 'enum'],
        ['/query/filter/size', 'type'], // given twice: ambiguous, refused
        ['/query/filter/tag', 'maxItems'],
      ]),
    );
    expect(upstream.seen.length).toBe(before);
  });

  it.each([['gzip'], ['br'], ['deflate'], ['raw-deflate'], ['layered']])(
    'a %s-encoded answer is decoded, checked and minimised, and leaves as identity',
    async (coding) => {
      const r = await call(`${gw.url}/v2/packed/${coding}`, {
        headers: { 'accept-encoding': 'gzip, deflate, br' },
      });
      expect(r.status).toBe(200);
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.headers.etag).toBeUndefined(); // the ETag named the encoded bytes
      expect(r.json()).toEqual({ id: 7, name: 'pen' });
      expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
    },
  );

  it('a compressed answer that breaks its schema is still caught (502 response-invalid)', async () => {
    const r = await call(`${gw.url}/v2/packed/gzip-invalid`);
    expect(r.status).toBe(502);
    expect(r.json()).toMatchObject({ type: P + 'response-invalid' });
    expect(r.text).not.toContain('seven');
  });

  it.each([['bomb'], ['corrupt'], ['zstd']])(
    '%s: 502 response-invalid, the violation names the coding, nothing of the body leaks',
    async (coding) => {
      const before = gw.events.length;
      const r = await call(`${gw.url}/v2/packed/${coding}`);
      expect(r.status).toBe(502);
      expect(r.headers['content-type']).toBe('application/problem+json');
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.json()).toMatchObject({ type: P + 'response-invalid' });
      expect(gw.events.slice(before)).toContainEqual(
        expect.objectContaining({
          type: 'contract-violation',
          policy: 'validate-response',
          violations: [{ pointer: '/header/content-encoding', keyword: 'contentEncoding' }],
        }),
      );
    },
  );

  it('hostile JSON both ways: refused on the way in (request-limits’ scan shared), re-serialised on the way out', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      call(`${gw.url}/v2/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const before = upstream.seen.length;
    const dup = await post('{"title":"a","tags":[{"k":"x","\\u006b":"y"}]}');
    expect(dup.status).toBe(400);
    expect(dup.json()).toMatchObject({
      type: P + 'unsafe-json',
      errors: [{ pointer: '/body/tags/0/k', keyword: 'duplicate-key' }],
    });
    const proto = await post('{"title":"a","tags":[{"__proto__":{"admin":true}}]}');
    expect(proto.json()).toMatchObject({ errors: [{ keyword: 'prototype-key' }] });
    const big = await post('{"title":"a","tags":[],"n":12345678901234567890}');
    expect(big.json()).toMatchObject({ type: P + 'unsafe-json', errors: [{ keyword: 'unsafe-number' }] });
    expect(upstream.seen.length).toBe(before);
    // A clean note goes through and its answer, nothing to drop, comes back byte for byte.
    const clean = '{ "title": "Caf\\u00e9 \\"menu\\"", "tags": [ { "k": "a:b" } ] }';
    const ok = await post(clean);
    expect(ok.status).toBe(200);
    expect(ok.text).toBe(clean);
    // An answer with a duplicate name reaches the client as the one value that was checked.
    const out = await post('{"title":"a"}', { 'x-answer': 'dup' });
    expect(out.status).toBe(200);
    expect(out.text).toBe('{"title":"a","tags":[{"k":"y"}]}');
  });
});
