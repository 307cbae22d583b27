/** Benchmark scenarios for the rampart side: its contract and its policy settings. */
import {
  keyPair,
  signToken,
  TestLocalIssuer,
  type TestKeyPair,
} from '../src/gateway/policies/authenticate/testing.ts';
export interface Scenario {
  description: string;
  spec: string;
  policies: Record<string, unknown>;
  /** Extra App options (e.g. an identity service) built before start. */
  prepare?: (dir: string) => Promise<Record<string, unknown>>;
  /** Request headers the load generator sends (e.g. a bearer token). */
  headers?: () => Promise<Record<string, string>>;
  /** Extra rampart.yaml sections (e.g. `counters` for a Redis the scenario starts). */
  config?: (dir: string) => Promise<Record<string, unknown>>;
  /**
   * The request the load generator sends instead of `GET /v2/items/1` (a JSON body). The
   * runner measures a bare-proxy floor with the same request, so the ratio compares like
   * with like; the upstream echoes POST bodies, so answers are the same size.
   */
  request?: BenchRequest;
  /**
   * The monitor section (events → metrics, rules, anomaly, audit log). Absent: monitor off,
   * so the other scenarios measure the gateway alone, as before the monitor existed.
   */
  monitor?: Record<string, unknown>;
  /** Use a SQLite file in the temp dir (the audit log writes to it) instead of :memory:. */
  fileStore?: boolean;
  /**
   * Run the learning proxy (`rampart learn`, src/learn/proxy.ts) instead of the gateway:
   * `spec` and `policies` are then unused. Every exchange is learned; `sample` is the
   * share whose bodies are inferred.
   */
  learn?: { sample: number };
  /**
   * Gateway processes, as `rampart start --workers N` (node:cluster, one port). More than one
   * runs unpinned (wrk, the upstream and the workers share both cores; docs/performance.md).
   */
  workers?: number;
  /** More settings of the benchmarked API in rampart.yaml (e.g. `learn: true`). */
  api?: Record<string, unknown>;
}

export interface BenchRequest {
  method: 'POST' | 'PUT';
  path: string;
  body: string;
  contentType: string;
}

const publicSpec = `openapi: 3.1.0
info: { title: bench, version: '1' }
paths:
  /items:
    get: { security: [], responses: { '200': { description: ok } } }
  /items/{id}:
    get:
      security: []
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
`;

const securedSpec = `openapi: 3.1.0
info: { title: bench, version: '1' }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
security: [{ bearer: [] }]
paths:
  /items/{id}:
    get:
      x-rampart: { mfa: required }
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
`;

const ISSUER = 'https://bench.rampart.local/auth';

/**
 * authenticate + mfa with the gateway's own ES256 tokens: a LocalTokenIssuer over an
 * in-memory key (what the identity service hands the gateway), a token carrying
 * amr [pwd, otp, mfa]. Each wrk connection reuses the token, as real clients do for
 * its lifetime; `auth-nocache` turns the verified-token cache off to show the worst case.
 */
function authScenario(cacheSize: number | undefined): Scenario {
  let key: TestKeyPair | undefined;
  return {
    description: `default chain + authenticate + mfa (own ES256 tokens${cacheSize === 0 ? ', no token cache' : ''})`,
    spec: securedSpec,
    policies: cacheSize === undefined ? {} : { authenticate: { cacheSize } },
    prepare: async () => {
      key = await keyPair('ES256', 'bench-1');
      return { services: { localIssuer: new TestLocalIssuer(ISSUER, 'rampart', [key]) } };
    },
    headers: async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await signToken(key!, {
        iss: ISSUER,
        aud: 'rampart',
        sub: 'bench-user',
        iat: now,
        exp: now + 3600,
        jti: 'bench-token',
        roles: ['customer'],
        amr: ['pwd', 'otp', 'mfa'],
        acr: 'urn:rampart:acr:mfa',
        auth_time: now,
      });
      return { authorization: `Bearer ${token}` };
    },
  };
}

const authzSpec = `openapi: 3.1.0
info: { title: bench, version: '1' }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
security: [{ bearer: [] }]
paths:
  /items/{id}:
    get:
      x-rampart:
        roles: [customer]
        owner: { lookup: 'GET /owners/{id}', field: ownerId, claim: sub, mode: lookup }
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses: { '200': { description: ok } }
  /owners/{id}:
    get:
      parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
      responses:
        '200':
          description: the owner of item id
          content: { application/json: { schema: { type: object, properties: { ownerId: { type: string } } } } }
`;

/**
 * authenticate (own ES256 token, cached) + roles (x-rampart.roles) + owner (a lookup of
 * GET /owners/{id} before forwarding): warm = the owner cache answers every request after
 * the first; cold = cacheSize 0, one extra upstream round trip per request (the worst case).
 */
