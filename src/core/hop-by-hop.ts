/**
 * Hop-by-hop header fields (RFC 9110 §7.6.1): they never cross a proxy, in either direction,
 * together with any field named in `Connection`. Shared by the gateway and the learning proxy.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Header names a `Connection` field lists (RFC 9110 §7.6.1): they are hop-by-hop too.
 * Undefined for the usual `keep-alive`/`close` (nothing extra to drop) or no field.
 */
export function connectionListed(v: string | string[] | undefined): Set<string> | undefined {
  const text = Array.isArray(v) ? v.join(',') : v;
  if (!text || text === 'keep-alive' || text === 'close') return undefined;
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}
