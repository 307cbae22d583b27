import { resolve } from 'node:path';
import {
  INSURER_SPEC,
  LAB_AUDIENCE,
  LAB_ISSUER,
  LAB_SPECS,
  WEAK_JWT_SECRET,
  startLab,
  startThirdPartyStub,
  type LabOptions,
  type LabServer,
} from '../lab/index.ts';

/**
 * The built-in demo of `npm start`: the lab's two versions behind the gateway. Shared with
 * the tests that run the lab's exploits and its legitimate flows through the gateway, so
 * they test this setup.
 */
export function demoApis(labUrl: string): unknown[] {
  return [
    {
      name: 'clinic',
      upstream: labUrl,
      versions: [
        { base: '/v2', spec: LAB_SPECS.v2 },
        // The lifecycle lives here, in rampart.yaml terms (RouteMatch.lifecycle), not in the document.
        { base: '/v1', spec: LAB_SPECS.v1, deprecated: '2026-01-01', sunset: '2027-06-30', successor: '/v2' },
      ],
    },
  ];
}

/**
 * The lab behind the demo gateway: the vulnerable twin, issuing tokens with `exp` because
 * the gateway's `authenticate` requires it (RFC 8725) — so `jwt-no-expiry` is not planted in
 * the demo; `rampart lab` shows it.
 */
export const DEMO_LAB: LabOptions = { mode: 'vulnerable', expiringTokens: true };

/**
 * The gateway trusts the lab's own HS256 tokens (an HMAC issuer) so that authorization can
 * read the caller: the lab signs them with its planted weak secret, which only the explicit,
 * loudly logged `allowWeakSecret` lets through — and which the workshop then cracks to show
 * that no gateway can make a guessable secret safe (`jwt-weak-secret` stays exploited).
 * `roles`, `owner` and `property-access` then enforce the lab contract's authorization.
 * `mfa` stays off: the lab's tokens carry no `amr`. The built-in identity service runs under
 * /auth to try MFA (docs/workshop.md).
 */
export const DEMO_POLICIES = {
  authenticate: {
    hmacIssuers: [
      {
        issuer: LAB_ISSUER,
        audience: LAB_AUDIENCE,
        secret: WEAK_JWT_SECRET,
        allowWeakSecret: true,
        claimMapping: { roles: 'role' },
      },
    ],
  },
  mfa: { enabled: false },
  // BFLA: x-rampart.roles on the lab's operations; the lab's three roles, admin inheriting doctor.
  roles: { hierarchy: { admin: ['doctor'], doctor: [], patient: [] } },
  // BOLA: x-rampart.owner (records by lookup before writes, checked on the answer for reads).
  owner: {},
  // BOPLA: readOnly properties (UserPatch.role) are refused in request bodies.
  'property-access': {},
  // API6: a coupon is redeemed once per invoice and caller per 30 days (a business flow,
  // declared here because the lab's document is the vulnerable original).
  'flow-limit': {
    flows: [
      {
        name: 'redeem-coupon',
        limit: 1,
        window: '30d',
        per: ['user', 'path.invoiceId'],
        operations: ['POST /v2/invoices/{invoiceId}/coupons'],
      },
    ],
  },
  // The contract enforced (docs/contract.md): requests validated and guarded, answers
  // validated, minimised to the documented schemas and secrets masked.
  'validate-request': { enabled: true },
  'injection-guard': { enabled: true },
  'ssrf-guard': { enabled: true },
  'validate-response': { enabled: true },
  'minimise-response': { enabled: true, pii: ['card', 'iban'] },
} as const;

/**
 * The demo's egress: the lab's calls to its (compromised) insurer go through Rampart, which
 * holds the insurer to its OpenAPI document (src/lab/openapi/insurer.yaml). The insurer stub
 * is on loopback, hence `allowPrivate`.
 */
export function demoEgress(insurerUrl: string): Record<string, unknown> {
  return {
    port: 0,
    thirdParties: [{ name: 'insurer', baseUrl: insurerUrl, spec: INSURER_SPEC, allowPrivate: true }],
  };
}

/**
 * The built-in demo's rampart.yaml as an object (validated with `configFromObject` against
 * `dataDir`): `rampart start` without a config runs it, `rampart posture` judges it. The
 * lab and insurer URLs are where they run (posture contacts neither).
 */
export function demoConfigObject(o: {
  dataDir: string;
  labUrl: string;
  insurerUrl: string;
  port?: number | undefined;
  adminPort?: number | undefined;
}): Record<string, unknown> {
  const origin = `https://localhost:${o.port || 8443}`;
  return {
    listen: {
      host: '127.0.0.1',
      port: o.port ?? 8443,
      tls: { devCertDir: resolve(o.dataDir, 'tls') },
    },
    admin: { port: o.adminPort ?? 9901 },
    store: `sqlite://${resolve(o.dataDir, 'rampart.db')}`,
    policies: DEMO_POLICIES,
    identity: {
      issuer: `${origin}/auth`,
      keyFile: resolve(o.dataDir, 'identity-kek.key'),
      passkeys: { rpId: 'localhost', origins: [origin] },
    },
    apis: demoApis(o.labUrl),
    egress: demoEgress(o.insurerUrl),
    // Relative to the data directory (the demo's base): its scans, simulations and posture history.
    posture: {
      history: 'posture-history.json',
      evidence: { scans: 'scans', simulations: 'simulations', audits: ['audits'], code: ['code'], ci: [] },
    },
  };
}

/**
 * The vulnerable lab with its insurer stub, the lab's insurer calls pointed at the egress
 * listener once it runs (`useEgress(app.egress.url)`); before that they fail like an
 * unreachable insurer. `lab.close()` stops the stub too.
 */
export async function startDemoLab(extra: Partial<LabOptions> = {}): Promise<{
  lab: LabServer;
  insurerUrl: string;
  useEgress(egressUrl: string): void;
}> {
  const insurer = await startThirdPartyStub();
  let egress = 'http://127.0.0.1:9/insurer-not-ready';
  const lab = await startLab({ ...DEMO_LAB, ...extra, thirdPartyUrl: () => egress }).catch(
    async (err: unknown) => {
      await insurer.close();
      throw err;
    },
  );
  return {
    lab: {
      ...lab,
      async close() {
        await lab.close();
        await insurer.close();
      },
    },
    insurerUrl: insurer.url,
    useEgress(egressUrl) {
      egress = `${egressUrl}/insurer`;
    },
  };
}
