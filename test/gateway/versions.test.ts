import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseItem, parseList } from 'structured-headers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  keyPair,
  signToken,
  TestLocalIssuer,
  type TestKeyPair,
} from '../../src/gateway/policies/authenticate/testing.ts';
import { readTraffic, TrafficRecorder } from '../../src/versions/traffic.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { call, FIXTURES, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';
import { forEachStore } from '../helpers/stores.ts';

const HOUR = 3_600_000;
const ISS = 'https://id.versions.test';
const AUD = 'rampart';

const SPEC = `openapi: 3.1.0
info: { title: Orders, version: 1.0.0 }
components:
  securitySchemes: { bearer: { type: http, scheme: bearer } }
paths:
  /orders:
    get:
      security: [{ bearer: [] }]
      responses: { '200': { description: ok } }
  /legacy:
    get:
      deprecated: true
      security: []
      x-rampart:
        deprecation: { date: '2026-01-15', link: 'https://shop.example/legacy' }
      responses: { '200': { description: ok } }
  /public:
    get:
      security: []
      responses: { '200': { description: ok } }
`;

/** Parses one Link field value into [target, rel] pairs (RFC 8288, enough for these tests). */
function links(v: string | string[] | undefined): Array<[string, string]> {
  const all = (Array.isArray(v) ? v : v ? [v] : []).flatMap((s) => s.split(/,(?=\s*<)/));
  return all.map((l) => {
    const m = /^\s*<([^>]*)>\s*;\s*rel="([^"]+)"\s*$/.exec(l);
    if (!m) throw new Error(`not a link value: ${l}`);
    return [m[1]!, m[2]!];
  });
}

describe('versions policy through the gateway', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let gw: TestGateway;
  let dir: string;
  let key: TestKeyPair;
  let t0: number;

  beforeAll(async () => {
    key = await keyPair('ES256', 'v-1');
    up = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'rampart-versions-'));
    const spec = join(dir, 'orders.yaml');
    await writeFile(spec, SPEC);
    t0 = Date.now();
    const iso = (t: number) => new Date(t).toISOString();
    gw = await startTestGateway(
      up.url,
      {
        apis: [
          {
            name: 'orders',
            upstream: up.url,
            versions: [
              { base: '/v2', spec },
              {
                base: '/v1',
                spec,
                deprecated: iso(t0 + HOUR),
                sunset: iso(t0 + 2 * HOUR),
                successor: '/v2',
                deprecationLink: 'https://shop.example/changelog#v1',
                sunsetLink: 'https://shop.example/sunset/v1',
              },
            ],
          },
        ],
      },
      [],
      { localIssuer: new TestLocalIssuer(ISS, AUD, [key]) },
    );
    gw.clock.set(t0);
  });

  afterAll(async () => {
    await gw?.close();
    await up?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const token = () =>
    signToken(key, {
      iss: ISS,
      aud: AUD,
      sub: 'user-7',
      iat: Math.floor(gw.clock.now() / 1000),
      exp: Math.floor(gw.clock.now() / 1000) + 3600,
      roles: [],
    });

  it('announces the schedule before the deprecation instant: RFC 9745 Date, RFC 8594 IMF-fixdate, links', async () => {
    const r = await call(`${gw.url}/v1/public`);
    expect(r.status).toBe(200);
    const [dep] = parseItem(r.headers.deprecation as string);
    expect((dep as Date).getTime()).toBe(Math.floor((t0 + HOUR) / 1000) * 1000);
    expect(Date.parse(r.headers.sunset as string)).toBe(Math.floor((t0 + 2 * HOUR) / 1000) * 1000);
    expect(r.headers.sunset).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(links(r.headers.link)).toEqual([
      ['https://shop.example/changelog#v1', 'deprecation'],
      ['https://shop.example/sunset/v1', 'sunset'],
      ['/v2', 'successor-version'],
    ]);
    const ev = gw.events.filter((e) => e.type === 'deprecated-version-used').at(-1);
    expect(ev).toMatchObject({
      api: 'orders',
      version: '/v1',
      route: '/public',
      state: 'announced',
      consumerKind: 'anonymous',
    });
    // The current version carries none of it.
    const v2 = await call(`${gw.url}/v2/public`);
    expect(v2.headers.deprecation).toBeUndefined();
    expect(v2.headers.sunset).toBeUndefined();
    expect(v2.headers.link).toBeUndefined();
  });

  it('deprecated from its instant: headers on answers and on denials, events name the consumer', async () => {
    gw.clock.set(t0 + HOUR);
    const ok = await call(`${gw.url}/v1/orders`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers.deprecation).toBe(`@${Math.floor((t0 + HOUR) / 1000)}`);
    const ev = gw.events.filter((e) => e.type === 'deprecated-version-used').at(-1);
    expect(ev).toMatchObject({
      state: 'deprecated',
      consumer: 'user-7',
      consumerKind: 'user',
      method: 'GET',
      route: '/orders',
    });
    // A denial of the deprecated version is an answer of that version too.
    const denied = await call(`${gw.url}/v1/orders`);
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Bearer realm="rampart"');
    expect(denied.headers.deprecation).toBeDefined();
    expect(links(denied.headers.link).map((l) => l[1])).toContain('successor-version');
  });

  it('an operation deprecated in its document gets its own date and link, even on the current version', async () => {
    const r = await call(`${gw.url}/v2/legacy`);
    expect(r.status).toBe(200);
    const [dep] = parseItem(r.headers.deprecation as string);
    expect((dep as Date).toISOString()).toBe('2026-01-15T00:00:00.000Z');
    expect(links(r.headers.link)).toEqual([['https://shop.example/legacy', 'deprecation']]);
    expect(r.headers.sunset).toBeUndefined();
  });

  it('retired from the sunset instant: 410 problem+json naming the successor, nothing forwarded', async () => {
    gw.clock.set(t0 + 2 * HOUR - 1);
    expect((await call(`${gw.url}/v1/public`)).status).toBe(200);
    const before = up.seen.length;
    gw.clock.set(t0 + 2 * HOUR);
    const r = await call(`${gw.url}/v1/orders`, { headers: { authorization: `Bearer ${await token()}` } });
    expect(r.status).toBe(410);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json()).toMatchObject({
      type: 'https://rampart.dev/problems/gone',
      status: 410,
      successor: '/v2',
      sunset: new Date(t0 + 2 * HOUR).toISOString(),
    });
    expect((r.json() as { detail: string }).detail).toMatch(/^\/v1 was retired on .*; use \/v2$/);
    expect(links(r.headers.link)).toEqual([['/v2', 'successor-version']]);
    expect(r.headers.sunset).toBeDefined();
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(up.seen.length).toBe(before);
    expect(gw.events.filter((e) => e.type === 'denied').at(-1)).toMatchObject({
      policy: 'versions',
      problem: 'gone',
    });
    // Unauthenticated callers learn the same: retirement comes before authentication.
    expect((await call(`${gw.url}/v1/orders`)).status).toBe(410);
    expect(
      (await call(`${gw.url}/v2/orders`, { headers: { authorization: `Bearer ${await token()}` } })).status,
    ).toBe(200);
  });

  it('keeps an upstream Link and appends its own (one field value list)', async () => {
    gw.clock.set(t0 + HOUR);
    const linked = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', link: '</v1/public?page=2>; rel="next"' });
      res.end('{}');
    });
    const g = await startTestGateway(linked.url, {
      apis: [
        {
          name: 'orders',
          upstream: linked.url,
          versions: [
            { base: '/v1', spec: join(dir, 'orders.yaml'), deprecated: '2026-01-01', successor: '/v1' },
          ],
        },
      ],
    });
    try {
      const r = await call(`${g.url}/v1/public`);
      expect(links(r.headers.link)).toEqual([
        ['/v1/public?page=2', 'next'],
        ['/v1', 'successor-version'],
      ]);
      // Deprecation is a structured-field Date, a single Item (not a List).
      expect(() => parseList(r.headers.deprecation as string)).not.toThrow();
      expect(parseItem(r.headers.deprecation as string)[0]).toBeInstanceOf(Date);
    } finally {
      await g.close();
      await linked.close();
    }
  });
});

