import { describe, expect, it } from 'vitest';
import { checkRequestTarget } from './path.ts';

const refused = (url: string) => {
  const r = checkRequestTarget(url);
  return r.ok ? undefined : r.reason;
};

describe('checkRequestTarget', () => {
  it('splits an acceptable target into path and query, unchanged', () => {
    expect(checkRequestTarget('/v2/orders/a%20b?x=1&y=%C3%A9')).toEqual({
      ok: true,
      path: '/v2/orders/a%20b',
      query: 'x=1&y=%C3%A9',
    });
    expect(checkRequestTarget('/')).toEqual({ ok: true, path: '/', query: '' });
    expect(checkRequestTarget('/a?')).toEqual({ ok: true, path: '/a', query: '' });
    expect(checkRequestTarget("/a-b._~!$&'()*+,;=:@/c")).toMatchObject({ ok: true });
    // Dots inside a segment are fine; only whole dot segments are ambiguous.
    expect(checkRequestTarget('/v2/file.json/..x/.hidden/%2e%2e%2e')).toMatchObject({ ok: true });
  });

  it.each(['', 'v2/orders', '*', 'http://evil.example/x'])('refuses %j: not an absolute path', (t) => {
    expect(refused(t)).toBe('request target must be an absolute path');
  });

  it.each(['/a b', '/a"b', '/a<b', '/a\\b', '/a\u0000', '/é', '/a#b', '/a[b]'])(
    'refuses %j: raw characters that must be encoded',
    (t) => {
      expect(refused(t)).toBe('path contains characters that must be percent-encoded');
    },
  );

  it.each(['/a%', '/a%2', '/a%zz', '/a%2g'])('refuses %j: malformed escape', (t) => {
    expect(refused(t)).toBe('malformed percent-encoding in path');
  });

  it.each([
    '/a%2Fb',
    '/a%2fb',
    '/a%5Cb',
    '/a%5cb',
    '/a%00',
    '/a%01',
    '/a%0a',
    '/a%0D',
    '/a%1F',
    '/a%1f',
    '/a%7F',
    '/a%7f',
  ])('refuses %j: encoded slash, backslash or control character', (t) => {
    expect(refused(t)).toBe('encoded slash, backslash or control character in path');
  });

  it.each(['/a%20', '/a%2E', '/a%5B', '/a%7E', '/a%30', '/a/'])('accepts %j', (t) => {
    expect(checkRequestTarget(t).ok).toBe(true);
  });

  it.each(['/a%C3', '/a%FF', '/a%C3%28'])('refuses %j: not UTF-8', (t) => {
    expect(refused(t)).toBe('percent-encoding in path is not valid UTF-8');
  });

  it.each([
    '//a',
    '/a//b',
    '/./a',
    '/a/.',
    '/a/..',
    '/v2/../admin',
    '/v2/%2e%2e/admin',
    '/v2/%2E%2E/admin',
    '/v2/.%2e/admin',
    '/v2/%2e/admin',
  ])('refuses %j: empty or dot segments', (t) => {
    expect(refused(t)).toBe('empty or dot segments in path');
  });

  it.each(['/a?x=%', '/a?x=%zz', '/a?x=\u0001', '/a?x=\u007f', '/a?x=%00', '/a?x=\u001f'])(
    'refuses %j: malformed or control characters in query',
    (t) => {
      expect(refused(t)).toBe('malformed or control characters in query');
    },
  );

  it('accepts printable query characters and %20 (the upstream decodes them)', () => {
    expect(checkRequestTarget('/a?x=%20~y').ok).toBe(true);
    expect(checkRequestTarget('/a?x= ').ok).toBe(true);
  });

  it.each(['/a?x=%C3', '/a?x=%FF'])('refuses %j: query escapes not UTF-8', (t) => {
    expect(refused(t)).toBe('percent-encoding in query is not valid UTF-8');
  });
});
