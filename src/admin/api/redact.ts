/**
 * The configuration as the admin API shows it: every value under a key that names a secret
 * (secret, password, token, key material, credentials in URLs) replaced by "[redacted]", and
 * the JSON pointers of what was replaced listed beside it.
 */
const SECRET_KEY =
  /(secret|password|passwd|token|private|credential|apikey|api_key|^key$|bearer|kek|webhook)/i;
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]+)@/i;
export const REDACTED = '[redacted]';

export function redactConfig(value: unknown): { config: Record<string, unknown>; redacted: string[] } {
  const redacted: string[] = [];
  const walk = (v: unknown, pointer: string, key: string): unknown => {
    if (v === null || v === undefined) return v;
    if (SECRET_KEY.test(key) && (typeof v !== 'object' || Array.isArray(v))) {
      if (typeof v === 'boolean' || typeof v === 'number') return v;
      redacted.push(pointer);
      return REDACTED;
    }
    if (typeof v === 'string') {
      if (URL_CREDENTIALS.test(v)) {
        redacted.push(pointer);
        return v.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
      }
      return v;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${pointer}/${i}`, key));
    if (typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        out[k] = walk(x, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, k);
      return out;
    }
    return v;
  };
  return { config: walk(value, '', '') as Record<string, unknown>, redacted };
}
