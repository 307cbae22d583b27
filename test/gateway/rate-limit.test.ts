/**
 * rate-limit, flow-limit and brute-force through the real gateway (TLS, real upstream,
 * in-memory counters on the gateway's injected clock: windows advance without sleeping).
 * RateLimit fields are parsed as RFC 9651 structured fields.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import tls from 'node:tls';
import { join } from 'node:path';
import { parseList, type Item } from 'structured-headers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  keyPair,
  signToken,
  TestLocalIssuer,
  type TestKeyPair,
} from '../../src/gateway/policies/authenticate/testing.ts';
import { ipKey } from '../../src/gateway/policies/rate-limit/keys.ts';
import { configFromObject, loadApis, StartupErrors } from '../../src/cli/app.ts';
import { call, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

const ISS = 'https://id.test';
const AUD = 'rampart';
const SPEC = `
openapi: 3.1.0
info: { title: Limits, version: 1.0.0 }
x-rampart:
  rateLimit: { per: user, limit: 1000, window: 60, name: api-minute }
paths:
  /items:
    x-rampart:
      rateLimit: { per: user, limit: 50, window: 1h, name: items-hour }
    get:
      security: [{ bearer: [] }]
      x-rampart:
        rateLimit:
          - { name: burst, per: user, limit: 3, window: 1 }
          - { name: minute, per: user, limit: 5, window: 60 }
      responses: { '200': { description: ok } }
  /exact:
    get:
      security: [{ bearer: [] }]
      x-rampart:
        rateLimit: { name: exact, per: user, limit: 3, window: 60, algorithm: sliding-window }
      responses: { '200': { description: ok } }
  /open:
    get:
      security: []
      x-rampart:
        rateLimit: { per: ip, limit: 2, window: 60 }
      responses: { '200': { description: ok } }
  /invoices/{invoiceId}/coupons:
    parameters: [{ name: invoiceId, in: path, required: true, schema: { type: string } }]
    post:
      security: [{ bearer: [] }]
      x-rampart:
        flow: { name: redeem, limit: 1, window: 30d, per: [user, path.invoiceId] }
      responses: { '200': { description: ok } }
  /invoices/{invoiceId}/coupon-by-code:
    parameters: [{ name: invoiceId, in: path, required: true, schema: { type: string } }]
    post:
      security: [{ bearer: [] }]
      x-rampart:
        flow: { name: redeem, limit: 1, window: 30d, per: [user, path.invoiceId] }
      responses: { '200': { description: ok } }
  /login:
    post:
      security: []
      x-rampart:
        bruteForce: { per: username, limit: 3, window: 60 }
      responses: { '200': { description: ok }, '401': { description: no } }
  /download:
    get:
      security: [{ bearer: [] }]
      x-rampart:
        rateLimit: { name: bytes, per: user, limit: 1000, window: 60, unit: content-bytes }
      responses: { '200': { description: ok } }
  /slow:
    get:
      security: [{ bearer: [] }]
      x-rampart:
        concurrency: { per: user, limit: 1 }
      responses: { '200': { description: ok } }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
`;

let gw: TestGateway;
let up: Awaited<ReturnType<typeof startUpstream>>;
let dir: string;
let key: TestKeyPair;
let releaseSlow: (() => void) | undefined;

beforeAll(async () => {
  key = await keyPair('ES256', 'k1');
  up = await startUpstream((req, res, body) => {
    if (req.url === '/v1/login') {
      const ok = (JSON.parse(body) as { password: string }).password === 'right-password-123';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ ok }));
    }
    if (req.url === '/v1/download') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ data: 'x'.repeat(590) }));
    }
    if (req.url === '/v1/invoices/9/coupons') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{}');
    }
    if (req.url === '/v1/slow') {
      releaseSlow = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      };
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  dir = await mkdtemp(join(tmpdir(), 'rampart-rl-'));
  const spec = join(dir, 'limits.yaml');
  await writeFile(spec, SPEC);
  gw = await startTestGateway(
    up.url,
    {
      apis: [{ name: 'limits', upstream: up.url, versions: [{ base: '/v1', spec }] }],
      policies: { mfa: { enabled: false }, 'rate-limit': { legacyHeaders: true } },
    },
    [],
    { localIssuer: new TestLocalIssuer(ISS, AUD, [key]) },
  );
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function token(sub: string): Promise<string> {
  const now = Math.floor(gw.clock.now() / 1000);
  return signToken(key, {
    iss: ISS,
    aud: AUD,
    sub,
    iat: now,
    exp: now + 86_400,
    jti: `j${Math.random()}`,
    amr: ['pwd'],
  });
}

const get = async (path: string, tok?: string, method = 'GET', body?: unknown) =>
  call(gw.url + '/v1' + path, {
    method,
    headers: {
      ...(tok ? { authorization: `Bearer ${tok}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

/** RateLimit / RateLimit-Policy as a map name → params, parsed as a structured-field List. */
function sf(v: string | string[] | undefined): Map<string, Record<string, unknown>> {
  expect(typeof v).toBe('string');
  const out = new Map<string, Record<string, unknown>>();
  for (const member of parseList(v as string)) {
    const [name, params] = member as Item;
    expect(typeof name).toBe('string'); // an sf-string, per the draft
    out.set(name as string, Object.fromEntries(params));
  }
  return out;
}