function authzScenario(cold: boolean): Scenario {
  const auth = authScenario(undefined);
  return {
    ...auth,
    description: `authenticate + roles + owner lookup (${cold ? 'owner cache off: a lookup per request' : 'owner cache warm'})`,
    spec: authzSpec,
    policies: { mfa: { enabled: false }, owner: cold ? { cacheSize: 0 } : { cacheTtlMs: 600000 } },
  };
}

/** An order of `lines` lines: about 3 KB of JSON (the contract scenarios' body, both ways). */
export function orderBody(lines = 24): string {
  return JSON.stringify({
    customer: { name: "Seán O'Brien", email: 'sean.obrien@example.com', phone: '+353 1 234 5678' },
    currency: 'EUR',
    lines: Array.from({ length: lines }, (_, i) => ({
      sku: `SKU-${10000 + i}`,
      quantity: (i % 5) + 1,
      unitPriceCents: 1999 + i * 10,
      note: i % 3 === 0 ? 'Gift wrap, please; no invoice in the box.' : 'Standard delivery',
    })),
    notes: 'Leave at the side door (the front one sticks). Call before 6 p.m.',
  });
}

const orderSchema = {
  type: 'object',
  required: ['customer', 'currency', 'lines'],
  properties: {
    customer: {
      type: 'object',
      required: ['name', 'email'],
      properties: {
        name: { type: 'string', maxLength: 100 },
        email: { type: 'string', format: 'email' },
        phone: { type: 'string', maxLength: 32 },
      },
    },
    currency: { type: 'string', enum: ['EUR', 'USD', 'GBP'] },
    lines: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        required: ['sku', 'quantity', 'unitPriceCents'],
        properties: {
          sku: { type: 'string', pattern: '^SKU-[0-9]{5}$' },
          quantity: { type: 'integer', minimum: 1, maximum: 100 },
          unitPriceCents: { type: 'integer', minimum: 0 },
          note: { type: 'string', maxLength: 200 },
        },
      },
    },
    notes: { type: 'string', maxLength: 2000 },
  },
};

/** One operation, POST /orders, its request and 200 answer both the order (JSON is YAML). */
export function contractSpec(secured: boolean): string {
  const order = { $ref: '#/components/schemas/Order' };
  return JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'bench-contract', version: '1' },
    components: {
      schemas: { Order: orderSchema },
      ...(secured
        ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } }
        : {}),
    },
    security: secured ? [{ bearer: [] }] : [],
    paths: {
      '/orders': {
        post: {
          requestBody: { required: true, content: { 'application/json': { schema: order } } },
          responses: {
            '200': { description: 'the order', content: { 'application/json': { schema: order } } },
          },
        },
      },
    },
  });
}

const orderRequest: BenchRequest = {
  method: 'POST',
  path: '/v2/orders',
  body: orderBody(),
  contentType: 'application/json',
};

/** The contract chain on top of authenticate (own ES256 tokens, like `auth`). */
function contractScenario(): Scenario {
  const auth = authScenario(undefined);
  return {
    description:
      'authenticate + validate-request + injection-guard + validate-response + minimise-response, ~3 KB JSON both ways',
    spec: contractSpec(true),
    policies: {
      mfa: { enabled: false },
      'validate-request': { enabled: true },
      'injection-guard': { enabled: true },
      'validate-response': { enabled: true },
      'minimise-response': { enabled: true },
    },
    request: orderRequest,
    ...(auth.prepare ? { prepare: auth.prepare } : {}),
    ...(auth.headers ? { headers: auth.headers } : {}),
  };
}

/** The `rate-limit` scenarios' document (also bench/rate-limit-hooks.ts's, in process). */
export const rateLimitSpec = `openapi: 3.1.0
info: { title: bench, version: '1' }
x-rampart:
  rateLimit:
    - { name: burst, per: ip, limit: 100000000, window: 1 }
    - { name: minute, per: ip, limit: 1000000000, window: 60 }
    - { name: day, per: ip, limit: 2000000000, window: 1d }
paths:
  /items/{id}:
    get:
      security: []
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { '200': { description: ok } }
`;

/**
 * The rate-limit policy on every request: three GCRA limits per client address (a burst, a
 * minute, a day) decided in one counter-store call, sized so nothing is refused (the cost of
 * the decision and the RateLimit fields, not of 429s). `redis` counts in a local redis-server
 * the scenario starts (the decisions of one event-loop turn in one batched Lua script call).
 * Caveat: `burst` and `minute` are so large (an emission interval of 0.01 and 0.06 µs) that the
 * TAT increment vanishes in a double holding epoch milliseconds, so only `day` writes a key per
 * request; bench/counters-redis.ts measures decisions whose three limits all write.
 */
function rateLimitScenario(store: 'memory' | 'redis'): Scenario {
  return {
    description: `default chain + rate-limit (3 GCRA limits per ip, ${store === 'memory' ? 'in-memory counters' : 'local Redis, batched Lua script calls'})`,
    spec: rateLimitSpec,
    policies: {},
    ...(store === 'redis'
      ? {
          config: async () => ({ counters: { url: await startBenchRedis() } }),
        }
      : {}),
  };
}

