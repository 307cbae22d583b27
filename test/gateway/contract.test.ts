import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problem } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { MemoryCounterStore } from '../../src/store/counters/memory.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { configFromObject, loadApis } from '../../src/cli/app.ts';
import { buildPolicies } from '../../src/gateway/policies/index.ts';
import { Pipeline } from '../../src/gateway/pipeline.ts';
import { LOOKUP_MAX_CONCURRENT, Runtime } from '../../src/gateway/runtime.ts';
import { deny, LookupError, type Policy, type RequestContext } from '../../src/gateway/policy.ts';
import { PRIORITIES } from '../../src/gateway/priorities.ts';
import { call, FIXTURES, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

// The contract other policies build on, driven through the real gateway and a real upstream.

/** An ownership probe: reads the item's owner through ctx.lookup before forwarding a file request. */
const ownerProbe: Policy = {
  name: 'owner-probe',
  priority: PRIORITIES.owner,
  hooks: {
    forRoute(route) {
      if (route.template !== '/items/{itemId}/files/{name}.json') return undefined;
      return {
        onRequest: async (ctx: RequestContext) => {
          const itemId = ctx.route!.params.itemId!;
          try {
            const timeoutMs = itemId === 'stuck' ? 150 : undefined;
            const r = await ctx.lookup(
              itemId === 'ghost-op' ? 'GET /nowhere/{itemId}' : 'GET /items/{itemId}',
              { itemId },
              timeoutMs ? { timeoutMs } : {},
            );
            const owner = (r.json() as { owner?: string }).owner;
            if (owner !== ctx.headers['x-user']) return deny(problem('not-found'));
            return undefined;
          } catch (err) {
            const code = err instanceof LookupError ? err.code : 'other';
            return deny(problem('upstream-unavailable', { detail: `lookup failed: ${code}` }));
          }
        },
      };
    },
  },
};

/** A per-route response-body policy: only /items/special is buffered and rewritten. */
const specialRewriter: Policy = {
  name: 'special-rewriter',
  priority: PRIORITIES['minimise-response'],
  hooks: {
    forRoute(route) {
      if (route.template === '/items/special') {
        return {
          needsResponseBody: true,
          onResponse: (_ctx, res) => {
            res.headers['x-saw-body'] = res.body ? 'yes' : 'no';
            if (res.body) res.body = Buffer.from(JSON.stringify({ rewritten: true }));
          },
        };
      }
      if (route.template === '/items') {
        return {
          onResponse: (_ctx, res) => {
            res.headers['x-saw-body'] = res.body ? 'yes' : 'no';
          },
        };
      }
      return undefined;
    },
  },
};

/** Reads ctx.json() and the lifecycle from the route; request-limits is off so a parse error reaches it. */
const bodyReader: Policy = {
  name: 'body-reader',
  priority: PRIORITIES['validate-request'],
  hooks: {
    forRoute(route) {
      return {
        onRequest: (ctx) => {
          if (ctx.method === 'POST') {
            const v = ctx.json() as { n?: number };
            ctx.upstreamHeaders['x-n'] = String(v?.n);
            // Parsed once: the same object every time.
            if (ctx.json() !== v) return deny(problem('internal'));
          }
          if (route.lifecycle.deprecated) ctx.responseHeaders['x-deprecated'] = route.lifecycle.deprecated;
          return undefined;
        },
      };
    },
  },
};

describe('policy contract v2 through the gateway', () => {
  let up: Upstream;
  let gw: TestGateway;

  beforeAll(async () => {
    up = await startUpstream((req, res, body) => {
      const m = /^\/v2\/items\/([^/?]+)$/.exec(req.url ?? '');
      if (m && req.method === 'GET') {
        if (m[1] === 'stuck') return; // never answers: the lookup times out
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(m[1] === 'special' ? { special: true } : { owner: m[1] === '7' ? 'alice' : 'bob' }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-n': String(req.headers['x-n']) });
      res.end(JSON.stringify({ url: req.url, body }));
    });
    gw = await startTestGateway(
      up.url,
      {
        apis: [
          {
            name: 'shop',
            upstream: up.url,
            versions: [
              {
                base: '/v2',
                spec: `${FIXTURES}/gateway/shop-v2.yaml`,
                deprecated: '2026-01-01',
                sunset: '2027-01-01',
              },
            ],
          },
        ],
        policies: { 'request-limits': { enabled: false } },
      },
      [ownerProbe, specialRewriter, bodyReader],
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('ctx.lookup reads the object from the same upstream, forwarding Authorization and the request id', async () => {
    const ok = await call(`${gw.url}/v2/items/7/files/a.json`, {
      headers: { 'x-user': 'alice', authorization: 'Basic YWxpY2U6eA==', 'x-request-id': 'not-trusted-here' },
    });
    expect(ok.status).toBe(200);
    const lookup = up.seen.find((s) => s.url === '/v2/items/7');
    expect(lookup?.method).toBe('GET');
    expect(lookup?.headers.authorization).toBe('Basic YWxpY2U6eA==');
    expect(lookup?.headers['x-request-id']).toBe(ok.headers['x-request-id']);
    expect(up.seen.at(-1)?.url).toBe('/v2/items/7/files/a.json');

    const other = await call(`${gw.url}/v2/items/8/files/a.json`, { headers: { 'x-user': 'alice' } });
    expect(other.status).toBe(404);
    expect(other.json()).toMatchObject({ type: 'https://rampart.dev/problems/not-found' });
    expect(up.seen.some((s) => s.url === '/v2/items/8/files/a.json')).toBe(false);
  });

  it('a lookup that times out or names an undeclared operation rejects with LookupError (answered 503)', async () => {
    const slow = await call(`${gw.url}/v2/items/stuck/files/a.json`, { headers: { 'x-user': 'alice' } });
    expect(slow.status).toBe(503);
    expect(slow.json()).toMatchObject({
      type: 'https://rampart.dev/problems/upstream-unavailable',
      detail: 'lookup failed: timeout',
    });
    const ghost = await call(`${gw.url}/v2/items/ghost-op/files/a.json`, { headers: { 'x-user': 'alice' } });
    expect(ghost.status).toBe(503);
    expect(ghost.json()).toMatchObject({ detail: 'lookup failed: unknown-operation' });
  });

  it('buffers the response body only on the routes whose chain asked for it', async () => {
    const special = await call(`${gw.url}/v2/items/special`);
    expect(special.headers['x-saw-body']).toBe('yes');
    expect(special.json()).toEqual({ rewritten: true });
    const list = await call(`${gw.url}/v2/items`);
    expect(list.headers['x-saw-body']).toBe('no'); // streamed: this route's chain has no buffering policy
    const item = await call(`${gw.url}/v2/items/9`);
    expect(item.headers['x-saw-body']).toBeUndefined(); // not in this route's chain at all
  });

  it('ctx.json() parses once, lazily; malformed JSON is answered 400 invalid-json by the gateway', async () => {
    const ok = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":5}',
    });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-n']).toBe('5');
    const bad = await call(`${gw.url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/problem+json');
    expect(bad.json()).toMatchObject({ type: 'https://rampart.dev/problems/invalid-json' });
    expect(gw.events).toContainEqual(
      expect.objectContaining({ type: 'denied', policy: 'body-reader', problem: 'invalid-json' }),
    );
  });

  it("carries the version's lifecycle from rampart.yaml on the route", async () => {
    const r = await call(`${gw.url}/v2/items`);
    expect(r.headers['x-deprecated']).toBe('2026-01-01');
  });
});

describe('the pipeline without the gateway listener', () => {
  it('serves through a plain node:http server (as an embedded middleware would)', async () => {
    const up = await startUpstream();
    const config = configFromObject(
      {
        listen: { tls: { enabled: false } },
        store: 'sqlite::memory:',
        policies: { transport: { requireTls: false } },
        apis: [
          {
            name: 'shop',
            upstream: up.url,
            versions: [{ base: '/v2', spec: `${FIXTURES}/gateway/shop-v2.yaml` }],
          },
        ],
      },
      FIXTURES,
    );
    const clock = new ManualClock(Date.now());
    const rt = new Runtime({
      config,
      apis: await loadApis(config),
      policies: buildPolicies(config.policies, {
        clock,
        log: silentLogger,
        localIssuer: undefined,
        apiKeys: undefined,
        counters: new MemoryCounterStore({ clock }),
      }),
    });
    const pipeline = new Pipeline({ clock, log: silentLogger, emit: () => {}, secure: false });
    const server = http.createServer((req, res) => pipeline.handle(rt, req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await call(`${base}/v2/items/1`);
      expect(r.status).toBe(200);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(up.seen.at(-1)?.url).toBe('/v2/items/1');
      const missing = await call(`${base}/v2/nope`);
      expect(missing.status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await rt.close();
      await up.close();
    }
  });
});

describe('ctx.lookup bounds', () => {
  it(`refuses a lookup beyond ${LOOKUP_MAX_CONCURRENT} in flight per runtime (busy), and times the others out`, async () => {
    const up = await startUpstream(() => {
      /* never answers */
    });
    const config = configFromObject(
      {
        listen: { tls: { enabled: false } },
        store: 'sqlite::memory:',
        apis: [
          {
            name: 'shop',
            upstream: up.url,
            connections: LOOKUP_MAX_CONCURRENT + 1,
            versions: [{ base: '/v2', spec: `${FIXTURES}/gateway/shop-v2.yaml` }],
          },
        ],
      },
      FIXTURES,
    );
    const apis = await loadApis(config);
    const rt = new Runtime({ config, apis, policies: [] });
    const route = rt.router.match('GET', '/v2/items/1');
    if (route.kind !== 'match') throw new Error('no route');
    const ctx = {
      route: route.route,
      id: 'req-1',
      headers: {},
      upstreamHeaders: {},
    } as unknown as RequestContext;
    try {
      const inFlight = Array.from({ length: LOOKUP_MAX_CONCURRENT }, (_, i) =>
        rt
          .lookup(ctx, 'GET /items/{itemId}', { itemId: String(i) }, { timeoutMs: 300 })
          .catch((e: unknown) => e),
      );
      const busy = await rt.lookup(ctx, 'GET /items/{itemId}', { itemId: 'x' }).catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(LookupError);
      expect((busy as LookupError).code).toBe('busy');
      const settled = await Promise.all(inFlight);
      expect(settled.every((e) => e instanceof LookupError && e.code === 'timeout')).toBe(true);
      // Slots are free again once the others settled.
      const again = await rt
        .lookup(ctx, 'GET /items/{itemId}', { itemId: 'y' }, { timeoutMs: 100 })
        .catch((e: unknown) => e);
      expect((again as LookupError).code).toBe('timeout');
      const missing = await rt.lookup(ctx, 'GET /items/{itemId}', {}).catch((e: unknown) => e);
      expect((missing as LookupError).code).toBe('unknown-operation');
    } finally {
      await rt.close();
      await up.close();
    }
  });
});