describe('rate-limit', () => {
  it('combines limits from every level; the burst binds first, then the minute', async () => {
    const alice = await token('alice');
    const ok = await get('/items', alice);
    expect(ok.status).toBe(200);
    const policy = sf(ok.headers['ratelimit-policy']);
    expect([...policy.keys()].sort()).toEqual(['api-minute', 'burst', 'items-hour', 'minute']);
    expect(policy.get('minute')).toEqual({ q: 5, w: 60 });
    expect(policy.get('items-hour')).toEqual({ q: 50, w: 3600 });
    expect(sf(ok.headers.ratelimit).get('burst')).toEqual({ r: 2, t: 1 });
    await get('/items', alice);
    await get('/items', alice);
    const denied = await get('/items', alice);
    expect(denied.status).toBe(429);
    expect(denied.headers['content-type']).toContain('application/problem+json');
    const p = denied.json() as Record<string, unknown>;
    expect(p.type).toBe('https://rampart.dev/problems/too-many-requests');
    expect(p.limit).toBe('burst');
    expect(denied.headers['retry-after']).toBe('1');
    expect(sf(denied.headers.ratelimit).get('burst')!.r).toBe(0);
    expect(denied.headers['x-ratelimit-limit']).toBe('3');
    expect(denied.headers['x-ratelimit-remaining']).toBe('0');
    // Another user is unaffected.
    expect((await get('/items', await token('bob'))).status).toBe(200);
    // A second later the burst has refilled; the minute allows 5 in all.
    gw.clock.advance(1000);
    expect((await get('/items', alice)).status).toBe(200);
    expect((await get('/items', alice)).status).toBe(200);
    const minute = await get('/items', alice);
    expect(minute.status).toBe(429);
    expect((minute.json() as { limit: string }).limit).toBe('minute');
    expect(Number(minute.headers['retry-after'])).toBeGreaterThanOrEqual(10);
    // The default algorithm is the exact window: all 5 admitted within the minute still count.
    expect(sf(minute.headers.ratelimit).get('api-minute')!.r).toBe(995);
    gw.clock.advance(60_000);
    expect((await get('/items', alice)).status).toBe(200);
  });

  it('a sliding-window limit admits exactly its limit in any window', async () => {
    const t = await token('exact-user');
    const at0 = [await get('/exact', t), await get('/exact', t)];
    expect(at0.map((r) => r.status)).toEqual([200, 200]);
    expect(sf(at0[1]!.headers.ratelimit).get('exact')).toEqual({ r: 1, t: 60 });
    gw.clock.advance(30_000);
    expect((await get('/exact', t)).status).toBe(200);
    const no = await get('/exact', t);
    expect(no.status).toBe(429);
    expect(no.headers['retry-after']).toBe('30'); // the first two leave the window at 60 s
    gw.clock.advance(29_000);
    expect((await get('/exact', t)).status).toBe(429); // GCRA would have refilled by now
    gw.clock.advance(1000);
    expect((await get('/exact', t)).status).toBe(200);
    expect((await get('/exact', t)).status).toBe(200);
    expect((await get('/exact', t)).status).toBe(429);
    gw.clock.advance(60_000);
  });

  it('counts anonymous callers per address; a spoofed X-Forwarded-For from an untrusted peer changes nothing', async () => {
    expect((await get('/open')).status).toBe(200);
    const spoofed = await call(gw.url + '/v1/open', { headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(spoofed.status).toBe(200);
    const third = await call(gw.url + '/v1/open', { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(third.status).toBe(429);
    gw.clock.advance(60_000);
  });

  it('charges response bytes after the response (a content-bytes quota)', async () => {
    const t = await token('downloader');
    const a = await get('/download', t);
    expect(a.status).toBe(200);
    expect(sf(a.headers['ratelimit-policy']).get('bytes')).toEqual({ q: 1000, w: 60, qu: 'content-bytes' });
    expect((await get('/download', t)).status).toBe(200); // 600 bytes spent, 400 left: allowed
    const c = await get('/download', t); // 1200 spent: over until enough drains
    expect(c.status).toBe(429);
    expect((c.json() as { limit: string }).limit).toBe('bytes');
  });

  it('caps requests in flight per consumer', async () => {
    const t = await token('slowpoke');
    const first = get('/slow', t);
    await waitFor(() => releaseSlow !== undefined);
    const second = await get('/slow', t);
    expect(second.status).toBe(429);
    expect((second.json() as { limit: string }).limit).toBe('concurrency');
    releaseSlow!();
    expect((await first).status).toBe(200);
    releaseSlow = undefined;
    const third = get('/slow', t);
    await waitFor(() => releaseSlow !== undefined);
    releaseSlow!();
    expect((await third).status).toBe(200); // the slot was released
  });
});

describe('flow-limit', () => {
  it('one redemption per user and invoice across the operations of the flow; failures give the slot back', async () => {
    const alice = await token('flow-alice');
    expect((await get('/invoices/1/coupons', alice, 'POST', {})).status).toBe(200);
    const again = await get('/invoices/1/coupon-by-code', alice, 'POST', {});
    expect(again.status).toBe(429);
    const p = again.json() as Record<string, unknown>;
    expect(p.type).toBe('https://rampart.dev/problems/flow-limit-exceeded');
    expect(p.limit).toBe('redeem');
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(29 * 86_400);
    expect((await get('/invoices/2/coupons', alice, 'POST', {})).status).toBe(200); // another invoice
    expect((await get('/invoices/1/coupons', await token('flow-bob'), 'POST', {})).status).toBe(200);
    // Invoice 9 answers 404 upstream: not a completed flow, so the slot is given back.
    expect((await get('/invoices/9/coupons', alice, 'POST', {})).status).toBe(404);
    expect((await get('/invoices/9/coupons', alice, 'POST', {})).status).toBe(404);
  });
});

describe('brute-force', () => {
  it('locks an account after 3 failures, even for the right password, and backs off exponentially', async () => {
    const login = (password: string) => get('/login', undefined, 'POST', { username: 'Victim', password });
    for (let i = 0; i < 3; i++) expect((await login(`wrong-${i}`)).status).toBe(401);
    const locked = await login('right-password-123');
    expect(locked.status).toBe(429);
    const p = locked.json() as Record<string, unknown>;
    expect(p.type).toBe('https://rampart.dev/problems/too-many-requests');
    expect(p.limit).toBe('brute-force');
    expect(typeof p.locked_until).toBe('string');
    expect(locked.headers['retry-after']).toBe('60');
    // Same account, other spelling: counted together (usernames are normalised).
    expect((await get('/login', undefined, 'POST', { username: 'victim ', password: 'x' })).status).toBe(429);
    gw.clock.advance(60_000);
    for (let i = 0; i < 3; i++) expect((await login(`wrong-again-${i}`)).status).toBe(401);
    const second = await login('right-password-123');
    expect(second.headers['retry-after']).toBe('120'); // the second lockout in a row lasts twice as long
    gw.clock.advance(120_000);
    expect((await login('right-password-123')).status).toBe(200);
    // Success cleared the failures: three more are needed for a lock.
    expect((await login('wrong-x')).status).toBe(401);
    expect((await login('right-password-123')).status).toBe(200);
  });
});

describe('global connection cap', () => {
  it('closes connections beyond limits.maxConnections', async () => {
    const capped = await startTestGateway(up.url, { limits: { maxConnections: 1 } });
    try {
      const { port } = new URL(capped.url);
      const open = () =>
        new Promise<tls.TLSSocket>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () =>
            resolve(s),
          );
          s.once('error', reject);
        });
      const first = await open();
      const second = await open().then(
        (s) =>
          new Promise<string>((resolve) =>
            s.once('close', () => resolve('closed')).once('error', () => resolve('closed')),
          ),
        () => 'refused',
      );
      expect(['closed', 'refused']).toContain(second);
      first.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expect((await call(capped.url + '/v2/items')).status).toBe(200); // a slot again
    } finally {
      await capped.close();
    }
  });
});

describe('contract checks', () => {
  it('refuses one flow declared with different limits on two operations, with its position', async () => {
    const spec = join(dir, 'flows.yaml');
    await writeFile(
      spec,
      `openapi: 3.1.0
info: { title: flows, version: 1.0.0 }
paths:
  /a:
    post:
      x-rampart: { flow: { name: signup, limit: 1, window: 1d, per: ip } }
      responses: { '200': { description: ok } }
  /b:
    post:
      x-rampart: { flow: { name: signup, limit: 3, window: 1d, per: ip } }
      responses: { '200': { description: ok } }
`,
    );
    const cfg = configFromObject(
      { apis: [{ name: 'f', upstream: up.url, versions: [{ base: '/v1', spec }] }] },
      dir,
    );
    const err = await loadApis(cfg).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StartupErrors);
    expect((err as StartupErrors).message).toMatch(
      /flows\.yaml:\d+:\d+\s+\/paths\/~1b\/post\/x-rampart\/flow\/limit\s+flow 'signup' is declared elsewhere/,
    );
  });
});

describe('ip keys', () => {
  it('groups IPv6 by /64 and unmaps IPv4-mapped addresses', () => {
    expect(ipKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:db8:1:2:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(ipKey('2001:db8::1', 48)).toBe('2001:db8:0::/48');
    expect(ipKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(ipKey('192.0.2.1')).toBe('192.0.2.1');
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
