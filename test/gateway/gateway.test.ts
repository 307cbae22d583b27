import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, echo, rawTls, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { MemoryCounterStore } from '../../src/store/counters/memory.ts';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

describe('gateway over TLS 1.3', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream((req, res, body) => {
      if (req.url === '/v2/crash') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(
          'TypeError: x is undefined\n    at handler (/srv/app/routes/crash.js:12:7)\n    at Layer.handle (/srv/node_modules/express/lib/router/layer.js:95:5)',
        );
        return;
      }
      if (req.url === '/v2/items/huge-error') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(Buffer.alloc(9 * 1024 * 1024, 120));
        return;
      }
      if (req.url === '/v2/items/plain-error') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error":"maintenance"}');
        return;
      }
      if (req.url === '/v2/items/special') {
        res.writeHead(200, {
          'content-type': 'application/json',
          vary: 'Origin',
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'GET, POST, DELETE',
          'access-control-max-age': '86400',
        });
        res.end('{}');
        return;
      }
      echo(req, res, body);
    });
    gw = await startTestGateway(up.url, {
      limits: { maxBodyBytes: 1024, maxHeaderBytes: 4096 },
      policies: {
        cors: { origins: ['https://app.example.com'], credentials: true },
        'request-limits': { maxJsonDepth: 5 },
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('proxies a matched operation to the upstream with forwarding headers and a request id', async () => {
    const r = await call(`${gw.url}/v2/items/42?x=1`, {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        forwarded: 'for=6.6.6.6;proto=https',
        'x-request-id': 'spoofed-id-123',
        'x-authenticated-user': 'admin',
      },
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ method: 'GET', url: '/v2/items/42?x=1' });
    const seen = up.seen.at(-1)!;
    // Untrusted client: its forwarding headers, request id and identity headers are dropped (ASVS 4.1.3).
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-host']).toMatch(/^127\.0\.0\.1:\d+$/);
    // RFC 7239 Forwarded is off by default (forwardedHeader): not sent, and the client's is dropped.
    expect(seen.headers.forwarded).toBeUndefined();
    expect(seen.headers['x-authenticated-user']).toBeUndefined();
    expect(seen.headers['x-request-id']).not.toBe('spoofed-id-123');
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers['x-request-id']).toBe(seen.headers['x-request-id']);
  });

  it('strips hop-by-hop headers both ways and leaky headers from responses, adds security headers', async () => {
    const raw = await rawTls(
      gw.url,
      'GET /v2/items HTTP/1.1\r\nHost: localhost\r\nConnection: close, x-secret-hop\r\nX-Secret-Hop: 1\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n\r\n',
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const seen = up.seen.at(-1)!;
    expect(seen.headers['x-secret-hop']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    const r = await call(`${gw.url}/v2/items`);
    expect(r.headers['x-hop']).toBeUndefined();
    expect(r.headers.server).toBeUndefined();
    expect(r.headers['x-powered-by']).toBeUndefined();
    expect(r.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cross-origin-resource-policy']).toBe('same-origin');
  });

  it('routes literal segments before templated ones and partial templates', async () => {
    expect((await call(`${gw.url}/v2/items/special`)).status).toBe(200);
    expect((await call(`${gw.url}/v2/items/7/files/report.json`)).status).toBe(200);
    expect(up.seen.at(-1)!.url).toBe('/v2/items/7/files/report.json');
  });

  it('answers unknown paths 404 and undeclared methods 405 with Allow, as problem+json, and emits shadow-endpoint events', async () => {
    const before = up.seen.length;
    const nf = await call(`${gw.url}/v2/admin/debug`);
    expect(nf.status).toBe(404);
    expect(nf.headers['content-type']).toBe('application/problem+json');
    expect(nf.json()).toMatchObject({
      type: 'https://rampart.dev/problems/not-found',
      status: 404,
      title: 'Not Found',
    });
    expect((nf.json() as { request_id: string }).request_id).toBe(nf.headers['x-request-id']);
    const na = await call(`${gw.url}/v2/items/1`, { method: 'DELETE' });
    expect(na.status).toBe(405);
    expect(na.headers.allow).toBe('GET, HEAD');
    expect(up.seen.length).toBe(before);
    const shadow = gw.events.filter((e) => e.type === 'shadow-endpoint');
    expect(shadow.map((e) => e.type === 'shadow-endpoint' && e.reason)).toEqual(
      expect.arrayContaining(['unknown-path', 'method-not-allowed']),
    );
    // Security headers on local answers too.
    expect(nf.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each([
    ['/v2/items/../admin', 'dot segment'],
    ['/v2/items/%2e%2e/admin', 'encoded dot segment'],
    ['/v2/items/%2E%2e', 'mixed-case encoded dot segment'],
    ['/v2//items', 'empty segment'],
    ['/v2/items/a%2Fb', 'encoded slash'],
    ['/v2/items/a%5Cb', 'encoded backslash'],
    ['/v2/items/a%00', 'encoded NUL'],
    ['/v2/items/%zz', 'malformed escape'],
    ['/v2/items/a\\b', 'raw backslash'],
  ])('refuses path trick %s (%s) with 400 and never forwards it', async (path) => {
    const before = up.seen.length;
    const out = await rawTls(gw.url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toContain('application/problem+json');
    expect(up.seen.length).toBe(before);
  });

  it('refuses conflicting Content-Length and Transfer-Encoding, and duplicate Content-Length, closing the connection', async () => {
    const before = up.seen.length;
    const smuggle = await rawTls(
      gw.url,
      'POST /v2/items HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /v2/admin HTTP/1.1\r\nHost: localhost\r\n\r\n',
    );
    expect(smuggle).toMatch(/^HTTP\/1\.1 400 /);
    expect(smuggle.match(/HTTP\/1\.1/g)).toHaveLength(1);
    const dupCl = await rawTls(
      gw.url,
      'POST /v2/items HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nContent-Length: 10\r\n\r\n{}',
    );
    expect(dupCl).toMatch(/^HTTP\/1\.1 400 /);
    expect(up.seen.length).toBe(before);
  });

  it('answers malformed HTTP with 400 problem+json', async () => {
    const out = await rawTls(gw.url, 'GET /v2/items HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toContain('"type":"https://rampart.dev/problems/');
  });

  it('limits header size (431), body size (413), JSON depth, invalid JSON and invalid UTF-8 (400)', async () => {
    const big = await rawTls(
      gw.url,
      `GET /v2/items HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`,
    );
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    const before = up.seen.length;
    const tooBig = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(2000) }),
    });
    expect(tooBig.status).toBe(413);
    const deep = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[[[[[[[[[[1]]]]]]]]]]',
    });
    expect(deep.status).toBe(400);
    expect(deep.json()).toMatchObject({ type: 'https://rampart.dev/problems/json-too-deep' });
    const bad = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({
      type: 'https://rampart.dev/problems/invalid-json',
      detail: 'The body is not valid JSON (it ends early, line 1, column 6)',
    });
    // JSON.parse's own message quotes the body ("Unexpected token 'H', …Hunter2-My…"): never sent.
    const leaky = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"password":Hunter2-MySecret}',
    });
    expect(leaky.status).toBe(400);
    expect(leaky.headers['content-type']).toBe('application/problem+json');
    expect(leaky.json()).toMatchObject({
      type: 'https://rampart.dev/problems/invalid-json',
      detail: 'The body is not valid JSON (line 1, column 13)',
    });
    expect(leaky.text).not.toMatch(/Hunter|Secret|Unexpected/);
    const notUtf8 = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    expect(notUtf8.status).toBe(400);
    expect(notUtf8.json()).toMatchObject({ detail: 'The body is not valid UTF-8' });
    expect(up.seen.length).toBe(before);
    const ok = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"pen"}',
    });
    expect(ok.status).toBe(200);
    expect(up.seen.at(-1)!.body).toBe('{"name":"pen"}');
    expect(up.seen.at(-1)!.headers['content-length']).toBe('14');
  });

  it('replaces upstream 5xx bodies that leak stack traces, keeps plain ones', async () => {
    const r = await call(`${gw.url}/v2/crash`);
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.text).not.toContain('crash.js');
    expect(r.json()).toMatchObject({
      type: 'https://rampart.dev/problems/upstream-error',
      request_id: r.headers['x-request-id'],
    });
    // A 5xx body too large to inspect is not passed on unchecked (nor held in memory).
    const huge = await call(`${gw.url}/v2/items/huge-error`);
    expect(huge.status).toBe(502);
    expect(huge.json()).toMatchObject({ type: 'https://rampart.dev/problems/bad-gateway' });
    const plain = await call(`${gw.url}/v2/items/plain-error`);
    expect(plain.status).toBe(503);
    // Not a problem+json the operation declares: replaced like any other upstream 5xx body.
    expect(plain.json()).toMatchObject({ type: 'https://rampart.dev/problems/upstream-error', status: 503 });
  });

  it('CORS: echoes only allowed origins, answers preflights, never reflects others', async () => {
    const ok = await call(`${gw.url}/v2/items`, { headers: { origin: 'https://app.example.com' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    expect(ok.headers.vary).toContain('Origin');
    expect(ok.headers.vary).toBe('Origin');
    // An upstream that already varies on Origin (and reflects '*') is not duplicated or trusted.
    const upVary = await call(`${gw.url}/v2/items/special`, { headers: { origin: 'https://evil.example' } });
    expect(upVary.headers.vary).toBe('Origin');
    expect(upVary.headers['access-control-allow-origin']).toBeUndefined();
    expect(upVary.headers['access-control-allow-methods']).toBeUndefined();
    expect(upVary.headers['access-control-max-age']).toBeUndefined();
    const evil = await call(`${gw.url}/v2/items`, { headers: { origin: 'https://evil.example' } });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    expect(evil.headers['access-control-allow-credentials']).toBeUndefined();
    const pre = await call(`${gw.url}/v2/items`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.text).toBe('');
    expect(pre.headers['access-control-allow-methods']).toContain('POST');
    const preEvil = await call(`${gw.url}/v2/items`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preEvil.status).toBe(403);
    expect((preEvil.json() as { type: string }).type).toBe('https://rampart.dev/problems/cors-denied');
    expect(preEvil.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(preEvil.headers['x-content-type-options']).toBe('nosniff');
    expect(preEvil.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses TLS 1.2 handshakes and negotiates TLS 1.3', async () => {
    const u = new URL(gw.url);
    const v13 = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
        resolve(s.getProtocol() ?? '');
        s.end();
      });
      s.on('error', reject);
    });
    expect(v13).toBe('TLSv1.3');
    const v12 = await new Promise<string>((resolve) => {
      const s = tls.connect(
        { host: u.hostname, port: Number(u.port), rejectUnauthorized: false, maxVersion: 'TLSv1.2' },
        () => {
          resolve('connected');
          s.end();
        },
      );
      s.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? 'error'));
    });
    expect(v12).not.toBe('connected');
  });

  it('openssl s_client: -tls1_2 fails, -tls1_3 succeeds', async () => {
    const u = new URL(gw.url);
    const target = `${u.hostname}:${u.port}`;
    const run = (flag: string) =>
      new Promise<{ out: string }>((resolve) => {
        const child = execFile(
          'openssl',
          ['s_client', '-connect', target, flag, '-brief'],
          { timeout: 10_000 },
          (_err, stdout, stderr) => resolve({ out: `${stdout}${stderr}` }),
        );
        child.stdin?.end();
      });
    const t13 = await run('-tls1_3');
    expect(t13.out).toMatch(/Protocol version: TLSv1\.3/);
    const t12 = await run('-tls1_2');
    expect(t12.out).not.toMatch(/Protocol version: TLSv1\.2/);
    expect(t12.out).toMatch(/alert|error|fail/i);
  });
});

