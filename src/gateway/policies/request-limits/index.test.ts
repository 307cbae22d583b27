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

  it('handles hostile nesting without recursion', () => {
    const hostile = enc('['.repeat(1_000_000));
    expect(scanJson(hostile, 64, 1e9)).toMatchObject({ ok: false, code: 'json-too-deep' });
  });
});
