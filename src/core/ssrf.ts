/**
 * The SSRF guard (API7, CWE-918) every outbound call uses: URLs users submit (checked by
 * the ssrf-guard policy), and what the gateway fetches itself (ownership look-ups, JWKS,
 * webhooks, egress). A URL passes when its scheme is allowed, it carries no credentials,
 * its host is on the allow-list (when there is one) and every address the host resolves
 * to is public. The same check runs again **at connect time** (the agent's DNS lookup
 * hook), and the socket gets exactly the addresses checked, so a DNS answer that changes
 * in between (rebinding) cannot steer a request inside. Redirects are never followed by
 * the guarded agent's users (`redirect: 'error'` / undici's default of none).
 */
import { lookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent } from 'undici';

/** Resolves a host name to all its addresses (injectable so tests can play a rebinding DNS). */
export type Resolve = (host: string) => Promise<string[]>;

export const systemResolve: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Never reachable: loopback, private (RFC 1918), link-local (cloud metadata lives at
 * 169.254.169.254 and fd00:ec2::254), CGNAT (RFC 6598), "this network", IETF protocol
 * assignments, documentation/benchmark ranges, multicast, reserved; IPv6 loopback,
 * unspecified, unique-local, link-local, multicast, documentation and NAT64 (which maps
 * onto IPv4). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is judged by its IPv4 address.
 */
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const BLOCKED_V6: ReadonlyArray<readonly [string, number]> = [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
];
const blocked = new BlockList();
for (const [net, prefix] of BLOCKED_V4) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of BLOCKED_V6) blocked.addSubnet(net, prefix, 'ipv6');

/**
 * True when `ip` is a public unicast address a server may fetch from.
 * @example
 * isPublicAddress('169.254.169.254') // false
 * isPublicAddress('::ffff:10.0.0.1') // false
 * isPublicAddress('8.8.8.8')         // true
 */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped) return isPublicAddress(mapped[1]!);
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
    if (hexMapped) {
      const hi = parseInt(hexMapped[1]!, 16);
      const lo = parseInt(hexMapped[2]!, 16);
      return isPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return !blocked.check(ip, 'ipv6');
  }
  return !blocked.check(ip, 'ipv4');
}

export type SsrfReason =
  'invalid-url' | 'scheme' | 'credentials' | 'host-not-allowed' | 'unresolvable' | 'private-address';

/** A URL the guard refuses, with why (safe to show: it names no resolved address). */
export class SsrfBlocked extends Error {
  override name = 'SsrfBlocked';
  constructor(
    readonly reason: SsrfReason,
    message: string,
  ) {
    super(message);
  }
}

export interface OutboundPolicy {
  /** Allowed URL schemes without the colon. Default `['https', 'http']`. */
  schemes?: readonly string[];
  /**
   * When non-empty, only these hosts: `example.com`, `*.example.com` (subdomains only),
   * optionally with `:port`. Default: any public host.
   */
  allowHosts?: readonly string[];
  /** `host:port` (or `host`) entries exempt from the public-address rule, e.g. an internal CDN. */
  allowPrivate?: readonly string[];
  resolve?: Resolve;
}

const stripBrackets = (h: string): string => h.replace(/^\[|\]$/g, '');

/** `port` '*' matches any port (the connect-time hook does not know it). */
function hostMatches(pattern: string, host: string, port: string): boolean {
  const p = pattern.toLowerCase();
  const colon = p.lastIndexOf(':');
  let name = p;
  if (colon > 0 && !p.endsWith(']') && /^\d+$/.test(p.slice(colon + 1))) {
    if (port !== '*' && p.slice(colon + 1) !== port) return false;
    name = p.slice(0, colon);
  }
  name = stripBrackets(name);
  if (name.startsWith('*.')) return host.endsWith(name.slice(1)) && host.length > name.length - 1;
  return host === name;
}

const defaultPort = (url: URL): string => url.port || (url.protocol === 'https:' ? '443' : '80');

/** Compiled once per configuration: `check` for URLs, `agent` for connections. */
export interface OutboundGuard {
  /** Resolves and checks `raw`; the URL to fetch and the addresses checked, or throws {@link SsrfBlocked}. */
  check(raw: string): Promise<{ url: URL; addresses: string[] }>;
  /** True when `host` (with its port) is exempt from the public-address rule. */
  privateAllowed(host: string, port: string): boolean;
  /** An undici Agent that re-checks and pins addresses at connect time. Close it when done. */
  agent(opts?: { connectTimeoutMs?: number }): Agent;
  /**
   * The connect-time check as a `dns.lookup`-shaped hook, for sockets opened without undici
   * (`net.connect` / `tls.connect({ lookup })`, e.g. SMTP): resolves again, refuses a
   * non-public answer (`ERR_SSRF_BLOCKED`) and hands the socket exactly the addresses checked.
   */
  lookup: GuardedLookup;
}

export type GuardedLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * Builds a guard from a policy.
 * @example
 * const guard = outboundGuard({ schemes: ['https'], allowHosts: ['*.cdn.example'] });
 * const { url } = await guard.check(userUrl);              // throws SsrfBlocked
 * await fetch(url, { dispatcher: guard.agent(), redirect: 'error' });
 */
export function outboundGuard(policy: OutboundPolicy = {}): OutboundGuard {
  const schemes = new Set(
    (policy.schemes ?? ['https', 'http']).map((s) => s.toLowerCase().replace(/:$/, '') + ':'),
  );
  const allowHosts = policy.allowHosts ?? [];
  const allowPrivate = policy.allowPrivate ?? [];
  const resolve = policy.resolve ?? systemResolve;
  const privateAllowed = (host: string, port: string): boolean =>
    allowPrivate.some((p) => hostMatches(p, stripBrackets(host).toLowerCase(), port));
  const hostAllowed = (host: string, port: string): boolean =>
    allowHosts.length === 0 || allowHosts.some((p) => hostMatches(p, host, port));

  async function check(raw: string): Promise<{ url: URL; addresses: string[] }> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new SsrfBlocked('invalid-url', 'not an absolute URL');
    }
    if (!schemes.has(url.protocol))
      throw new SsrfBlocked('scheme', `scheme '${url.protocol.slice(0, -1)}' is not allowed`);
    if (url.username || url.password) throw new SsrfBlocked('credentials', 'URLs must not carry credentials');
    const host = stripBrackets(url.hostname).toLowerCase();
    const port = defaultPort(url);
    if (!hostAllowed(host, port)) throw new SsrfBlocked('host-not-allowed', `host '${host}' is not allowed`);
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      try {
        addresses = await resolve(host);
      } catch {
        throw new SsrfBlocked('unresolvable', `host '${host}' does not resolve`);
      }
    }
    if (privateAllowed(host, port)) return { url, addresses };
    if (addresses.length === 0 || !addresses.every(isPublicAddress))
      throw new SsrfBlocked('private-address', `host '${host}' is not a public address`);
    return { url, addresses };
  }

  const lookup: GuardedLookup = (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const exempt = allowPrivate.some((p) => hostMatches(p, hostname.toLowerCase(), '*'));
        if (addresses.length === 0 || (!exempt && !addresses.every(isPublicAddress))) {
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
  };

  function agent(opts: { connectTimeoutMs?: number } = {}): Agent {
    return new Agent({ connect: { timeout: opts.connectTimeoutMs ?? 3000, lookup } });
  }

  return { check, agent, lookup, privateAllowed };
}
