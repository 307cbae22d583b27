/**
 * Issue #19: each transport / request-limits / path decision, driven through the real
 * gateway (TLS 1.3 or plain TCP behind a "proxy", real upstream), so deleting the
 * decision fails a test. Raw sockets send the X-Forwarded-* headers a client may forge.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, FIXTURES, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { rawExchange, type RawResponse } from '../helpers/raw.ts';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

const P = 'https://rampart.dev/problems/';
const SPEC = join(FIXTURES, 'gateway/hardening-v2.yaml');
const DENIED = '203.0.113.9';
const REAL = '198.51.100.7';

function api(upstream: string): Record<string, unknown> {
  return { apis: [{ name: 'hard', upstream, versions: [{ base: '/v2', spec: SPEC }] }] };
}

async function get(url: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const u = new URL(url);
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  const ex = await rawExchange(
    url,
    `GET ${target} HTTP/1.1\r\nHost: ${u.host}\r\n${lines.join('')}Connection: close\r\n\r\n`,
  );
  expect(ex.responses.length, ex.text).toBe(1);
  return ex.responses[0]!;
}

/** A denial carries its problem type and the security headers. */
function expectProblem(r: RawResponse, status: number, code: string): void {
  expect(r.status, r.body).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(r.body) as { type: string; detail?: string };
  expect(body.type).toBe(P + code);
  // A human-readable reason (which never echoes the request back).
  expect(body.detail).toMatch(/^[A-Za-z].{10,}/);
  expect(r.headers['x-content-type-options']).toBe('nosniff');
  expect(r.headers['cache-control']).toBeDefined();
}

describe('transport: client address and the deny/allow lists', () => {
  let up: Upstream;
  let untrusting: TestGateway;
  let proxied: TestGateway;
  let allowOnly: TestGateway;

  beforeAll(async () => {
    up = await startUpstream();
    untrusting = await startTestGateway(up.url, {
      ...api(up.url),
      policies: { transport: { deny: [DENIED, '127.0.0.2'] } },
    });
    proxied = await startTestGateway(up.url, {
      ...api(up.url),
      trustedProxies: ['127.0.0.1', '10.0.0.0/8'],
      policies: { transport: { deny: [`${DENIED}/32`] } },
    });
    allowOnly = await startTestGateway(up.url, {
      ...api(up.url),
      trustedProxies: ['127.0.0.1'],
      policies: { transport: { allow: ['192.0.2.0/24'] } },
    });
  });
  afterAll(async () => {
    await Promise.all([untrusting.close(), proxied.close(), allowOnly.close()]);
    await up.close();
  });

  it('X-Forwarded-For from an untrusted peer is ignored: a denied address in it is not denied', async () => {
    const r = await get(untrusting.url, '/v2/echo', { 'X-Forwarded-For': DENIED });
    expect(r.status, r.body).toBe(200);
  });

  it('behind a trusted proxy the forwarded address is the one checked against the deny list', async () => {
    expectProblem(await get(proxied.url, '/v2/echo', { 'X-Forwarded-For': DENIED }), 403, 'ip-denied');
    expect((await get(proxied.url, '/v2/echo', { 'X-Forwarded-For': REAL })).status).toBe(200);
  });

  it('the right-most untrusted entry is the client: a spoofed left-most entry is not', async () => {
    // `spoofed, real`: the client forged the left entry; the proxy appended the real one.
    const spoofedDenied = await get(proxied.url, '/v2/echo', { 'X-Forwarded-For': `${DENIED}, ${REAL}` });
    expect(spoofedDenied.status, spoofedDenied.body).toBe(200);
    // The denied client hides behind a forged entry and a trusted inner hop: still found.
    const hidden = await get(proxied.url, '/v2/echo', { 'X-Forwarded-For': `${REAL}, ${DENIED}, 10.1.2.3` });
    expectProblem(hidden, 403, 'ip-denied');
  });

  it('the allow list admits only its blocks, on the resolved client address', async () => {
    expect((await get(allowOnly.url, '/v2/echo', { 'X-Forwarded-For': '192.0.2.77' })).status).toBe(200);
    expectProblem(await get(allowOnly.url, '/v2/echo', { 'X-Forwarded-For': REAL }), 403, 'ip-denied');
    // Without the header the TCP peer (127.0.0.1) is the client, and it is not allowed.
    expectProblem(await get(allowOnly.url, '/v2/echo'), 403, 'ip-denied');
  });
});

describe('transport: requireTls on a plain listener behind a TLS-terminating proxy', () => {
  let up: Upstream;
  let trusting: TestGateway;
  let untrusting: TestGateway;
  let optional: TestGateway;
  const plain = (dir: string) => ({ host: '127.0.0.1', port: 0, tls: { enabled: false, devCertDir: dir } });

  beforeAll(async () => {
    up = await startUpstream();
    trusting = await startTestGateway(up.url, {
      ...api(up.url),
      listen: plain('/tmp/unused'),
      trustedProxies: ['127.0.0.1'],
    });
    untrusting = await startTestGateway(up.url, { ...api(up.url), listen: plain('/tmp/unused') });
    optional = await startTestGateway(up.url, {
      ...api(up.url),
      listen: plain('/tmp/unused'),
      policies: { transport: { requireTls: false } },
    });
  });
  afterAll(async () => {
    await Promise.all([trusting.close(), untrusting.close(), optional.close()]);
    await up.close();
  });

  it('a plain request is refused with tls-required', async () => {
    expect(trusting.url).toMatch(/^http:/);
    expectProblem(await get(trusting.url, '/v2/echo'), 403, 'tls-required');
    expectProblem(await get(trusting.url, '/v2/echo', { 'X-Forwarded-Proto': 'http' }), 403, 'tls-required');
  });

  it("a trusted proxy's X-Forwarded-Proto: https is accepted; an untrusted peer's is not", async () => {
    expect((await get(trusting.url, '/v2/echo', { 'X-Forwarded-Proto': 'https' })).status).toBe(200);
    expectProblem(
      await get(untrusting.url, '/v2/echo', { 'X-Forwarded-Proto': 'https' }),
      403,
      'tls-required',
    );
  });

  it('requireTls: false serves plain requests', async () => {
    expect((await get(optional.url, '/v2/echo')).status).toBe(200);
  });
});

