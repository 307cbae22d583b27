import { describe, expect, it } from 'vitest';
import { AcceptedHosts, hostnameOf, splitAbsoluteForm, validHost } from './host.ts';

describe('validHost (RFC 9112 §3.2 uri-host[:port], DNS names only)', () => {
  it('accepts names, IPv4 and IPv6 literals with an optional port', () => {
    for (const h of [
      'example.com',
      'example.com:8443',
      'EXAMPLE.com.',
      'a_b.internal',
      '127.0.0.1',
      '127.0.0.1:65535',
      '[::1]',
      '[::1]:8443',
      '[2001:db8::1]',
      'localhost',
    ])
      expect(validHost(h), h).toBe(true);
  });

  it('refuses duplicates, userinfo, paths, queries, spaces, bad ports and bad literals', () => {
    for (const h of [
      undefined,
      '',
      'a.example, b.example', // two Host fields, joined by Node
      'a@evil.example',
      'evil.example/x',
      'evil.example?x',
      'evil.example#x',
      'exa mple.test',
      'example.test:99999',
      'example.test:8a',
      'example.test:',
      'example.test:123456',
      '.example',
      'a..b',
      '[::1',
      '[::1]x',
      '[::1]:',
      '[zz::1]',
      '[127.0.0.1]',
      'a"b.example',
      'a\\b',
      'x'.repeat(64) + '.example',
    ])
      expect(validHost(h), String(h)).toBe(false);
  });

  it('hostnameOf drops the port and keeps IPv6 brackets', () => {
    expect(hostnameOf('a.example:1')).toBe('a.example');
    expect(hostnameOf('[::1]:1')).toBe('[::1]');
    expect(hostnameOf('[::1]')).toBe('[::1]');
  });
});

describe('AcceptedHosts', () => {
  it('a name accepts any port; host:port only that port; case and a final dot do not matter', () => {
    const a = new AcceptedHosts(['api.example.com', 'LOCALHOST:8443', '[::1]:9443']);
    expect(a.open).toBe(false);
    for (const h of [
      'api.example.com',
      'API.example.com:443',
      'api.example.com.',
      'localhost:8443',
      '[::1]:9443',
    ])
      expect(a.has(h), h).toBe(true);
    for (const h of ['evil.example', 'localhost', 'localhost:443', '[::1]', 'api.example.com.evil.example'])
      expect(a.has(h), h).toBe(false);
    expect(new AcceptedHosts([]).open).toBe(true);
    expect(() => new AcceptedHosts(['a@b'])).toThrow('not a host[:port]: a@b');
  });
});

describe('splitAbsoluteForm (RFC 9112 §3.2.2)', () => {
  it('splits the authority from the origin-form target', () => {
    expect(splitAbsoluteForm('https://api.example.com:8443/v2/items?x=1', true)).toEqual({
      ok: true,
      authority: 'api.example.com:8443',
      target: '/v2/items?x=1',
    });
    expect(splitAbsoluteForm('HTTPS://a.example', true)).toEqual({
      ok: true,
      authority: 'a.example',
      target: '/',
    });
    expect(splitAbsoluteForm('http://a.example?q', false)).toEqual({
      ok: true,
      authority: 'a.example',
      target: '/?q',
    });
  });

  it('refuses other schemes, userinfo and invalid authorities', () => {
    expect(splitAbsoluteForm('http://a.example/', true)).toMatchObject({ ok: false });
    expect(splitAbsoluteForm('ftp://a.example/', true)).toMatchObject({ ok: false });
    expect(splitAbsoluteForm('https://u@a.example/', true)).toEqual({
      ok: false,
      reason: 'userinfo is not allowed in the request target',
    });
    expect(splitAbsoluteForm('https://a b/', true)).toMatchObject({ ok: false });
    expect(splitAbsoluteForm('https:///x', true)).toMatchObject({ ok: false });
    expect(splitAbsoluteForm('*', true)).toMatchObject({ ok: false });
  });
});

describe('validHost edges (#19)', () => {
  it.each([
    ['[::1]:65535', true],
    ['[::1]:65536', false],
    ['[::1]:99999', false],
    ['[::1]:0', true],
    ['[::1]:', false],
    ['[::1]x', false],
    ['example.com:65536', false],
    ['example.com:123456', false],
    ['example.com:', false],
    ['example.com:8a', false],
    ['example.com:1', true],
    ['example.com:8090', true],
    ['example.com:09', true],
    ['zz.test', true],
    ['a'.repeat(63) + '.test', true],
    ['a'.repeat(64) + '.test', false],
    ['Z9-_.test', true],
    ['a..b', false],
    ['.a', false],
    ['a.', true],
    ['a/', false],
    ['a' + '.a'.repeat(130), true],
    ['a' + '.a'.repeat(131), false],
    ['@', false],
    ['[', false],
    ['`', false],
    ['{', false],
    [':80', false],
  ])('%s → %s', (h, ok) => {
    expect(validHost(h)).toBe(ok);
  });
});
