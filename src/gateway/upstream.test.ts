import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REQUEST_HEADER_DROPS,
  SPOOFABLE_REQUEST_HEADERS,
  requestHeaderDrops,
  upstreamHeaders,
  type ForwardSource,
} from './upstream.ts';

const pairs = (flat: string[]) => {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[flat[i]!] ??= []).push(flat[i + 1]!);
  return out;
};

const source = (over: Partial<ForwardSource> = {}): ForwardSource => ({
  id: 'req-1',
  headers: { host: 'api.example.com', accept: 'application/json' },
  peer: '192.0.2.10',
  trustedPeer: false,
  secure: true,
  ...over,
});

describe('upstreamHeaders', () => {
  it('sets X-Forwarded-* and the request id, and no Forwarded unless asked', () => {
    const h = pairs(
      upstreamHeaders(
        source({
          headers: { host: 'api.example.com', forwarded: 'for=6.6.6.6', 'x-forwarded-for': '6.6.6.6' },
        }),
        {},
        0,
        false,
      ),
    );
    expect(h['x-forwarded-for']).toEqual(['192.0.2.10']);
    expect(h['x-forwarded-proto']).toEqual(['https']);
    expect(h['x-forwarded-host']).toEqual(['api.example.com']);
    expect(h['x-request-id']).toEqual(['req-1']);
    expect(h.forwarded).toBeUndefined();
    expect(h.host).toBeUndefined();
  });

  it('writes RFC 7239 Forwarded when configured: the client’s own is replaced, IPv6 quoted, host sanitised', () => {
    const h = pairs(
      upstreamHeaders(
        source({ peer: '2001:db8::7', headers: { host: 'a"b\\c.example', forwarded: 'for=6.6.6.6' } }),
        {},
        0,
        true,
      ),
    );
    expect(h.forwarded).toEqual(['for="[2001:db8::7]";proto=https;host="abc.example"']);
  });

  it('drops hop-by-hop and Connection-listed headers, keeps the rest, sets Content-Length for a body', () => {
    const h = pairs(
      upstreamHeaders(
        source({
          headers: {
            host: 'h',
            connection: 'x-secret, keep-alive',
            'x-secret': '1',
            te: 'trailers',
            'keep-alive': 'timeout=5',
            'x-custom': ['a', 'b'],
          },
        }),
        { 'x-authenticated-user': 'u-1' },
        12,
        false,
      ),
    );
    expect(h['x-secret']).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h.connection).toBeUndefined();
    expect(h['x-custom']).toEqual(['a', 'b']);
    expect(h['x-authenticated-user']).toEqual(['u-1']);
    expect(h['content-length']).toEqual(['12']);
  });
});

describe('spoofable request headers', () => {
  const spoofed = Object.fromEntries(SPOOFABLE_REQUEST_HEADERS.map((n) => [n, 'spoofed']));

  it('drops every listed header from an untrusted peer, whatever the API says', () => {
    const drops = requestHeaderDrops({ trustedRequestHeaders: ['CF-Connecting-IP'] });
    const h = pairs(
      upstreamHeaders(source({ headers: { host: 'h', ...spoofed, 'x-kept': '1' } }), {}, 0, false, drops),
    );
    for (const n of SPOOFABLE_REQUEST_HEADERS) expect(h[n], n).toBeUndefined();
    expect(h['x-kept']).toEqual(['1']);
  });

  it('from a trusted proxy, passes only those the API names; drops its extra names from everyone', () => {
    const drops = requestHeaderDrops({
      trustedRequestHeaders: ['CF-Connecting-IP'],
      dropRequestHeaders: ['X-Debug'],
    });
    const h = pairs(
      upstreamHeaders(
        source({ trustedPeer: true, headers: { host: 'h', ...spoofed, 'x-debug': '1' } }),
        {},
        0,
        false,
        drops,
      ),
    );
    expect(h['cf-connecting-ip']).toEqual(['spoofed']);
    expect(h['true-client-ip']).toBeUndefined();
    expect(h['x-forwarded-prefix']).toBeUndefined();
    expect(h['x-debug']).toBeUndefined();
    expect(
      pairs(upstreamHeaders(source({ headers: { 'x-debug': '1' } }), {}, 0, false, drops))['x-debug'],
    ).toBeUndefined();
  });

  it('the default drops cover the list too', () => {
    for (const n of SPOOFABLE_REQUEST_HEADERS) {
      expect(DEFAULT_REQUEST_HEADER_DROPS.untrusted.has(n)).toBe(true);
      expect(DEFAULT_REQUEST_HEADER_DROPS.trusted.has(n)).toBe(true);
    }
  });

  it('an absolute-form authority is the X-Forwarded-Host', () => {
    const h = pairs(upstreamHeaders(source({ authority: 'api.example.com:8443' }), {}, 0, false));
    expect(h['x-forwarded-host']).toEqual(['api.example.com:8443']);
  });
});
