/**
 * JSON that parses but that two parsers may read differently (a parser differential) or
 * that poisons the reader: duplicate member names (RFC 8259 §4: "names SHOULD be unique";
 * JavaScript keeps the last, Go's encoding/json the last, some Java parsers the first),
 * prototype-pollution names (`__proto__`, `constructor`, `prototype`: harmless in
 * JSON.parse, dangerous in the upstream's deep merge), and numbers no IEEE-754 double
 * holds exactly (integers beyond 2^53 − 1, more than 17 significant digits, overflow to
 * Infinity). One pass over the text, no recursion; the text is already known to be
 * well-formed and depth-bounded (request-limits / the gateway's parse).
 */

export interface JsonHazard {
  reason: 'duplicate-key' | 'prototype-key' | 'unsafe-number';
  /** JSON pointer of the offending member or number. */
  pointer: string;
  detail: string;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

interface Frame {
  array: boolean;
  /** Member names seen (objects) — a list while small, a set beyond. */
  keys: string[] | Set<string> | undefined;
  /** Current member name or item index. */
  at: string | number;
}

const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The first hazard in well-formed JSON text, or undefined.
 * @example
 * findJsonHazard('{"role":"user","role":"admin"}') // { reason: 'duplicate-key', pointer: '/role', … }
 */
export function findJsonHazard(
  text: string,
  opts: { allowKeys?: ReadonlySet<string> } = {},
): JsonHazard | undefined {
  const stack: Frame[] = [];
  const pointer = (): string => stack.map((f) => '/' + esc(String(f.at))).join('');
  const n = text.length;
  let i = 0;
  // Whether the next string in an object is a member name.
  let expectKey = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      let escaped = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === 0x22) break;
        i++;
      }
      if (expectKey) {
        const top = stack[stack.length - 1]!;
        const raw = text.slice(start, i);
        const key = escaped ? (JSON.parse(text.slice(start - 1, i + 1)) as string) : raw;
        top.at = key;
        if (FORBIDDEN.has(key) && !opts.allowKeys?.has(key))
          return {
            reason: 'prototype-key',
            pointer: pointer(),
            detail: `member name '${key}' is not accepted`,
          };
        let keys = top.keys;
        if (keys === undefined) top.keys = [key];
        else if (Array.isArray(keys)) {
          if (keys.includes(key))
            return { reason: 'duplicate-key', pointer: pointer(), detail: `member '${key}' appears twice` };
          keys.push(key);
          if (keys.length > 16) top.keys = keys = new Set(keys);
        } else {
          if (keys.has(key))
            return { reason: 'duplicate-key', pointer: pointer(), detail: `member '${key}' appears twice` };
          keys.add(key);
        }
        expectKey = false;
      }
      i++;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push({ array: false, keys: undefined, at: '' });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push({ array: true, keys: undefined, at: 0 });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top) {
        if (top.array) top.at = (top.at as number) + 1;
        else expectKey = true;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let digits = 0;
      let leading = true;
      let integer = true;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) {
          // Leading zeros (of an integer part or a fraction) are not significant digits.
          if (!(leading && d === 0x30)) {
            leading = false;
            digits++;
          }
          i++;
        } else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          if (d === 0x65 || d === 0x45) {
            // exponent: stop counting significant digits
            integer = false;
            i++;
            while (i < n) {
              const e = text.charCodeAt(i);
              if ((e >= 0x30 && e <= 0x39) || e === 0x2b || e === 0x2d) i++;
              else break;
            }
            break;
          }
          if (d === 0x2e) integer = false;
          i++;
        } else break;
      }
      const token = text.slice(start, i);
      if (digits > 15) {
        const v = Number(token);
        const unsafe =
          !Number.isFinite(v) ||
          (Number.isInteger(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER) ||
          digits > 17;
        if (unsafe)
          return {
            reason: 'unsafe-number',
            pointer: pointer(),
            detail: `the number ${token.length > 40 ? token.slice(0, 37) + '…' : token} cannot be represented exactly`,
          };
      } else if (!integer) {
        const v = Number(token);
        if (!Number.isFinite(v) || (Number.isInteger(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER))
          return {
            reason: 'unsafe-number',
            pointer: pointer(),
            detail: `the number ${token.length > 40 ? token.slice(0, 37) + '…' : token} cannot be represented exactly`,
          };
      }
      continue;
    }
    i++;
  }
  return undefined;
}
