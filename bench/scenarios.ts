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

/**
 * The rate-limit policy on every request: three GCRA limits per client address (a burst, a
 * minute, a day) decided in one counter-store call, sized so nothing is refused (the cost of
 * the decision and the RateLimit fields, not of 429s). `redis` counts in a local redis-server
 * the scenario starts (one Lua script per request, auto-pipelined).
 */
function rateLimitScenario(store: 'memory' | 'redis'): Scenario {
  const spec = `openapi: 3.1.0
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
  return {
    description: `default chain + rate-limit (3 GCRA limits per ip, ${store === 'memory' ? 'in-memory counters' : 'local Redis, one Lua script per request'})`,
    spec,
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
      ['request-id', 'security-headers', 'cors', 'transport', 'request-limits', 'authenticate', 'mfa'].map(
        (n) => [n, { enabled: false }],
      ),
    ),
  },
  auth: authScenario(undefined),
  'auth-nocache': authScenario(0),
  'rate-limit': rateLimitScenario('memory'),
  'rate-limit-redis': rateLimitScenario('redis'),
};
