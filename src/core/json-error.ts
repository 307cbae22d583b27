/**
 * Where a JSON text first breaks the RFC 8259 grammar, for error answers that must not
 * quote the body. `JSON.parse`'s own messages do (`Unexpected token 'H', "{"password":
 * Hunter2"... is not valid JSON`): they echo a fragment of what was sent — a password,
 * say — and fingerprint the runtime. Problem `detail`s use `jsonSyntaxDetail` instead: a
 * fixed sentence and a line/column, nothing else (docs/errors.md, ASVS 16.5.1).
 *
 * Only called after `JSON.parse` has thrown, so the scan costs nothing on valid bodies.
 * Iterative (an explicit stack), so deeply nested input cannot overflow the call stack.
 */

const OBJECT = 1;
const ARRAY = 2;

// Scanner states.
const VALUE = 0; // a value must come
const FIRST_VALUE = 1; // a value or `]` (just after `[`)
const KEY = 2; // a member name must come
const FIRST_KEY = 3; // a member name or `}` (just after `{`)
const AFTER = 4; // a value ended: `,`, the closing bracket or the end of the text

/**
 * The index (UTF-16 code units) of the first character that breaks the JSON grammar,
 * `text.length` when the text ends early, or -1 when it is valid JSON.
 * @example
 * jsonSyntaxErrorAt('{"a":tru}') // 8
 */
export function jsonSyntaxErrorAt(text: string): number {
  const stack: number[] = [];
  const n = text.length;
  let state = VALUE;
  let i = 0;
  for (;;) {
    i = skipWhitespace(text, i);
    if (state === AFTER) {
      if (stack.length === 0) return i >= n ? -1 : i;
      if (i >= n) return n;
      const c = text.charCodeAt(i);
      const top = stack[stack.length - 1];
      if (c === 0x2c /* , */) {
        i++;
        state = top === OBJECT ? KEY : VALUE;
      } else if ((c === 0x5d /* ] */ && top === ARRAY) || (c === 0x7d /* } */ && top === OBJECT)) {
        stack.pop();
        i++;
      } else return i;
      continue;
    }
    if (i >= n) return n;
    const c = text.charCodeAt(i);
    if (state === KEY || state === FIRST_KEY) {
      if (c === 0x7d && state === FIRST_KEY) {
        stack.pop();
        i++;
        state = AFTER;
        continue;
      }
      if (c !== 0x22 /* " */) return i;
      const end = scanString(text, i);
      if (end < 0) return -end - 1;
      i = skipWhitespace(text, end);
      if (i >= n) return n;
      if (text.charCodeAt(i) !== 0x3a /* : */) return i;
      i++;
      state = VALUE;
      continue;
    }
    // VALUE or FIRST_VALUE
    if (c === 0x5d && state === FIRST_VALUE) {
      stack.pop();
      i++;
      state = AFTER;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push(OBJECT);
      i++;
      state = FIRST_KEY;
      continue;
    }
    if (c === 0x5b /* [ */) {
      stack.push(ARRAY);
      i++;
      state = FIRST_VALUE;
      continue;
    }
    const end = scanScalar(text, i, c);
    if (end < 0) return -end - 1;
    i = end;
    state = AFTER;
  }
}

/** Line and column (both from 1) of an index into `text`. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: index - lineStart + 1 };
}

/**
 * A problem `detail` for a body `JSON.parse` refused: a fixed sentence with the position,
 * never any of the body's characters.
 * @example
 * jsonSyntaxDetail('{"password":Hunter2}') // 'The body is not valid JSON (line 1, column 13)'
 */
export function jsonSyntaxDetail(text: string): string {
  const at = jsonSyntaxErrorAt(text);
  if (at < 0) return 'The body is not valid JSON';
  const { line, column } = lineColumn(text, at);
  return at >= text.length
    ? `The body is not valid JSON (it ends early, line ${line}, column ${column})`
    : `The body is not valid JSON (line ${line}, column ${column})`;
}

function skipWhitespace(s: string, i: number): number {
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
  }
  return i;
}

// The scanners return the index after the token, or -(error index) - 1.

function scanScalar(s: string, i: number, c: number): number {
  if (c === 0x22) return scanString(s, i);
  if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return scanNumber(s, i);
  if (c === 0x74 /* t */) return scanLiteral(s, i, 'true');
  if (c === 0x66 /* f */) return scanLiteral(s, i, 'false');
  if (c === 0x6e /* n */) return scanLiteral(s, i, 'null');
  return -i - 1;
}

function scanLiteral(s: string, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) {
    if (s.charCodeAt(i + k) !== word.charCodeAt(k)) return -(i + k) - 1;
  }
  return i + word.length;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function scanNumber(s: string, i: number): number {
  if (s.charCodeAt(i) === 0x2d) i++;
  if (s.charCodeAt(i) === 0x30) i++;
  else if (isDigit(s.charCodeAt(i))) while (isDigit(s.charCodeAt(i))) i++;
  else return -i - 1;
  if (s.charCodeAt(i) === 0x2e /* . */) {
    i++;
    if (!isDigit(s.charCodeAt(i))) return -i - 1;
    while (isDigit(s.charCodeAt(i))) i++;
  }
  const e = s.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    if (!isDigit(s.charCodeAt(i))) return -i - 1;
    while (isDigit(s.charCodeAt(i))) i++;
  }
  return i;
}

const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]); // " \ / b f n r t

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function scanString(s: string, i: number): number {
  i++; // the opening quote
  for (;;) {
    if (i >= s.length) return -s.length - 1;
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -i - 1; // control characters must be escaped
    if (c === 0x5c) {
      const e = s.charCodeAt(i + 1);
      if (ESCAPES.has(e)) i += 2;
      else if (e === 0x75 /* u */) {
        for (let k = 2; k < 6; k++) if (!isHex(s.charCodeAt(i + k))) return -(i + k) - 1;
        i += 6;
      } else return -(i + 1) - 1;
      continue;
    }
    i++;
  }
}
