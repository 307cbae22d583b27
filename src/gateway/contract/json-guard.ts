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
      while (i < n && isNumberChar(text.charCodeAt(i))) i++;
      const token = text.slice(start, i);
      if (unsafeNumber(token))
        return {
          reason: 'unsafe-number',
          pointer: pointer(),
          detail: `the number ${token.length > 40 ? token.slice(0, 37) + '…' : token} cannot be represented exactly`,
        };
      continue;
    }
    i++;
  }
  return undefined;
}

/** Characters of a JSON number token: digits, `-`, `+`, `.`, `e`, `E`. */
const isNumberChar = (d: number): boolean =>
  (d >= 0x30 && d <= 0x39) || d === 0x2d || d === 0x2b || d === 0x2e || d === 0x65 || d === 0x45;

/**
 * Whether a JSON number token holds a value no double holds exactly: more than 17
 * significant digits, an integer beyond 2^53 − 1, or overflow to Infinity (leading zeros
 * are not significant; digits of the exponent do not count).
 * @example
 * unsafeNumber('9007199254740993') // true
 * unsafeNumber('0.30000000000000004') // false (17 significant digits)
 */
export function unsafeNumber(token: string): boolean {
  let digits = 0;
  let leading = true;
  let integer = true;
  for (let i = 0; i < token.length; i++) {
    const d = token.charCodeAt(i);
    if (d >= 0x30 && d <= 0x39) {
      if (!(leading && d === 0x30)) {
        leading = false;
        digits++;
      }
    } else if (d === 0x2e) integer = false;
    else if (d === 0x65 || d === 0x45) {
      integer = false;
      break;
    }
  }
  if (digits <= 15 && integer) return false;
  if (digits > 17) return true;
  const v = Number(token);
  return !Number.isFinite(v) || (Number.isInteger(v) && Math.abs(v) > Number.MAX_SAFE_INTEGER);
}

const indexOf = Uint8Array.prototype.indexOf;
/** Bytes `start`–`end` as a string, one character per byte (number tokens are ASCII). */
export const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');

/** What one pass over JSON bytes finds, or the bound they break. */
export type JsonShape =
  | {
      ok: true;
      /** Member names in the text (its `:` outside strings); -1 when a string never ends. */
      members: number;
      /** True when every number in the text is one a double holds exactly. */
      exact: boolean;
    }
  | { ok: false; code: 'json-too-deep' | 'json-too-large'; detail: string };

/** The bound a JSON text breaks, as both scans (this lenient one and json-strict.ts) report it. */
export const tooDeep = (maxDepth: number): JsonShape => ({
  ok: false,
  code: 'json-too-deep',
  detail: `JSON nesting exceeds ${maxDepth} levels`,
});
export const tooLarge = (maxElements: number): JsonShape => ({
  ok: false,
  code: 'json-too-large',
  detail: `JSON has more than ${maxElements} values`,
});

/**
 * One pass over JSON bytes (well-formed or not: the parse that follows judges that),
 * skipping string contents with indexOf: nesting depth and the number of values bounded
 * (a hostile `[[[[…` stops at the bound, no recursion), member names counted and numbers
 * checked for exactness, for {@link provablySafeJson}. request-limits runs it before the
 * body is parsed; validate-request reuses its result.
 * @example
 * scanJsonShape(Buffer.from('{"a":[1,2]}')) // { ok: true, members: 1, exact: true }
 */
export function scanJsonShape(bytes: Uint8Array, maxDepth = Infinity, maxElements = Infinity): JsonShape {
  const n = bytes.length;
  let members = 0;
  let exact = true;
  let depth = 0;
  let elements = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === 0x22 /* " */) {
      // Skip to the closing quote: the next one not escaped by an odd run of backslashes.
      let j = indexOf.call(bytes, 0x22, i + 1);
      for (;;) {
        if (j < 0) break;
        let k = j - 1;
        while (bytes[k] === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = indexOf.call(bytes, 0x22, j + 1);
      }
      if (j < 0) {
        members = -1; // a string that never ends: not JSON, nothing to prove
        break;
      }
      i = j;
    } else if (c === 0x3a /* : */) members++;
    else if (c === 0x2c /* , */) {
      if (++elements > maxElements) return tooLarge(maxElements);
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return tooDeep(maxDepth);
      if (++elements > maxElements) return tooLarge(maxElements);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let exponent = false;
      while (i + 1 < n && isNumberChar(bytes[i + 1]!)) {
        i++;
        if (bytes[i] === 0x65 || bytes[i] === 0x45) exponent = true;
      }
      // Without an exponent, 15 characters hold at most 15 digits: always exact.
      if (exact && (exponent || i + 1 - start > 15) && unsafeNumber(latin1(bytes, start, i + 1)))
        exact = false;
    }
  }
  return { ok: true, members, exact };
}

/**
 * A cheap proof that JSON bytes hold no hazard, for the common case: true only when
 * {@link findJsonHazard} would find none in `bytes`, whose parse (JSON.parse of the same
 * bytes) is `value`; false means "look closer" (run findJsonHazard for the verdict and its
 * pointer). Instead of a set of names per object, it compares the member names the text
 * holds ({@link scanJsonShape}: its `:` outside strings) with the own keys of the parsed
 * value: JSON.parse keeps one key per distinct name, so any duplicate, in any object at any
 * depth, leaves the parsed value with fewer keys than the text (names with escapes
 * included: `"a\u0062"` and `"ab"` are one key once parsed). Prototype keys are looked for
 * in the parsed keys (escapes undone), numbers in the text. Iterative: no recursion on
 * client-controlled depth. `shape` is the bytes' scan when the caller has it already.
 * @example
 * const bytes = Buffer.from('{"role":"user","role":"admin"}');
 * provablySafeJson(bytes, JSON.parse(bytes.toString())) // false: 2 names in the text, 1 key parsed
 */
export function provablySafeJson(
  bytes: Uint8Array,
  value: unknown,
  opts: { allowKeys?: ReadonlySet<string> } = {},
  shape: JsonShape = scanJsonShape(bytes),
): boolean {
  return shape.ok && shape.exact && ownKeyCount(value, opts.allowKeys) === shape.members;
}

/** Own keys of every object in a parsed JSON value; -1 when one is a prototype key not allowed. */
function ownKeyCount(value: unknown, allowKeys: ReadonlySet<string> | undefined): number {
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (typeof item === 'object' && item !== null) stack.push(item);
      }
      continue;
    }
    const keys = Object.keys(v);
    count += keys.length;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (FORBIDDEN.has(k) && !allowKeys?.has(k)) return -1;
      const child = (v as Record<string, unknown>)[k];
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
  return count;
}