describe('request-limits and the request target', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startTestGateway(up.url, {
      ...api(up.url),
      policies: { 'request-limits': { maxUrlLength: 100, maxQueryParams: 3, maxJsonElements: 5 } },
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('a request target longer than maxUrlLength is 414 uri-too-long; one at the limit passes', async () => {
    const at = '/v2/echo?q=' + 'a'.repeat(100 - '/v2/echo'.length - 'q='.length);
    expect((await get(gw.url, at)).status).toBe(200);
    expectProblem(await get(gw.url, at + 'a'), 414, 'uri-too-long');
  });

  it('more than maxQueryParams query parameters is 400 bad-request; exactly the limit passes', async () => {
    expect((await get(gw.url, '/v2/echo?a=1&b=2&c=3')).status).toBe(200);
    const r = await get(gw.url, '/v2/echo?a=1&b=2&c=3&d=4');
    expectProblem(r, 400, 'bad-request');
    expect(r.body).toMatch(/At most 3 query parameters/);
  });

  it('a JSON body with more than maxJsonElements values is 400 json-too-large', async () => {
    const ok = await call(`${gw.url}/v2/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1,2,3,4]',
    });
    expect(ok.status, ok.text).not.toBe(400);
    const r = await call(`${gw.url}/v2/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1,2,3,4,5,6]',
    });
    expect(r.status, r.text).toBe(400);
    expect((r.json() as { type: string }).type).toBe(P + 'json-too-large');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each(['/v2/echo%7F', '/v2/ec%7fho', '/v2/%1F'])(
    '%s (encoded DEL / control) is 400 invalid-path',
    async (t) => {
      expectProblem(await get(gw.url, t), 400, 'invalid-path');
    },
  );
});

describe('hostile bodies and slow clients (server limits)', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startTestGateway(up.url, {
      ...api(up.url),
      limits: { maxBodyBytes: 64, headersTimeoutMs: 400, requestTimeoutMs: 600 },
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });
  const head = (extra: string) =>
    `POST /v2/echo HTTP/1.1\r\nHost: ${new URL(gw.url).host}\r\nContent-Type: application/json\r\n${extra}\r\n`;

  /** A refusal the server writes itself: problem type, nosniff, no-store, and the connection closed. */
  function expectRefused(ex: Awaited<ReturnType<typeof rawExchange>>, status: number, code: string): void {
    expect(ex.responses.length, ex.text).toBe(1);
    const r = ex.responses[0]!;
    expect(r.status, r.body).toBe(status);
    expect((JSON.parse(r.body) as { type: string }).type).toBe(P + code);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(ex.closedByServer).toBe(true);
  }

  it('an invalid chunk size is 400 request-smuggling, and nothing is forwarded', async () => {
    up.seen.length = 0;
    const ex = await rawExchange(gw.url, head('Transfer-Encoding: chunked\r\n') + 'zz\r\nhello\r\n0\r\n\r\n');
    expectRefused(ex, 400, 'request-smuggling');
    expect(up.seen).toHaveLength(0);
  });

  it('a chunked body over maxBodyBytes is 413 payload-too-large (no Content-Length to check up front)', async () => {
    up.seen.length = 0;
    const chunk = 'x'.repeat(40);
    const body = `28\r\n${chunk}\r\n28\r\n${chunk}\r\n0\r\n\r\n`;
    const ex = await rawExchange(gw.url, head('Transfer-Encoding: chunked\r\n') + body);
    expect(ex.responses.length, ex.text).toBe(1);
    const r = ex.responses[0]!;
    expect(r.status, r.body).toBe(413);
    expect((JSON.parse(r.body) as { type: string }).type).toBe(P + 'payload-too-large');
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers.connection).toBe('close');
    // A body refused while reading still passes the pre-routing policies: security headers, id.
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(up.seen).toHaveLength(0);
  });

  it('a Content-Length over maxBodyBytes is 413 payload-too-large', async () => {
    const ex = await rawExchange(gw.url, head('Content-Length: 65\r\n') + 'x'.repeat(65));
    expect(ex.responses[0]?.status, ex.text).toBe(413);
    expect((JSON.parse(ex.responses[0]!.body) as { type: string }).type).toBe(P + 'payload-too-large');
    expect(ex.responses[0]!.headers['x-content-type-options']).toBe('nosniff');
    expect(ex.responses[0]!.headers.connection).toBe('close');
  });

  it('a body that never completes is 408 request-timeout after requestTimeoutMs (set small here)', async () => {
    up.seen.length = 0;
    const ex = await rawExchange(gw.url, head('Content-Length: 40\r\n') + '{"a":', 3000);
    expectRefused(ex, 408, 'request-timeout');
    expect(up.seen).toHaveLength(0);
  });
});
