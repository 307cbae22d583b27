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
  /**
   * The monitor section (events → metrics, rules, anomaly, audit log). Absent: monitor off,
   * so the other scenarios measure the gateway alone, as before the monitor existed.
   */
  monitor?: Record<string, unknown>;
  /** Use a SQLite file in the temp dir (the audit log writes to it) instead of :memory:. */
  fileStore?: boolean;
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
};
