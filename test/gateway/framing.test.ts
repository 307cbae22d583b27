/**
 * Issue #9, framing and the request line (RFC 9112), probed with raw sockets: pipelined
 * bytes after an accepted request, HTTP/1.0 with Transfer-Encoding, Host validation and
 * the accepted-host list, absolute-form targets, and the header-count limit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { rawExchange, type RawResponse } from '../helpers/raw.ts';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

const P = 'https://rampart.dev/problems/';

/** A gateway refusal: problem+json with the security headers every answer carries. */
function expectProblem(r: RawResponse | undefined, status: number, code: string): void {
  expect(r, `expected a ${status} ${code}`).toBeDefined();
  expect(r!.status).toBe(status);
  expect(r!.headers['content-type']).toBe('application/problem+json');
  expect(r!.headers['x-content-type-options']).toBe('nosniff');
  expect(r!.headers['cache-control']).toBe('no-store');
  expect(r!.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
  expect(r!.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(r!.headers.connection).toBe('close');
  const body = JSON.parse(r!.body) as { type: string; status: number; request_id: string };
  expect(body.type).toBe(P + code);
  expect(body.status).toBe(status);
  expect(body.request_id).toBe(r!.headers['x-request-id']);
}

describe('framing: bytes after an accepted request', () => {
  let up: Upstream;
  let gw: TestGateway;
  let authority: string;

  beforeAll(async () => {
    up = await startUpstream((req, res, body) => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ created: req.method === 'POST', url: req.url, body }));
    });
    gw = await startTestGateway(up.url);
    authority = new URL(gw.url).host;
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });
  beforeEach(() => {
    up.seen.length = 0;
  });

  const create = (extra = ''): string => {
    const body = '{"name":"alice"}';
    return `POST /v2/items HTTP/1.1\r\nHost: ${authority}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
  };

  it('malformed bytes on a keep-alive connection: the accepted answer arrives complete, then the connection closes', async () => {
    const r = await rawExchange(gw.url, create() + 'GARBAGE \x01\r\n\r\n');
    expect(up.seen).toHaveLength(1); // the account was created upstream…
    expect(r.responses[0]?.status).toBe(201); // …and the client learns it
    expect(JSON.parse(r.responses[0]!.body)).toMatchObject({ created: true, body: '{"name":"alice"}' });
    expect(r.responses.map((x) => x.status)).not.toContain(400);
    expect(r.closedByServer).toBe(true);
  });

  it('any bytes after a request with Connection: close: answered in full, the rest neither answered nor forwarded', async () => {
    const r = await rawExchange(
      gw.url,
      create('Connection: close\r\n') + `GET /v2/items HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
    );
    expect(up.seen).toHaveLength(1);
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.status).toBe(201);
    expect(r.responses[0]!.headers.connection).toBe('close');
    expect(r.closedByServer).toBe(true);
  });

  it('any bytes after an HTTP/1.0 request: the same', async () => {
    const r = await rawExchange(
      gw.url,
      `GET /v2/items HTTP/1.0\r\nHost: ${authority}\r\n\r\nGET /v2/items/2 HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
    );
    expect(up.seen.map((s) => s.url)).toEqual(['/v2/items']);
    expect(r.responses).toHaveLength(1);
    expect(r.responses[0]!.status).toBe(200);
    expect(r.closedByServer).toBe(true);
  });

  it('well-formed pipelined requests are all answered, in order', async () => {
    const get = (n: number) => `GET /v2/items/${n} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`;
    const r = await rawExchange(gw.url, get(1) + get(2) + get(3));
    expect(r.responses.map((x) => JSON.parse(x.body).url)).toEqual([
      '/v2/items/1',
      '/v2/items/2',
      '/v2/items/3',
    ]);
  });

  it('HTTP/1.0 with Transfer-Encoding is faulty framing (RFC 9112 §6.1): 400 and close, nothing forwarded', async () => {
    const r = await rawExchange(
      gw.url,
      `POST /v2/items HTTP/1.0\r\nHost: ${authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    );
    expect(up.seen).toHaveLength(0);
    expect(r.responses).toHaveLength(1);
    expectProblem(r.responses[0], 400, 'request-smuggling');
    expect(r.closedByServer).toBe(true);
  });
});

