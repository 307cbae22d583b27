/**
 * The egress listener with real servers: the lab's (compromised) insurer stub and a
 * misbehaving third party on loopback, validated against their OpenAPI documents.
 */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { loadOpenApi } from '../../src/core/openapi-loader.ts';
import { EgressServer } from '../../src/gateway/egress/index.ts';
import { INSURER_SPEC, startThirdPartyStub, type StubServer } from '../../src/lab/index.ts';

const WEIRD_SPEC = `openapi: 3.0.3
info: { title: weird, version: '1' }
paths:
  /ok:
    get:
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, required: [n], properties: { n: { type: integer, nullable: true } } } } }
  /gz-ok:
    get:
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, required: [n], properties: { n: { type: integer, nullable: true } } } } }
  /gz-bad:
    get:
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: object, required: [n], properties: { n: { type: integer, nullable: true } } } } }
  /html:
    get:
      responses:
        '200': { description: ok, content: { application/json: { schema: { type: object } } } }
  /redirect:
    get:
      responses:
        '200': { description: ok, content: { application/json: { schema: { type: object } } } }
  /slow:
    get:
      responses:
        '200': { description: ok, content: { application/json: { schema: { type: object } } } }
`;

let insurer: StubServer;
let weird: http.Server;
let weirdUrl: string;
let dir: string;
const events: RampartEvent[] = [];
const egresses: EgressServer[] = [];

async function startEgress(
  mode: 'block' | 'report',
  opts: { allowPrivate?: boolean } = {},
): Promise<EgressServer> {
  const documents = new Map([
    ['insurer', await loadOpenApi(INSURER_SPEC)],
    ['weird', await loadOpenApi(join(dir, 'weird.yaml'))],
  ]);
  const e = await EgressServer.start({
    config: {
      host: '127.0.0.1',
      port: 0,
      mode,
      timeoutMs: 300,
      thirdParties: [
        {
          name: 'insurer',
          baseUrl: insurer.url,
          spec: INSURER_SPEC,
          allowPrivate: opts.allowPrivate ?? true,
        },
        { name: 'weird', baseUrl: weirdUrl, spec: join(dir, 'weird.yaml'), allowPrivate: true },
      ],
    },
    documents,
    log: silentLogger,
    clock: new ManualClock(0),
    emit: (ev) => events.push(ev),
  });
  egresses.push(e);
  return e;
}

const get = async (url: string) => {
  const r = await request(url);
  const text = await r.body.text();
  return {
    status: r.statusCode,
    headers: r.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-egress-'));
  await writeFile(join(dir, 'weird.yaml'), WEIRD_SPEC);
  insurer = await startThirdPartyStub();
  weird = http.createServer((req, res) => {
    if (req.url === '/ok')
      return res.writeHead(200, { 'content-type': 'application/json' }).end('{"n":null}');
    if (req.url === '/gz-ok' || req.url === '/gz-bad')
      return res
        .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        .end(gzipSync(req.url === '/gz-ok' ? '{"n":4}' : '{"n":"four"}'));
    if (req.url === '/html')
      return res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<h1>Error</h1><pre>at Object.<anonymous></pre>');
    if (req.url === '/redirect') return res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    // /slow never answers
  });
  await new Promise<void>((r) => weird.listen(0, '127.0.0.1', r));
  weirdUrl = `http://127.0.0.1:${(weird.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(egresses.map((e) => e.close()));
  await insurer?.close();
  weird?.closeAllConnections();
  await new Promise<void>((r) => weird?.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

describe('egress', () => {
  it('passes an answer that keeps the contract', async () => {
    const e = await startEgress('block');
    const r = await get(`${e.url}/insurer/eligibility/M-1001`);
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      memberId: 'M-1001',
      eligible: true,
      coveragePercent: 80,
      planName: 'Silver Care',
    });
    expect((await get(`${e.url}/insurer/eligibility/M-0000`)).status).toBe(404);
    expect((await get(`${e.url}/weird/ok`)).json()).toEqual({ n: null }); // 3.0 nullable
  });

  it('blocks the poisoned insurer answer (string boolean, 250 %, script plan name) with 502 and an event', async () => {
    const e = await startEgress('block');
    const before = events.length;
    const r = await get(`${e.url}/insurer/eligibility/M-6666`);
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json().type).toBe('https://rampart.dev/problems/response-invalid');
    expect(r.text).not.toContain('<script');
    const ev = events.slice(before).find((x) => x.type === 'contract-violation');
    expect(ev).toMatchObject({
      policy: 'egress',
      action: 'blocked',
      api: 'insurer',
      route: 'GET /eligibility/{memberId}',
    });
    const keywords = (ev as { violations: Array<{ pointer: string; keyword: string }> }).violations.map(
      (v) => `${v.pointer} ${v.keyword}`,
    );
    expect(keywords).toEqual(
      expect.arrayContaining([
        '/body/eligible type',
        '/body/coveragePercent maximum',
        '/body/planName maxLength',
      ]),
    );
  });

  it('report mode passes the answer on and still emits the violation', async () => {
    const e = await startEgress('report');
    const before = events.length;
    const r = await get(`${e.url}/insurer/eligibility/M-6666`);
    expect(r.status).toBe(200);
    expect(events.slice(before)).toContainEqual(
      expect.objectContaining({ type: 'contract-violation', action: 'reported' }),
    );
  });

  it('an undeclared Content-Type (an HTML error page) and a redirect never reach the API', async () => {
    const e = await startEgress('block');
    const html = await get(`${e.url}/weird/html`);
    expect(html.status).toBe(502);
    expect(html.text).not.toContain('anonymous');
    const redirect = await get(`${e.url}/weird/redirect`);
    expect(redirect.status).toBe(502);
    expect(redirect.headers.location).toBeUndefined();
  });

  it('a gzip answer is decoded and checked (not refused as unreadable); the API gets it as identity', async () => {
    const e = await startEgress('block');
    const ok = await get(`${e.url}/weird/gz-ok`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-encoding']).toBeUndefined();
    expect(ok.json()).toEqual({ n: 4 });
    const bad = await get(`${e.url}/weird/gz-bad`);
    expect(bad.status).toBe(502);
    expect(bad.headers['content-type']).toBe('application/problem+json');
    expect(bad.json()).toMatchObject({ type: 'https://rampart.dev/problems/response-invalid' });
  });

  it('times out a third party that never answers (504)', async () => {
    const e = await startEgress('block');
    const r = await get(`${e.url}/weird/slow`);
    expect(r.status).toBe(504);
    expect(r.json().type).toBe('https://rampart.dev/problems/gateway-timeout');
  });

  it('refuses calls the third party does not declare, or that break its contract', async () => {
    const e = await startEgress('block');
    expect((await get(`${e.url}/insurer/members`)).status).toBe(404);
    expect((await get(`${e.url}/nobody/x`)).status).toBe(404);
    const bad = await get(`${e.url}/insurer/eligibility/1'%20OR%201=1`);
    expect(bad.status).toBe(400);
    expect(bad.json().errors).toMatchObject([{ pointer: '/path/memberId', keyword: 'pattern' }]);
  });

  it('the SSRF guard refuses a third party on a private address unless allowed', async () => {
    const e = await startEgress('block', { allowPrivate: false });
    const r = await get(`${e.url}/insurer/eligibility/M-1001`);
    expect(r.status).toBe(422);
    expect(r.json().type).toBe('https://rampart.dev/problems/url-not-allowed');
    expect(insurer.hits()).toBeGreaterThan(0);
  });
});
