import { LAB_SPECS } from '../lab/index.ts';

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
export const DEMO_POLICIES = { authenticate: { enabled: false }, mfa: { enabled: false } } as const;
