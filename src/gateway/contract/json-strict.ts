/**
 * A well-formedness check of JSON bytes that builds nothing: the RFC 8259 grammar, strict
 * UTF-8, and {@link scanJsonShape}'s bounds and facts, in one pass without recursion.
 *
 * The default chain's request-limits must refuse a body that is not JSON where JSON is
 * declared, but most chains never read the value: decoding the bytes to a string and
 * JSON.parse building every object and array cost a POST more than the rest of the default
 * chain together (docs/performance.md, "The default chain on a JSON POST"). This check
 * reads each byte once and allocates nothing per value; a policy that needs the value still
 * gets it from the gateway's lazy `ctx.json()`, parsed once.
 *
 * Soundness is one-way by design: `ok: true` only for text JSON.parse accepts (after the
 * UTF-8 decoding the gateway does, which drops one leading byte order mark). `invalid` means
 * "not proven well-formed": the caller lets JSON.parse judge and word the error, so the
 * wording of the 400 stays the gateway's one sentence with a line and column.
 * json-strict.test.ts compares the verdict with JSON.parse on hand-written
 * edge cases and on ~100,000 mutated documents.
 */
import { isUtf8 } from 'node:buffer';
import { latin1, tooDeep, tooLarge, unsafeNumber, type JsonShape } from './json-guard.ts';

export type StrictJsonShape = JsonShape | { ok: false; code: 'invalid-json' };

const INVALID: StrictJsonShape = Object.freeze({ ok: false, code: 'invalid-json' });

/** Bytes after a backslash that JSON accepts: " \ / b f n r t (u is handled apart). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
/** Bytes that end a string's run of ordinary bytes: `"`, `\\` and the control characters. */
const STRING_STOP = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[0x22] = 1;
STRING_STOP[0x5c] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** "Not this": a helper's answer when the bytes at its position are not what it reads. */
// Stryker disable next-line UnaryOperator: +1 resumes the scan at byte 1, which is never a valid continuation in a text that reached a helper (after-value states take only `,` `]` `}`, and a text opening with `[]` or `{}` has ended there)
const NONE = -1;

// Reads past the end of a Uint8Array give `undefined`, which equals no byte and passes no
// table: the loops and helpers below stop at the end of the text without testing the index
// (a bound test there would be dead code, and a mutant the mutation run cannot kill).

/**
 * Index just past the string that starts at `i` (a `"`), or NONE when it is not a JSON string:
 * an unknown escape, a short `\u`, a raw control character (U+0000–U+001F) or no end.
 * Bytes of 0x80 and above are not judged here (the whole text's UTF-8 is checked once).
 */
function skipString(bytes: Uint8Array, i: number): number {
  let j = i + 1;
  for (;;) {
    // Ordinary bytes (most of any string) in a tight loop: one table load per byte.
    while (STRING_STOP[bytes[j]!] === 0) j++;
    const c = bytes[j];
    if (c === 0x22) return j + 1;
    if (c !== 0x5c) return NONE; // a raw control character, or the end of the text
    const e = bytes[j + 1]!;
    if (e === 0x75 /* u */) {
      if (!(HEX[bytes[j + 2]!]! & HEX[bytes[j + 3]!]! & HEX[bytes[j + 4]!]! & HEX[bytes[j + 5]!]!))
        return NONE;
      j += 6;
    } else if (SIMPLE_ESCAPE[e] === 1) j += 2;
    else return NONE;
  }
}

/** Index just past a member's name and its colon at `i` (whitespace allowed around the colon), or NONE. */
function memberName(bytes: Uint8Array, i: number): number {
  if (bytes[i] !== 0x22) return NONE;
  // NONE (-1) reads bytes[-1], undefined: no whitespace, no colon.
  let j = skipString(bytes, i);
  while (isWs(bytes[j]!)) j++;
  return bytes[j] === 0x3a /* : */ ? j + 1 : NONE;
}

/** Index just past the literal `word` at `i`, or NONE. */
function skipLiteral(bytes: Uint8Array, i: number, word: string): number {
  for (let k = 1; k < word.length; k++) if (bytes[i + k] !== word.charCodeAt(k)) return NONE;
  return i + word.length;
}

/**
 * One pass over JSON bytes: `ok: true` with {@link JsonShape}'s facts (member names, exact
 * numbers) only when the bytes are one well-formed JSON text in strict UTF-8; the bounds
 * (`json-too-deep`, `json-too-large`) counted as {@link scanJsonShape} counts them; otherwise
 * `invalid-json` (let JSON.parse judge and word it).
 * @example
 * scanJsonStrict(Buffer.from('{"a":[1,2]}')) // { ok: true, members: 1, exact: true }
 * scanJsonStrict(Buffer.from('{"a":[1,2,]}')) // { ok: false, code: 'invalid-json' }
 */
