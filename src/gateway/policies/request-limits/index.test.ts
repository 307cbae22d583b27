import { describe, expect, it } from 'vitest';
import { scanJson } from './index.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('scanJson', () => {
  it.each([
    ['{"a":[1,2,{"b":"[[[[[[[["}]}', 3, 100, true],
    ['[[[[1]]]]', 3, 100, false],
    ['[1,2,3,4,5]', 10, 4, false],
    ['{"a":"\\"[[[[[[["}', 2, 100, true],
    ['"just a string"', 1, 1, true],
  ])('%s depth≤%i elements≤%i → ok=%s', (text, depth, elements, ok) => {
    expect(scanJson(enc(text), depth, elements).ok).toBe(ok);
  });

  it('counts values exactly: an opening bracket and each comma is one, the limit itself passes', () => {
    const tooLarge = (n: number) => ({
      ok: false,
      code: 'json-too-large',
      detail: `JSON has more than ${n} values`,
    });
    expect(scanJson(enc('[1,2,3]'), 5, 3)).toEqual({ ok: true });
    expect(scanJson(enc('[1,2,3]'), 5, 2)).toEqual(tooLarge(2)); // at the second comma
    expect(scanJson(enc('[[[1]]]'), 5, 3)).toEqual({ ok: true });
    expect(scanJson(enc('[[[1]]]'), 5, 2)).toEqual(tooLarge(2)); // at the third bracket
    expect(scanJson(enc('{"a":{"b":1}}'), 5, 1)).toEqual(tooLarge(1));
  });

  it('tracks depth through both bracket kinds, closing as well as opening', () => {
    const tooDeep = (n: number) => ({
      ok: false,
      code: 'json-too-deep',
      detail: `JSON nesting exceeds ${n} levels`,
    });
    expect(scanJson(enc('{"a":{"b":{}}}'), 2, 100)).toEqual(tooDeep(2));
    expect(scanJson(enc('[[[]]]'), 2, 100)).toEqual(tooDeep(2));
    // Siblings do not add up: each closing bracket ends a level.
    expect(scanJson(enc('[[1],[2],[3],[4]]'), 2, 100)).toEqual({ ok: true });
    expect(scanJson(enc('{"a":{},"b":{},"c":{}}'), 2, 100)).toEqual({ ok: true });
  });

  it('ends a string at its closing quote, and only an escape skips the next byte', () => {
    // Brackets after a closed string count again.
    expect(scanJson(enc('["x",[[1]]]'), 2, 100)).toMatchObject({ ok: false, code: 'json-too-deep' });
    // An escaped backslash does not escape the quote after it: the string ends there.
    expect(scanJson(enc('["\\\\",[[1]]]'), 2, 100)).toMatchObject({ ok: false, code: 'json-too-deep' });
    // An escaped quote does not end the string: the brackets after it are text.
    expect(scanJson(enc('["\\"[[[[",1]'), 2, 100)).toEqual({ ok: true });
  });

  it('handles hostile nesting without recursion', () => {
    const hostile = enc('['.repeat(1_000_000));
    expect(scanJson(hostile, 64, 1e9)).toMatchObject({ ok: false, code: 'json-too-deep' });
  });
});
