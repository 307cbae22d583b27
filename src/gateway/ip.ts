import { BlockList, isIP } from 'node:net';

/** Matches addresses against CIDR blocks (IPv4, IPv6, and IPv4-mapped IPv6 peers). */
export class IpMatcher {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const parts = c.split('/');
      // '10.0.0.0/8/16' is not a block: without this the part after the second slash was ignored.
      if (parts.length > 2) throw new Error(`'${c}' has an invalid prefix length`);
      const [addr, bits] = parts as [string, string | undefined];
      const family = isIP(addr);
      if (!family) throw new Error(`'${c}' is not an IP address or CIDR block`);
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(addr, type);
      else {
        // Digits only: Number('') is 0, so '10.0.0.0/' would otherwise be a /0 (every address).
        const n = /^[0-9]{1,3}$/.test(bits) ? Number(bits) : NaN;
        if (!Number.isInteger(n) || n > (family === 6 ? 128 : 32))
          throw new Error(`'${c}' has an invalid prefix length`);
        this.list.addSubnet(addr, n, type);
      }
    }
    this.size = cidrs.length;
  }

  has(address: string): boolean {
    // Stryker disable next-line ConditionalExpression: a fast path; an empty BlockList matches nothing either
    if (this.size === 0) return false;
    // Node's BlockList matches an IPv4-mapped peer (::ffff:a.b.c.d) against the IPv4 blocks and
    // an IPv4 address against ::ffff:0:0/96, and answers false for a non-address (ip.test.ts).
    return this.list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
}

/**
 * The client address behind trusted proxies: walk X-Forwarded-For from the right,
 * skipping trusted hops; the first untrusted address is the client.
 */
export function clientAddress(xff: string | string[] | undefined, peer: string, trusted: IpMatcher): string {
  if (!xff) return peer;
  const parts = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  for (let i = parts.length - 1; i >= 0; i--) {
    const a = parts[i]!.trim();
    if (!isIP(a)) return peer;
    if (!trusted.has(a)) return a;
  }
  return parts[0]!.trim() || peer;
}
