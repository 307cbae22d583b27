import { lookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent } from 'undici';
import { LabError } from './http.ts';

/** Resolves a host name to all its addresses (injectable so tests can play a rebinding DNS). */
export type Resolve = (host: string) => Promise<string[]>;

export const systemResolve: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Destinations a server-side fetch must never reach (API7, CWE-918): loopback, private,
 * link-local (cloud metadata lives at 169.254.169.254), CGNAT, unspecified, multicast,
 * documentation/benchmark ranges, IPv6 unique-local and IPv4-mapped forms of all of them.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** True when `ip` is a public unicast address a server may fetch from. */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return isPublicAddress(mapped[1]!);
    return !blocked.check(ip, 'ipv6');
  }
  return !blocked.check(ip, 'ipv4');
}

/**
 * Checks a user-supplied URL before the secure twin fetches it: http(s) only, no
 * credentials, and every address the host resolves to must be public — unless its
 * `host:port` is on the operator's allow-list. Returns the URL to fetch.
 */
export async function checkOutboundUrl(
  raw: string,
  allowHosts: readonly string[],
  resolve: Resolve = systemResolve,
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LabError('validation-failed', "'url' must be an absolute URL");
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new LabError('validation-failed', "'url' must use http or https");
  if (url.username || url.password)
    throw new LabError('validation-failed', "'url' must not carry credentials");
  if (allowHosts.includes(url.host)) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new LabError('validation-failed', "'url' host does not resolve");
    }
  }
  if (addresses.length === 0 || !addresses.every(isPublicAddress)) {
    throw new LabError('validation-failed', "'url' must point to a public address");
  }
  return url;
}

/**
 * An undici dispatcher that checks addresses again **when it connects**: its DNS lookup
 * hook resolves the host, refuses unless every address is public (allow-listed `host:port`
 * excepted) and hands the socket exactly the addresses it checked. A DNS answer that
 * changes between `checkOutboundUrl` and the connection (rebinding) therefore cannot
 * steer the fetch to an internal address. IP-literal hosts never reach the hook; the
 * up-front check covers them.
 */
export function pinnedAgent(allowHosts: readonly string[], resolve: Resolve = systemResolve): Agent {
  const allowedNames = new Set(allowHosts.map((h) => h.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')));
  return new Agent({
    connect: {
      timeout: 3000,
      lookup(
        hostname: string,
        options: LookupOptions,
        callback: (
          err: NodeJS.ErrnoException | null,
          address: string | LookupAddress[],
          family?: number,
        ) => void,
      ) {
        resolve(hostname).then(
          (addresses) => {
            if (
              addresses.length === 0 ||
              (!allowedNames.has(hostname) && !addresses.every(isPublicAddress))
            ) {
              const err: NodeJS.ErrnoException = new Error(
                `refused to connect to ${hostname}: not a public address`,
              );
              err.code = 'ERR_SSRF_BLOCKED';
              return callback(err, '');
            }
            const all = addresses.map((address) => ({ address, family: isIP(address) }));
            if (options.all) callback(null, all);
            else callback(null, all[0]!.address, all[0]!.family);
          },
          (err: NodeJS.ErrnoException) => callback(err, ''),
        );
      },
    },
  });
}