export function scanJsonStrict(
  bytes: Uint8Array,
  maxDepth = Infinity,
  maxElements = Infinity,
): StrictJsonShape {
  const n = bytes.length;
  let i = 0;
  // TextDecoder (the gateway's decoding before JSON.parse) drops one leading byte order mark.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  // Containers open: 1 = object, 2 = array. Grows by doubling up to the depth bound.
  // Stryker disable next-line MethodExpression,ArithmeticOperator: a starting capacity; the stack grows as needed
  let stack = new Uint8Array(Math.min(64, Number.isFinite(maxDepth) ? maxDepth + 1 : 64));
  let depth = 0;
  let elements = 0;
  let members = 0;
  let exact = true;

  // The grammar as two alternating states: expecting a value (after `[`, `,` in an array,
  // `:`, or at the start) and after a value (`,`, a closing bracket, or the end). One loop
  // with a state flag, not labelled loops (Stryker's instrumentation cannot keep labels).
  let wantValue = true;
  for (;;) {
    while (isWs(bytes[i]!)) i++;
    if (wantValue) {
      // The end of the text (undefined) is none of the bytes below: INVALID.
      const c = bytes[i]!;
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        if (++depth > maxDepth) return tooDeep(maxDepth);
        if (++elements > maxElements) return tooLarge(maxElements);
        // Stryker disable next-line EqualityOperator: growing one level early changes only the capacity
        if (depth > stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth - 1] = c === 0x5b ? 2 : 1;
        i++;
        while (isWs(bytes[i]!)) i++;
        if (bytes[i] === (c === 0x5b ? 0x5d : 0x7d)) {
          // An empty container is a complete value.
          depth--;
          i++;
          wantValue = false;
        } else if (c === 0x7b && (i = memberName(bytes, i)) === NONE) return INVALID;
        else if (c === 0x7b) members++;
        continue;
      }
      if (c === 0x22) {
        if ((i = skipString(bytes, i)) === NONE) return INVALID;
      } else if (c === 0x2d /* - */ || isDigit(c)) {
        const start = i;
        if (c === 0x2d) {
          i++;
          if (!isDigit(bytes[i]!)) return INVALID;
        }
        if (bytes[i] === 0x30) i++;
        else while (isDigit(bytes[i]!)) i++;
        if (bytes[i] === 0x2e /* . */) {
          i++;
          if (!isDigit(bytes[i]!)) return INVALID;
          while (isDigit(bytes[i]!)) i++;
        }
        // Stryker disable next-line BooleanLiteral: `true` only calls the exact check (unsafeNumber) for every number
        let exponent = false;
        if (bytes[i] === 0x65 || bytes[i] === 0x45) {
          exponent = true;
          i++;
          if (bytes[i] === 0x2b || bytes[i] === 0x2d) i++;
          if (!isDigit(bytes[i]!)) return INVALID;
          while (isDigit(bytes[i]!)) i++;
        }
        // One inexact number makes the text inexact: no more checks after it. Without an
        // exponent, 15 characters hold at most 15 digits: always exact.
        if (exact)
          // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: the guard is a fast path; unsafeNumber alone is exact for every token
          exact = !((exponent || i - start > 15) && unsafeNumber(latin1(bytes, start, i)));
      } else if (c === 0x74 /* t */) {
        if ((i = skipLiteral(bytes, i, 'true')) === NONE) return INVALID;
      } else if (c === 0x66 /* f */) {
        if ((i = skipLiteral(bytes, i, 'false')) === NONE) return INVALID;
      } else if (c === 0x6e /* n */) {
        if ((i = skipLiteral(bytes, i, 'null')) === NONE) return INVALID;
      } else return INVALID;
      wantValue = false;
      continue;
    }
    // After a value: a comma, a closing bracket, or (outside every container) the end.
    if (depth === 0) {
      if (i !== n) return INVALID;
      // Bytes of 0x80 and above only occur inside strings; their UTF-8 is checked once, natively.
      if (!isUtf8(bytes)) return INVALID;
      return { ok: true, members, exact };
    }
    // The end of the text inside a container (undefined) is none of `,` `}` `]`: INVALID.
    const c = bytes[i]!;
    const top = stack[depth - 1];
    if (c === 0x2c /* , */) {
      if (++elements > maxElements) return tooLarge(maxElements);
      i++;
      if (top === 1) {
        while (isWs(bytes[i]!)) i++;
        if ((i = memberName(bytes, i)) === NONE) return INVALID;
        members++;
      }
      wantValue = true;
    } else if ((c === 0x7d && top === 1) || (c === 0x5d && top === 2)) {
      depth--;
      i++;
    } else return INVALID;
  }
}
