import { OWASP_API_TOP10, POLICY_CATEGORY } from '../core/findings.ts';

export { OWASP_API_TOP10 };

/** The category a denial counts under: the event's own, else the policy's, else `unknown`. */
export function categoryOf(policy: string, given?: string): string {
  return given ?? POLICY_CATEGORY[policy] ?? 'unknown';
}
