/**
 * Request-target checks. Rampart refuses ambiguous paths rather than normalising them,
 * so the path it authorises is exactly the path the upstream receives: no dot segments
 * (`/v2/../admin`, `%2e%2e`), no empty segments (`//`), no encoded slash or backslash
 * (`%2F`, `%5C`), no NUL or control characters, no malformed percent-encoding.
 */
export type PathCheck = { ok: true; path: string; query: string } | { ok: false; reason: string };

// Characters allowed raw in a path by RFC 3986 (pchar + '/'), plus '%' for escapes.
const PATH_OK = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const FORBIDDEN_ESCAPE = /%(?:2[fF]|5[cC]|00|0[1-9a-fA-F]|1[0-9a-fA-F]|7[fF])/;

export function checkRequestTarget(url: string): PathCheck {
  if (url.length === 0 || url.charCodeAt(0) !== 47 /* / */) {
    return { ok: false, reason: 'request target must be an absolute path' };
  }
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  if (!PATH_OK.test(path))
    return { ok: false, reason: 'path contains characters that must be percent-encoded' };
  if (path.indexOf('%') !== -1) {
    if (BAD_ESCAPE.test(path)) return { ok: false, reason: 'malformed percent-encoding in path' };
    if (FORBIDDEN_ESCAPE.test(path))
      return { ok: false, reason: 'encoded slash, backslash or control character in path' };
    if (!decodesAsUtf8(path)) return { ok: false, reason: 'percent-encoding in path is not valid UTF-8' };
  }
  if (
    path.length > 1 &&
    (path.includes('//') || ((path.includes('.') || path.includes('%')) && hasDotSegment(path)))
  ) {
    return { ok: false, reason: 'empty or dot segments in path' };
  }
  if (query.length > 0 && (BAD_ESCAPE.test(query) || hasControl(query) || query.includes('%00'))) {
    return { ok: false, reason: 'malformed or control characters in query' };
  }
  if (query.indexOf('%') !== -1 && !decodesAsUtf8(query))
    return { ok: false, reason: 'percent-encoding in query is not valid UTF-8' };
  return { ok: true, path, query };
}

function decodesAsUtf8(s: string): boolean {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function hasDotSegment(path: string): boolean {
  for (const seg of path.split('/')) {
    if (seg === '.' || seg === '..') return true;
    if (seg.length <= 6 && seg.includes('%')) {
      const d = seg.replace(/%2[eE]/g, '.');
      if (d === '.' || d === '..') return true;
    }
  }
  return false;
}