describe('gateway upstream failures and lifecycle', () => {
  it('answers 503 when the upstream is down and 504 when it is too slow', async () => {
    const down = await startTestGateway('http://127.0.0.1:1');
    try {
      const r = await call(`${down.url}/v2/items`);
      expect(r.status).toBe(503);
      expect(r.json()).toMatchObject({ type: 'https://rampart.dev/problems/upstream-unavailable' });
    } finally {
      await down.close();
    }
    const slowUp = await startUpstream(() => {
      /* never answers */
    });
    const slow = await startTestGateway(slowUp.url, { limits: { upstreamResponseTimeoutMs: 200 } });
    try {
      const r = await call(`${slow.url}/v2/slow`);
      expect(r.status).toBe(504);
      expect(r.json()).toMatchObject({ type: 'https://rampart.dev/problems/gateway-timeout' });
    } finally {
      await slow.close();
      await slowUp.close();
    }
  });

  it('closes slow clients that never finish their headers (slowloris) with 408', async () => {
    const up = await startUpstream();
    const gw = await startTestGateway(up.url, { limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    try {
      const out = await rawTls(gw.url, 'GET /v2/items HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', 5000);
      expect(out).toMatch(/^HTTP\/1\.1 408 /);
      expect(up.seen.length).toBe(0);
    } finally {
      await gw.close();
      await up.close();
    }
  });

  it('redirects the optional plain-HTTP listener to HTTPS', async () => {
    const up = await startUpstream();
    const gw = await startTestGateway(up.url, {
      listen: { host: '127.0.0.1', port: 0, http: { port: 0, mode: 'redirect' } },
    });
    try {
      const port = gw.gateway.redirectPort!;
      const r = await call(`http://127.0.0.1:${port}/v2/items?x=1`);
      expect(r.status).toBe(308);
      expect(r.headers.location).toBe(`https://127.0.0.1:${gw.gateway.port}/v2/items?x=1`);
      const bad = await call(`http://127.0.0.1:${port}/v2/items`, { headers: { host: 'evil.example/x' } });
      expect(bad.status).toBe(400);
      expect(bad.json()).toMatchObject({ type: 'https://rampart.dev/problems/invalid-host' });
      expect(up.seen.length).toBe(0);
      const userinfo = await call(`http://127.0.0.1:${port}/v2/items`, {
        headers: { host: 'a@evil.example' },
      });
      expect(userinfo.status).toBe(400);
    } finally {
      await gw.close();
      await up.close();
    }
  });

  it('the redirect listener honours acceptedHosts: no Location to a host the gateway does not serve', async () => {
    const up = await startUpstream();
    const dir = await mkdtemp(join(tmpdir(), 'rampart-redirect-'));
    const gw = await startTestGateway(up.url, {
      listen: {
        host: '127.0.0.1',
        port: 0,
        tls: { devCertDir: dir },
        http: { port: 0, mode: 'redirect' },
        acceptedHosts: ['api.example.test'],
      },
    });
    try {
      const port = gw.gateway.redirectPort!;
      const ok = await call(`http://127.0.0.1:${port}/v2/items`, { headers: { host: 'api.example.test' } });
      expect(ok.status).toBe(308);
      expect(ok.headers.location).toBe(`https://api.example.test:${gw.gateway.port}/v2/items`);
      const other = await call(`http://127.0.0.1:${port}/v2/items`, { headers: { host: 'evil.example' } });
      expect(other.status).toBe(421);
      expect(other.json()).toMatchObject({ type: 'https://rampart.dev/problems/misdirected-request' });
      expect(other.headers.location).toBeUndefined();
    } finally {
      await gw.close();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops the response headers security-headers is configured to remove, in any case', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'X-Internal-Trace': 'node-7',
        'x-keep': 'yes',
      });
      res.end('{}');
    });
    const gw = await startTestGateway(up.url, {
      policies: { 'security-headers': { remove: ['X-Internal-Trace'] } },
    });
    try {
      const r = await call(`${gw.url}/v2/items`);
      expect(r.status).toBe(200);
      expect(r.headers['x-internal-trace']).toBeUndefined();
      expect(r.headers['x-keep']).toBe('yes');
    } finally {
      await gw.close();
      await up.close();
    }
  });

  it('trusts forwarding headers and request ids only from configured proxies', async () => {
    const up = await startUpstream();
    const gw = await startTestGateway(up.url, {
      trustedProxies: ['127.0.0.0/8'],
      forwardedHeader: true,
      policies: { transport: { deny: ['203.0.113.0/24'] } },
    });
    try {
      const r = await call(`${gw.url}/v2/items`, {
        headers: {
          'x-forwarded-for': '198.51.100.7',
          forwarded: 'for=198.51.100.7;proto=https',
          'x-request-id': 'edge-req-0001',
        },
      });
      expect(r.status).toBe(200);
      expect(r.headers['x-request-id']).toBe('edge-req-0001');
      expect(up.seen.at(-1)!.headers['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
      // With forwardedHeader on, the trusted proxy's Forwarded is extended with this hop.
      expect(up.seen.at(-1)!.headers.forwarded).toMatch(
        /^for=198\.51\.100\.7;proto=https, for=127\.0\.0\.1;proto=https;host="127\.0\.0\.1:\d+"$/,
      );
      const denied = await call(`${gw.url}/v2/items`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      expect(denied.status).toBe(403);
      expect(denied.json()).toMatchObject({ type: 'https://rampart.dev/problems/ip-denied' });
    } finally {
      await gw.close();
      await up.close();
    }
  });

  it('drains in-flight requests on close and swaps config on reload without dropping one', async () => {
    let release: (() => void) | undefined;
    const up = await startUpstream((req, res) => {
      const finish = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"done":true}');
      };
      if (req.url === '/v2/slow') release = finish;
      else finish();
    });
    const gw = await startTestGateway(up.url);
    const pending = call(`${gw.url}/v2/slow`);
    await expect.poll(() => release !== undefined).toBe(true);
    // Reload with a config that turns CORS on: the in-flight request finishes on the old runtime.
    const { configFromObject, loadApis } = await import('../../src/cli/app.ts');
    const { buildPolicies } = await import('../../src/gateway/policies/index.ts');
    const cfg = configFromObject(
      { ...gw.gateway.config, policies: { cors: { origins: ['https://new.example'] } } },
      gw.dir,
    );
    const services = {
      clock: gw.clock,
      log: (await import('../../src/core/logger.ts')).silentLogger,
      db: undefined,
      localIssuer: undefined,
      apiKeys: undefined,
      counters: new MemoryCounterStore({ clock: gw.clock }),
    };
    await gw.gateway.reload({
      config: cfg,
      apis: await loadApis(cfg),
      policies: buildPolicies(cfg.policies, services),
    });
    const after = await call(`${gw.url}/v2/items`, { headers: { origin: 'https://new.example' } });
    expect(after.headers['access-control-allow-origin']).toBe('https://new.example');
    const closing = gw.close();
    release!();
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ done: true });
    await closing;
    await up.close();
  });
});
