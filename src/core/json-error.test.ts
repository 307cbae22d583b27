import { describe, expect, it } from 'vitest';
import { jsonSyntaxDetail, jsonSyntaxErrorAt, lineColumn } from './json-error.ts';

describe('jsonSyntaxErrorAt', () => {
  it('finds the first offending character (table)', () => {
    const cases: Array<[string, number]> = [
      ['{"password":Hunter2-MySecret}', 12],
      ['{"a":tru}', 8],
      ['{"a":1,}', 7],
      ['[1,2', 4],
      ['', 0],
      ['   ', 3],
      ['01', 1],
      ['-', 1],
      ['1.', 2],
      ['1e+', 3],
      ['{"a" 1}', 5],
      ['{a:1}', 1],
      ['"a\\x"', 3],
      ['"\\u12g4"', 5],
      ['"tab\there"', 4],
      ['"unterminated', 13],
      ['[1] x', 4],
      ['[}', 1],
      ['{]', 1],
      ['\uFEFF{}', 0],
    ];
    for (const [text, at] of cases) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(jsonSyntaxErrorAt(text), text).toBe(at);
    }
  });

  it('says -1 for everything JSON.parse accepts', () => {
    for (const text of [
      '{}',
      '[]',
      ' { "a" : [ 1 , -0.5e-3 , true , false , null , "x\\n\\u00e9\\"" ] } ',
      '"é😀"',
      '0',
      '[[[[[]]]]]',
      '{"a":{"b":{}}}',
    ]) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(jsonSyntaxErrorAt(text), text).toBe(-1);
    }
  });

  it('does not overflow the stack on deep nesting', () => {
    const deep = '['.repeat(200_000);
    expect(jsonSyntaxErrorAt(deep)).toBe(200_000);
  });
});

describe('jsonSyntaxDetail', () => {
  it('is a fixed sentence with a line and column, never the body', () => {
    const body = '{"password":Hunter2-MySecret}';
    const detail = jsonSyntaxDetail(body);
    expect(detail).toBe('The body is not valid JSON (line 1, column 13)');
    expect(detail).not.toMatch(/Hunter|Secret|Unexpected|token/);
    expect(jsonSyntaxDetail('{\n  "a": 1,\n  "b": x\n}')).toBe(
      'The body is not valid JSON (line 3, column 8)',
    );
    expect(jsonSyntaxDetail('{"a":')).toBe('The body is not valid JSON (it ends early, line 1, column 6)');
    expect(lineColumn('a\nbc', 3)).toEqual({ line: 2, column: 2 });
  });
});
