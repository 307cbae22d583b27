/**
 * The contract policies in the real gateway (TLS, undici pool, exchange buffering) against
 * an upstream that over-shares, breaks its schema, answers huge or never finishes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /huge:
    get:
      responses: { '200': { description: big, content: { application/json: { schema: { type: object } } } } }
  /never:
    get:
      responses: { '200': { description: slow, content: { application/json: { schema: { type: object } } } } }
`;

let dir: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;
let gw: TestGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-contract-'));
  await writeFile(join(dir, 'shop.yaml'), SPEC);
  upstream = await startUpstream((req, res) => {
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
});
