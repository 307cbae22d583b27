/**
 * Issue #9, what reaches the upstream and what comes back: spoofable request headers,
 * upstream 5xx bodies, Via.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { SPOOFABLE_REQUEST_HEADERS } from '../../src/gateway/upstream.ts';
import { call, FIXTURES, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

const P = 'https://rampart.dev/problems/';
const SPEC = join(FIXTURES, 'gateway/hardening-v2.yaml');
const spoofed = Object.fromEntries(SPOOFABLE_REQUEST_HEADERS.map((n) => [n, 'spoofed']));

function api(upstream: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apis: [{ name: 'hard', upstream, ...extra, versions: [{ base: '/v2', spec: SPEC }] }] };
}

/** Log lines the gateway wrote (JSON), to check what went to the log and not to the client. */
function captureLog(): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n'))
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ destination, pretty: false, level: 'warn' }) };
}

describe('spoofable request headers', () => {
  let up: Upstream;
  let plain: TestGateway;
  let behindProxy: TestGateway;

  beforeAll(async () => {
    up = await startUpstream();
    plain = await startTestGateway(up.url, api(up.url));
    behindProxy = await startTestGateway(up.url, {
      trustedProxies: ['127.0.0.1'],
      ...api(up.url, { trustedRequestHeaders: ['cf-connecting-ip'], dropRequestHeaders: ['X-Debug-User'] }),
    });
  });
  afterAll(async () => {
    await plain.close();
    await behindProxy.close();
    await up.close();
  });
  beforeEach(() => {
    up.seen.length = 0;
  });

  it('are dropped before the upstream by default (client IP, path and method overrides)', async () => {
    const r = await call(`${plain.url}/v2/echo`, { headers: { ...spoofed, 'x-kept': 'yes' } });
    expect(r.status).toBe(200);
    const seen = up.seen[0]!;
    for (const n of SPOOFABLE_REQUEST_HEADERS) expect(seen.headers[n], n).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('yes');
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/v2/echo');
  });

  it('an API passes the ones it names from trusted proxies only, and drops its own extra names', async () => {
    await call(`${behindProxy.url}/v2/echo`, { headers: { ...spoofed, 'x-debug-user': 'admin' } });
    const seen = up.seen[0]!;
    expect(seen.headers['cf-connecting-ip']).toBe('spoofed');
    for (const n of SPOOFABLE_REQUEST_HEADERS.filter((x) => x !== 'cf-connecting-ip'))
      expect(seen.headers[n], n).toBeUndefined();
    expect(seen.headers['x-debug-user']).toBeUndefined();
    // The same API behind a gateway that does not trust its peer: nothing passes.
    await call(`${plain.url}/v2/echo`, { headers: { 'cf-connecting-ip': '6.6.6.6' } });
    expect(up.seen[1]!.headers['cf-connecting-ip']).toBeUndefined();
  });

  it('an unknown name in trustedRequestHeaders is a config error', async () => {
    await expect(
      startTestGateway(up.url, api(up.url, { trustedRequestHeaders: ['x-forwarded-user'] })),
    ).rejects.toThrow(/trustedRequestHeaders/);
  });
});

describe('upstream 5xx bodies and Via', () => {
  let up: Upstream;
  let gw: TestGateway;
  const log = captureLog();

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      switch (req.url) {
        case '/v2/echo':
          res.writeHead(200, { 'content-type': 'application/json', via: '1.1 varnish (Varnish/6.0.11)' });
          return res.end('{}');
        case '/v2/fail/plain':
          res.writeHead(500, { 'content-type': 'text/plain', via: '1.1 squid/5.7' });
          return res.end('internal error in /opt/backend/v1.2.3/handler');
        case '/v2/fail/declared':
          res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '30' });
          return res.end(
            JSON.stringify({
              type: 'https://api.example/problems/maintenance',
              title: 'Maintenance',
              status: 503,
              detail: 'Back soon. ' + 'x'.repeat(1000),
              window: 'tonight',
              internal: { host: 'db-7.internal' },
            }),
          );
        case '/v2/fail/declared?leak=1':
          res.writeHead(500, { 'content-type': 'application/problem+json' });
          return res.end(JSON.stringify({ title: 'Error', detail: 'at handler (/srv/app/x.js:1:2)' }));
        case '/v2/fail/undeclared':
          res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': 'soon' });
          return res.end('{"title":"down","detail":"postgres 15.2 on db-7"}');
        default:
          res.writeHead(404);
          return res.end();
      }
    });
    gw = await startTestGateway(up.url, api(up.url), [], { log: log.log });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('a text/plain 500 that matches no leak pattern is still replaced; the original goes to the log only', async () => {
    const r = await call(`${gw.url}/v2/fail/plain`);
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    expect(r.headers.via).toBeUndefined();
    expect(r.json()).toMatchObject({
      type: P + 'upstream-error',
      status: 500,
      request_id: r.headers['x-request-id'],
    });
    expect(r.text).not.toContain('/opt/backend');
    const line = log.lines.find((l) => l.requestId === r.headers['x-request-id']);
    expect(line).toMatchObject({
      status: 500,
      upstreamBody: 'internal error in /opt/backend/v1.2.3/handler',
    });
    expect(gw.events).toContainEqual(
      expect.objectContaining({ type: 'upstream-error', status: 500, reason: 'error-body-replaced' }),
    );
  });

  it('a problem+json the operation does not declare is replaced too (a valid Retry-After only is kept)', async () => {
    const r = await call(`${gw.url}/v2/fail/undeclared`);
    expect(r.status).toBe(503);
    expect(r.json()).toMatchObject({ type: P + 'upstream-error', status: 503 });
    expect(r.text).not.toContain('postgres');
    expect(r.headers['retry-after']).toBeUndefined(); // "soon" is not delay-seconds
  });

  it('a declared problem+json passes with bounded members; nested ones and leaks do not', async () => {
    const r = await call(`${gw.url}/v2/fail/declared`);
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.headers['retry-after']).toBe('30');
    const body = r.json() as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'https://api.example/problems/maintenance',
      title: 'Maintenance',
      status: 503,
      window: 'tonight',
    });
    expect((body.detail as string).length).toBe(256);
    expect(body.detail as string).toMatch(/^Back soon\. x+…$/);
    expect(body.internal).toBeUndefined();
    const leak = await call(`${gw.url}/v2/fail/declared?leak=1`);
    expect(leak.json()).toMatchObject({ type: P + 'upstream-error', status: 500 });
    expect(leak.text).not.toContain('/srv/app');
  });

  it('Via from the upstream is dropped like Server', async () => {
    const r = await call(`${gw.url}/v2/echo`);
    expect(r.status).toBe(200);
    expect(r.headers.via).toBeUndefined();
    expect(r.headers.server).toBeUndefined();
  });
});