describe('Host (RFC 9112 §3.2) and absolute-form targets (§3.2.2)', () => {
  let up: Upstream;
  let gw: TestGateway;
  let listed: TestGateway;
  let authority: string;
  let certDir: string;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startTestGateway(up.url);
    authority = new URL(gw.url).host;
    certDir = await mkdtemp(join(tmpdir(), 'rampart-hosts-'));
    listed = await startTestGateway(up.url, {
      listen: {
        host: '127.0.0.1',
        port: 0,
        tls: { devCertDir: certDir },
        acceptedHosts: ['api.example.test', 'LOCALHOST:8443'],
      },
    });
  });
  afterAll(async () => {
    await gw.close();
    await listed.close();
    await up.close();
    await rm(certDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    up.seen.length = 0;
  });

  const get = (host: string, target = '/v2/items'): string =>
    `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

  it('refuses two Host headers, userinfo, a path, and anything not uri-host[:port] with 400 invalid-host', async () => {
    const bad = [
      `GET /v2/items HTTP/1.1\r\nHost: ${authority}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
      get('a@evil.example'),
      get(`${authority}@evil.example`),
      get('evil.example/x'),
      get('evil.example?x'),
      get('evil.example#x'),
      get('exa mple.test'),
      get('example.test:99999'),
      get('example.test:8a'),
      get('example.test:'),
      get('[::1'),
      get('[::1]x'),
      get('a"b.example'),
      get(''),
    ];
    for (const payload of bad) {
      const r = await rawExchange(gw.url, payload);
      expect(r.responses, payload).toHaveLength(1);
      expectProblem(r.responses[0], 400, 'invalid-host');
      expect(r.closedByServer).toBe(true);
    }
    expect(up.seen).toHaveLength(0); // never forwarded, so never an X-Forwarded-Host
    // Each refusal is a bad-request event for the monitor.
    expect(gw.events).toContainEqual(
      expect.objectContaining({ type: 'bad-request', problem: 'invalid-host', ip: '127.0.0.1' }),
    );
  });

  it('accepts DNS names, IPv4 and IPv6 literals with or without a port, and passes them as X-Forwarded-Host', async () => {
    for (const host of [
      authority,
      'api.example.test',
      'API.Example.test:443',
      '[::1]:8443',
      '[2001:db8::1]',
      'a_b.internal',
    ]) {
      const r = await rawExchange(gw.url, get(host));
      expect(r.responses[0]?.status, host).toBe(200);
    }
    expect(up.seen.map((s) => s.headers['x-forwarded-host'])).toEqual([
      authority,
      'api.example.test',
      'API.Example.test:443',
      '[::1]:8443',
      '[2001:db8::1]',
      'a_b.internal',
    ]);
  });

  it('HTTP/1.0 may omit Host (health checks); HTTP/1.1 may not; with acceptedHosts a missing Host is 421', async () => {
    const r10 = await rawExchange(gw.url, 'GET /v2/items HTTP/1.0\r\n\r\n');
    expect(r10.responses[0]?.status).toBe(200);
    expect(up.seen[0]!.headers['x-forwarded-host']).toBeUndefined();
    const r11 = await rawExchange(gw.url, 'GET /v2/items HTTP/1.1\r\nConnection: close\r\n\r\n');
    expectProblem(r11.responses[0], 400, 'invalid-host');
    expectProblem(
      (await rawExchange(listed.url, 'GET /v2/items HTTP/1.0\r\n\r\n')).responses[0],
      421,
      'misdirected-request',
    );
    expect(up.seen).toHaveLength(1);
  });

  it('a listener with acceptedHosts answers other hosts 421 misdirected-request (case-insensitive; a port only where listed)', async () => {
    for (const host of ['api.example.test', 'API.EXAMPLE.TEST:8443', 'localhost:8443']) {
      expect((await rawExchange(listed.url, get(host))).responses[0]?.status, host).toBe(200);
    }
    for (const host of ['evil.example', new URL(listed.url).host, 'localhost', 'localhost:443']) {
      const r = await rawExchange(listed.url, get(host));
      expectProblem(r.responses[0], 421, 'misdirected-request');
    }
    expect(up.seen).toHaveLength(3);
  });

  it('absolute-form targets are accepted when the authority matches, and routed by their path', async () => {
    const r = await rawExchange(gw.url, get(authority, `https://${authority}/v2/items/7?x=1`));
    expect(r.responses[0]?.status).toBe(200);
    expect(up.seen[0]).toMatchObject({ url: '/v2/items/7?x=1' });
    expect(up.seen[0]!.headers['x-forwarded-host']).toBe(authority);
    // With an accepted-host list the authority decides; the Host header is ignored (§3.2.2).
    const l = await rawExchange(listed.url, get('evil.example', 'https://api.example.test/v2/items'));
    expect(l.responses[0]?.status).toBe(200);
    expect(up.seen[1]!.headers['x-forwarded-host']).toBe('api.example.test');
  });

  it('absolute-form targets with another authority, scheme or userinfo are 400 invalid-host; the path is checked as usual', async () => {
    for (const target of [
      'https://evil.example/v2/items',
      `http://${authority}/v2/items`,
      `https://user@${authority}/v2/items`,
      'ftp://x/y',
    ]) {
      const r = await rawExchange(gw.url, get(authority, target));
      expectProblem(r.responses[0], 400, 'invalid-host');
    }
    expectProblem(
      (await rawExchange(gw.url, get(authority, `https://${authority}/v2/../v2/items`))).responses[0],
      400,
      'invalid-path',
    );
    // An empty path is "/" (RFC 9112 §3.2.1): routed, and no operation is there.
    expect((await rawExchange(gw.url, get(authority, `https://${authority}`))).responses[0]?.status).toBe(
      404,
    );
    // With an accepted-host list, an authority outside it is refused the same way (not 421).
    const l = await rawExchange(listed.url, get('api.example.test', 'https://evil.example/v2/items'));
    expectProblem(l.responses[0], 400, 'invalid-host');
    expect(up.seen).toHaveLength(0);
  });
});

