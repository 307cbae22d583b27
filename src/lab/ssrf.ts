import type { Agent } from 'undici';
import { outboundGuard, SsrfBlocked, systemResolve, type Resolve } from '../core/ssrf.ts';
import { LabError } from './http.ts';

export { isPublicAddress, systemResolve, type Resolve } from '../core/ssrf.ts';

const MESSAGES: Record<SsrfBlocked['reason'], string> = {
  'invalid-url': "'url' must be an absolute URL",
  scheme: "'url' must use http or https",
  credentials: "'url' must not carry credentials",
  'host-not-allowed': "'url' must point to a public address",
  unresolvable: "'url' host does not resolve",
  'private-address': "'url' must point to a public address",
};

/**
 * Checks a user-supplied URL before the secure twin fetches it, with the project's SSRF
 * guard (src/core/ssrf.ts): http(s) only, no credentials, and every address the host
 * resolves to must be public — unless its `host:port` is on the operator's allow-list.
 */
export async function checkOutboundUrl(
  raw: string,
  allowHosts: readonly string[],
  resolve: Resolve = systemResolve,
): Promise<URL> {
  try {
    return (await outboundGuard({ allowPrivate: allowHosts, resolve }).check(raw)).url;
  } catch (err) {
    if (err instanceof SsrfBlocked) throw new LabError('validation-failed', MESSAGES[err.reason]);
    throw err;
  }
}

/**
 * An undici dispatcher that checks addresses again **when it connects** (DNS rebinding):
 * the guard's pinned agent, with allow-listed hosts exempt.
 */
export function pinnedAgent(allowHosts: readonly string[], resolve: Resolve = systemResolve): Agent {
  return outboundGuard({ allowPrivate: allowHosts, resolve }).agent();
}