/** A throw-away redis-server on a free loopback port, stopped when the bench process exits. */
async function startBenchRedis(): Promise<string> {
  const { spawn } = await import('node:child_process');
  const { createServer, connect } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn(
    process.env.RAMPART_REDIS_SERVER ?? '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  process.on('exit', () => child.kill('SIGKILL'));
  for (let i = 0; i < 500; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = connect({ host: '127.0.0.1', port }, () => {
        c.end();
        resolve(true);
      }).once('error', () => resolve(false));
    });
    if (up) return `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('redis-server did not start');
}

export const scenarios: Record<string, Scenario> = {
  default: {
    description: 'default chain: request-id, security-headers, cors, transport, request-limits',
    spec: publicSpec,
    policies: {},
  },
  // Every policy off: the gateway core alone (routing, path checks, forwarding headers,
  // keep-alive pool, events), to separate its cost from the policies'.
  minimal: {
    description: 'no policies: routing, path checks, forwarding headers and events only',
    spec: publicSpec,
    policies: Object.fromEntries(
      [
        'request-id',
        'security-headers',
        'cors',
        'transport',
        'request-limits',
        'versions',
        'authenticate',
        'mfa',
      ].map((n) => [n, { enabled: false }]),
    ),
  },
  // The full monitoring pipeline on the default chain: compare with `default` (off) in one run.
  monitor: {
    description:
      'default chain + monitor (events, metrics, default rules, anomaly, audit log to a SQLite file)',
    spec: publicSpec,
    policies: {},
    monitor: {},
    fileStore: true,
  },
  // Worst case: every request also written to the audit log.
  'monitor-audit-all': {
    description: 'default chain + monitor, every request in the audit log (SQLite file)',
    spec: publicSpec,
    policies: {},
    monitor: { auditLog: { requests: 'all' } },
    fileStore: true,
  },
  auth: authScenario(undefined),
  'auth-nocache': authScenario(0),
  authz: authzScenario(false),
  'authz-cold': authzScenario(true),
  // Request validation alone on a ~3 KB JSON body (issue: ≥ 0.8 of the bare proxy with the same request).
  validate: {
    description: 'default chain + validate-request, POST of a ~3 KB JSON order (echoed back)',
    spec: contractSpec(false),
    policies: { 'validate-request': { enabled: true } },
    request: orderRequest,
  },
  // The full contract chain (issue: ≥ 0.6 of the bare proxy with the same request).
  contract: contractScenario(),
  // The learning proxy on a ~3 KB JSON body both ways, every body inferred (issue #21: ≥ 0.8 of the bare proxy).
  learn: {
    description:
      'rampart learn (the learning proxy), POST of a ~3 KB JSON order (echoed back), every body sampled',
    spec: publicSpec,
    policies: {},
    request: orderRequest,
    learn: { sample: 1 },
  },
  'learn-sampled': {
    description:
      'rampart learn --sample 0.1: the same, one body in ten sampled (paths, statuses, headers: all)',
    spec: publicSpec,
    policies: {},
    request: orderRequest,
    learn: { sample: 0.1 },
  },
  // Learning inside rampart start, beside an enforcing default chain (issue #21: ≥ 0.8 of the bare proxy).
  'learn-enforce': {
    description:
      'rampart start, default chain + learn: true on the API (its document enforced), POST of a ~3 KB JSON order (echoed back), every body sampled',
    spec: contractSpec(false),
    policies: {},
    request: orderRequest,
    api: { learn: true },
  },
  // The same with `learnSample: 0.1` (#21: "sample bodies"): paths, statuses, parameters and
  // credentials from every exchange, bodies from one in ten.
  'learn-enforce-sampled': {
    description:
      'rampart start, default chain + learn: true, learnSample: 0.1 (one body in ten inferred), POST of a ~3 KB JSON order (echoed back)',
    spec: contractSpec(false),
    policies: {},
    request: orderRequest,
    api: { learn: true, learnSample: 0.1 },
  },
  // The same chain and request without learning: learn-enforce's own floor (its cost is the difference).
  'learn-enforce-off': {
    description: 'rampart start, default chain (no learning), POST of a ~3 KB JSON order (echoed back)',
    spec: contractSpec(false),
    policies: {},
    request: orderRequest,
  },
  'rate-limit': rateLimitScenario('memory'),
  'rate-limit-redis': rateLimitScenario('redis'),
  // `rampart start --workers 2` against one process (#12): the default chain, and the Redis
  // limiter (exact across the workers). Unpinned: the workers share both cores with wrk and the upstream.
  'default-workers2': {
    description: 'default chain, 2 workers (node:cluster, as rampart start --workers 2), unpinned',
    spec: publicSpec,
    policies: {},
    workers: 2,
  },
  'rate-limit-redis-workers2': {
    ...rateLimitScenario('redis'),
    description: 'rate-limit on local Redis (as rate-limit-redis), 2 workers sharing it, unpinned',
    workers: 2,
  },
};
