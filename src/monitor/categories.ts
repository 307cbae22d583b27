import { OWASP_API_TOP10 } from '../core/findings.ts';

export { OWASP_API_TOP10 };

/**
 * OWASP API Security Top 10 (2023) category of a gateway policy's denial, used when the
 * `denied` event carries none. Sources: owasp.org/API-Security/editions/2023.
 */

const BY_POLICY: Record<string, string> = {
  authenticate: 'API2:2023',
  mfa: 'API2:2023',
  'brute-force': 'API2:2023',
  owner: 'API1:2023',
  'property-access': 'API3:2023',
  'minimise-response': 'API3:2023',
  'request-limits': 'API4:2023',
  'rate-limit': 'API4:2023',
  roles: 'API5:2023',
  'flow-limit': 'API6:2023',
  'ssrf-guard': 'API7:2023',
  transport: 'API8:2023',
  cors: 'API8:2023',
  'security-headers': 'API8:2023',
  'injection-guard': 'API8:2023',
  'validate-request': 'API8:2023',
  routing: 'API9:2023',
  versions: 'API9:2023',
  'validate-response': 'API10:2023',
};

/** The category a denial counts under: the event's own, else the policy's, else `unknown`. */
export function categoryOf(policy: string, given?: string): string {
  return given ?? BY_POLICY[policy] ?? 'unknown';
}
