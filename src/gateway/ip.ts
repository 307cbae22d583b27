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
    if (this.size === 0) return false;
    const mapped =
      address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : undefined;
    if (mapped) return this.list.check(mapped, 'ipv4') || this.list.check(address, 'ipv6');
    const family = isIP(address);
    if (!family) return false;
    return this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
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
