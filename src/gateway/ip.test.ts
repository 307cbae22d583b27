import { describe, expect, it } from 'vitest';
import { clientAddress, IpMatcher } from './ip.ts';

describe('IpMatcher', () => {
  it('matches single addresses and CIDR blocks at their edges', () => {
    const m = new IpMatcher(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '198.51.100.128/25']);
    expect(m.size).toBe(4);
    expect(m.has('10.0.0.0')).toBe(true);
    expect(m.has('10.255.255.255')).toBe(true);
    expect(m.has('11.0.0.0')).toBe(false);
    expect(m.has('9.255.255.255')).toBe(false);
    expect(m.has('192.0.2.1')).toBe(true);
    expect(m.has('192.0.2.2')).toBe(false);
    expect(m.has('198.51.100.128')).toBe(true);
    expect(m.has('198.51.100.127')).toBe(false);
    expect(m.has('2001:db8:ffff:ffff::1')).toBe(true);
    expect(m.has('2001:db9::1')).toBe(false);
  });

  it('/0 and /32 (/128) are valid edges', () => {
    expect(new IpMatcher(['0.0.0.0/0']).has('203.0.113.9')).toBe(true);
    const host = new IpMatcher(['203.0.113.9/32', '::1/128']);
    expect(host.has('203.0.113.9')).toBe(true);
    expect(host.has('203.0.113.8')).toBe(false);
    expect(host.has('::1')).toBe(true);
    expect(host.has('::2')).toBe(false);
  });

  it('an IPv4-mapped IPv6 peer matches the IPv4 blocks; an IPv6 block still matches it as IPv6', () => {
    const m = new IpMatcher(['127.0.0.1', '10.0.0.0/8']);
    expect(m.has('::ffff:127.0.0.1')).toBe(true);
    expect(m.has('::ffff:10.1.2.3')).toBe(true);
    expect(m.has('::ffff:11.1.2.3')).toBe(false);
    expect(new IpMatcher(['::ffff:0:0/96']).has('::ffff:192.0.2.5')).toBe(true);
    // Every spelling of the mapped address, and the other direction: an IPv4 peer matches a
    // mapped IPv6 block.
    expect(m.has('::ffff:a00:1')).toBe(true);
    expect(m.has('0:0:0:0:0:ffff:10.0.0.1')).toBe(true);
    expect(m.has('::FFFF:10.0.0.1')).toBe(true);
    expect(new IpMatcher(['::ffff:10.0.0.0/104']).has('10.9.8.7')).toBe(true);
    expect(new IpMatcher(['::ffff:10.0.0.0/104']).has('11.9.8.7')).toBe(false);
    // The IPv4 family alone does not match an IPv6 address outside the mapped range.
    expect(m.has('::127.0.0.1')).toBe(false);
  });

  it('an empty list matches nothing; garbage addresses never match', () => {
    expect(new IpMatcher([]).has('127.0.0.1')).toBe(false);
    const m = new IpMatcher(['0.0.0.0/0', '::/0']);
    expect(m.has('')).toBe(false);
    expect(m.has('localhost')).toBe(false);
    expect(m.has('::ffff:not-an-ip')).toBe(false);
  });

  it.each([
    ['10.0.0.0/33', /invalid prefix length/],
    ['10.0.0.0/-1', /invalid prefix length/],
    ['10.0.0.0/8.5', /invalid prefix length/],
    ['10.0.0.0/', /invalid prefix length/],
    ['10.0.0.0/x', /invalid prefix length/],
    ['10.0.0.0/ 8', /invalid prefix length/],
    ['10.0.0.0/0x8', /invalid prefix length/],
    ['10.0.0.0/1e1', /invalid prefix length/],
    ['::/129', /invalid prefix length/],
    ['10.0.0.0/8/16', /invalid prefix length/],
    ['10.0.0.0//8', /invalid prefix length/],
    ['::/64/', /invalid prefix length/],
    ['10.0.0/8', /not an IP address/],
    ['example.com', /not an IP address/],
    ['', /not an IP address/],
  ])('refuses %j', (cidr, message) => {
    expect(() => new IpMatcher([cidr])).toThrow(message);
  });

  it('accepts a full /128 IPv6 prefix and a /32 IPv4 one (upper bounds are inclusive)', () => {
    expect(() => new IpMatcher(['::1/128', '1.2.3.4/32', '1.2.3.4/0'])).not.toThrow();
  });
});

describe('clientAddress', () => {
  const trusted = new IpMatcher(['127.0.0.1', '10.0.0.0/8']);

  it('is the peer without X-Forwarded-For', () => {
    expect(clientAddress(undefined, '127.0.0.1', trusted)).toBe('127.0.0.1');
    expect(clientAddress('', '127.0.0.1', trusted)).toBe('127.0.0.1');
  });

  it('is the right-most untrusted entry, skipping trusted hops', () => {
    expect(clientAddress('203.0.113.9, 198.51.100.7', '127.0.0.1', trusted)).toBe('198.51.100.7');
    expect(clientAddress('203.0.113.9, 198.51.100.7, 10.0.0.5', '127.0.0.1', trusted)).toBe('198.51.100.7');
    expect(clientAddress(['203.0.113.9', '198.51.100.7 , 10.0.0.5'], '127.0.0.1', trusted)).toBe(
      '198.51.100.7',
    );
  });

  it('is the left-most entry (trimmed) when every hop is trusted', () => {
    expect(clientAddress('10.0.0.9, 10.0.0.5', '127.0.0.1', trusted)).toBe('10.0.0.9');
    expect(clientAddress(' 10.0.0.9 ,10.0.0.5', '127.0.0.1', trusted)).toBe('10.0.0.9');
  });

  it('a forged non-address left-most entry behind trusted hops falls back to the peer', () => {
    expect(clientAddress('garbage, 10.0.0.5', '127.0.0.1', trusted)).toBe('127.0.0.1');
    expect(clientAddress(', 10.0.0.5', '127.0.0.1', trusted)).toBe('127.0.0.1');
  });

  it('falls back to the peer at the first entry that is not an address (no forged garbage as key)', () => {
    expect(clientAddress('203.0.113.9, unknown', '127.0.0.1', trusted)).toBe('127.0.0.1');
    expect(clientAddress('203.0.113.9, 198.51.100.7 junk', '10.0.0.1', trusted)).toBe('10.0.0.1');
  });
});