describe('header count', () => {
  let up: Upstream;
  let gw: TestGateway;
  let authority: string;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startTestGateway(up.url, { limits: { maxHeaderCount: 50 } });
    authority = new URL(gw.url).host;
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });
  beforeEach(() => {
    up.seen.length = 0;
  });

  const withHeaders = (n: number, last = ''): string => {
    let h = `GET /v2/items HTTP/1.1\r\nHost: ${authority}\r\n`;
    for (let i = 2; i <= n; i++) h += `X-H${i}: ${i}\r\n`;
    return h + last + 'Connection: close\r\n\r\n';
  };

  it('up to the limit passes; one more is 431 headers-too-large, not a silent truncation', async () => {
    const ok = await rawExchange(gw.url, withHeaders(49));
    expect(ok.responses[0]?.status).toBe(200); // 49 + Connection = 50
    const over = await rawExchange(gw.url, withHeaders(50));
    expectProblem(over.responses[0], 431, 'headers-too-large');
    expect(JSON.parse(over.responses[0]!.body).detail).toBe('At most 50 header fields are allowed');
    expect(up.seen).toHaveLength(1);
  });

  it("1,500 header lines before Authorization: 431, never forwarded without the trailing header (Node's maxHeadersCount truncates)", async () => {
    const r = await rawExchange(gw.url, withHeaders(1500, 'Authorization: Bearer abc\r\n'));
    expectProblem(r.responses[0], 431, 'headers-too-large');
    expect(up.seen).toHaveLength(0);
  });

  it('the default limit is 100 fields', async () => {
    const d = await startTestGateway(up.url);
    try {
      const host = new URL(d.url).host;
      const lines = (n: number) =>
        `GET /v2/items HTTP/1.1\r\nHost: ${host}\r\n` +
        Array.from({ length: n - 2 }, (_, i) => `X-H${i}: 1\r\n`).join('') +
        'Connection: close\r\n\r\n';
      expect((await rawExchange(d.url, lines(100))).responses[0]?.status).toBe(200);
      expectProblem((await rawExchange(d.url, lines(101))).responses[0], 431, 'headers-too-large');
    } finally {
      await d.close();
    }
  });
});