forEachStore('inventory from traffic through the gateway', (getDb) => {
  it('records last seen per operation, shadow probes and deprecated usage per consumer', async () => {
    const up = await startUpstream();
    const gw = await startTestGateway(up.url, {
      apis: [
        {
          name: 'shop',
          upstream: up.url,
          versions: [
            { base: '/v2', spec: join(FIXTURES, 'gateway/shop-v2.yaml') },
            {
              base: '/v1',
              spec: join(FIXTURES, 'gateway/shop-v2.yaml'),
              deprecated: '2026-01-01',
              successor: '/v2',
            },
          ],
        },
      ],
    });
    const db = getDb();
    const rec = new TrafficRecorder({ db, clock: gw.clock, log: silentLogger, flushMs: 0 });
    try {
      for (let i = 0; i < 3; i++) await call(`${gw.url}/v2/items/${i}`);
      await call(`${gw.url}/v1/items`);
      await call(`${gw.url}/debug/vars`);
      await call(`${gw.url}/v2/items`, { method: 'DELETE' });
      for (const e of gw.events) rec.observe(e);
      await rec.close();
      const t = await readTraffic(db);
      expect(t.operations.find((o) => o.base === '/v2' && o.route === '/items/{itemId}')).toMatchObject({
        calls: 3,
        method: 'GET',
      });
      expect(t.shadow.map((s) => [s.sample, s.reason])).toEqual(
        expect.arrayContaining([
          ['GET /debug/vars', 'unknown-path'],
          ['DELETE /v2/items', 'method-not-allowed'],
        ]),
      );
      expect(t.shadow[0]!.ips).toEqual(['127.0.0.1']);
      expect(t.deprecatedUsage).toEqual([
        expect.objectContaining({
          api: 'shop',
          base: '/v1',
          consumerKind: 'anonymous',
          consumer: 'ip:127.0.0.1',
          calls: 1,
          lastRoute: 'GET /items',
        }),
      ]);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});
