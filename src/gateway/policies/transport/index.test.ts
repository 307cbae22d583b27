import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../policy.ts';
import { buildPolicy, testContext, testServices } from '../test-context.ts';
import { transport } from './index.ts';

const build = (opts: Record<string, unknown> = {}) => buildPolicy(transport, opts, testServices());
const type = (code: string) => `https://rampart.dev/problems/${code}`;

describe('transport', () => {
  it('refuses plain HTTP with 403 tls-required unless a trusted proxy says https', () => {
    const p = build();
    expect(p.onRequest(testContext({ secure: false }))).toEqual({
      problem: {
        status: 403,
        type: type('tls-required'),
        title: expect.any(String),
        detail: 'This API is only served over HTTPS',
      },
    });
    expect(p.onRequest(testContext({ secure: true }))).toBeUndefined();
    // A client cannot claim https itself; a trusted proxy can.
    const claimed = testContext({ secure: false, headers: { 'x-forwarded-proto': 'https' } });
    expect(p.onRequest(claimed)).toMatchObject({ problem: { type: type('tls-required') } });
    const proxied: RequestContext = { ...claimed, trustedPeer: true };
    expect(p.onRequest(proxied)).toBeUndefined();
    expect(build({ requireTls: false }).onRequest(testContext({ secure: false }))).toBeUndefined();
  });

  it('applies deny before allow, by CIDR, on the resolved client address (IPv4 and IPv6)', () => {
    const p = build({ allow: ['203.0.113.0/24', '2001:db8::/32'], deny: ['203.0.113.66'] });
    expect(p.onRequest(testContext({ ip: '203.0.113.7' }))).toBeUndefined();
    expect(p.onRequest(testContext({ ip: '2001:db8::1' }))).toBeUndefined();
    for (const ip of ['203.0.113.66', '198.51.100.1', '2001:db9::1'])
      expect(p.onRequest(testContext({ ip })), ip).toEqual({
        problem: {
          status: 403,
          type: type('ip-denied'),
          title: expect.any(String),
          detail: 'Requests from this address are not allowed',
        },
      });
  });

  it('a deny list alone refuses only its blocks; an IPv4-mapped peer is matched as IPv4', () => {
    const p = build({ deny: ['198.51.100.0/24'] });
    expect(p.onRequest(testContext({ ip: '203.0.113.7' }))).toBeUndefined();
    expect(p.onRequest(testContext({ ip: '::ffff:198.51.100.9' }))).toMatchObject({
      problem: { type: type('ip-denied') },
    });
    // No lists: every address passes (the TLS check aside).
    expect(build().onRequest(testContext({ ip: '198.51.100.9' }))).toBeUndefined();
  });
});
