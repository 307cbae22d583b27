import { describe, expect, it } from 'vitest';
import type { ResponseContext } from '../../policy.ts';
import { buildPolicy, testContext, testServices } from '../test-context.ts';
import { securityHeaders } from './index.ts';

const response = (headers: ResponseContext['headers'] = {}): ResponseContext => ({
  status: 200,
  headers,
  body: undefined,
  local: false,
});

describe('security-headers', () => {
  it('adds the OWASP API headers and HSTS on TLS responses', async () => {
    const res = response();
    await buildPolicy(securityHeaders, {}, testServices()).onResponse(testContext({ secure: true }), res);
    expect(res.headers).toEqual({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
      'strict-transport-security': 'max-age=63072000; includeSubDomains',
    });
  });

  it("keeps the upstream's own values, sends no HSTS over plain HTTP or with hstsMaxAge 0", async () => {
    const p = buildPolicy(securityHeaders, { hstsMaxAge: 0 }, testServices());
    const res = response({ 'cache-control': 'public, max-age=60', 'x-frame-options': 'SAMEORIGIN' });
    await p.onResponse(testContext({ secure: true }), res);
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toBeUndefined();
    const plain = response();
    await buildPolicy(securityHeaders, {}, testServices()).onResponse(testContext({ secure: false }), plain);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
  });

  it('declares the leaky upstream headers (and the configured extras) for the gateway to drop', () => {
    const p = buildPolicy(securityHeaders, { remove: ['X-Internal-Trace'] }, testServices());
    expect(p.hooks.dropResponseHeaders).toEqual(
      expect.arrayContaining(['server', 'x-powered-by', 'X-Internal-Trace']),
    );
  });
});
