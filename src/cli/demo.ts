import { INSURER_SPEC, LAB_SPECS, startLab, startThirdPartyStub, type LabServer } from '../lab/index.ts';

/**
 * The built-in demo of `npm start`: the lab's two versions behind the gateway. Shared with
 * the tests that run the lab's exploits through the gateway, so they test this setup.
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
 * The lab authenticates its users itself (its JWT flaws are part of the workshop), so
 * the gateway's authenticate/mfa stay off in front of it; the built-in identity service
 * runs under /auth to try MFA (docs/workshop.md).
 */
export const DEMO_POLICIES = {
  authenticate: { enabled: false },
  mfa: { enabled: false },
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
 * The vulnerable lab with its insurer stub, the lab's insurer calls pointed at the egress
 * listener once it runs (`useEgress(app.egress.url)`); before that they fail like an
 * unreachable insurer. `lab.close()` stops the stub too.
 */
export async function startDemoLab(): Promise<{
  lab: LabServer;
  insurerUrl: string;
  useEgress(egressUrl: string): void;
}> {
  const insurer = await startThirdPartyStub();
  let egress = 'http://127.0.0.1:9/insurer-not-ready';
  const lab = await startLab({ mode: 'vulnerable', thirdPartyUrl: () => egress }).catch(
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
