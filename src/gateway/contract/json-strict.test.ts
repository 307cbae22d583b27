import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../body.ts';
import { scanJsonShape } from './json-guard.ts';
import { scanJsonStrict } from './json-strict.ts';

/** The gateway's own judge: strict UTF-8 decoding (one BOM dropped), then JSON.parse. */
function parses(bytes: Uint8Array): boolean {
  try {
    parseJsonBody(Buffer.from(bytes));
    return true;
  } catch {
    return false;
  }
}

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('scanJsonStrict', () => {
  it.each([
    '{}',
    '[]',
    ' \t\r\n{ "a" : [ 1 , -0.5e+3 , true , false , null , "x" ] } \n',
    '"only a string"',
    '0',
    '-0',
    '1E9',
    '1e-9',
    '"\\u00e9\\uD83D\\uDE00\\"\\\\\\/\\b\\f\\n\\r\\t"',
    '"\\uD800"', // a lone surrogate escape: JSON.parse accepts it
    '{"é":"ü","日本":"語"}',
    '\uFEFF{"bom":1}', // TextDecoder drops one leading BOM
    '[[[[[]]]]]',
    '{"a":{"b":{"c":{}}}}',
    '"¿"', // its third byte is 0xBF, as a byte order mark's is: not a BOM
    '"\uFEFF"', // a BOM written as an escape, inside a string
  ])('accepts valid text #%# as JSON.parse does', (text) => {
    // (Numbered titles: the mutation run selects tests by title, and a title holding the
    // text's quotes and backslashes selected none.)
    expect(parses(enc(text)), text).toBe(true);
    expect(scanJsonStrict(enc(text)), text).toMatchObject({ ok: true });
  });

  it.each([
    '',
    ' ',
    '{',
    '}',
    '[1,]',
    '[,1]',
    '{"a":1,}',
    '{,"a":1}',
    '{"a" 1}',
    '{"a":}',
    '{a:1}',
    "{'a':1}",
    '[1 2]',
    '{"a":1 "b":2}',
    '[01]',
    '[-]',
    '[-01]',
    '[1.]',
    '[.5]',
    '[1e]',
    '[1e+]',
    '[+1]',
    '[0x10]',
    '[NaN]',
    '[Infinity]',
    '[tru]',
    '[nul]',
    '[True]',
    '["\\x41"]',
    '["\\u12"]',
    '["\\u12G4"]',
    '["a\tb"]', // a raw tab inside a string
    '["a\nb"]',
    '["\u0000"]',
    '"unterminated',
    '"\\',
    '{} {}',
    '[] x',
    '[]]',
    '[}',
    '{]',
    '\uFEFF\uFEFF{}', // only one BOM is dropped
    '/* c */ {}',
  ])('refuses invalid text #%# as JSON.parse does', (text) => {
    expect(parses(enc(text)), text).toBe(false);
    expect(scanJsonStrict(enc(text)), text).toEqual({ ok: false, code: 'invalid-json' });
  });

  it('refuses invalid UTF-8 inside and outside strings, as the strict decoder does', () => {
    for (const bytes of [
      [0x22, 0xff, 0x22], // 0xff is never UTF-8
      [0x22, 0xc3, 0x22], // a truncated two-byte sequence
      [0x22, 0xc0, 0xaf, 0x22], // an overlong '/'
      [0x22, 0xed, 0xa0, 0x80, 0x22], // an encoded surrogate (CESU-8)
      [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], // beyond U+10FFFF
      [0x5b, 0xc3, 0xa9, 0x5d], // valid UTF-8, but not inside a string
      [0xef, 0xbb, 0x80, 0x5b, 0x5d], // U+FEC0 before '[]': a 3-byte character, not the BOM
      [0xef, 0x41, 0xbf, 0x5b, 0x5d], // a BOM's first and last byte around another
    ]) {
      const b = Uint8Array.from(bytes);
      expect(parses(b)).toBe(false);
      expect(scanJsonStrict(b)).toEqual({ ok: false, code: 'invalid-json' });
    }
  });

  it('drops exactly one leading byte order mark, and nothing that only looks like one', () => {
    const scan = (bytes: number[]) => scanJsonStrict(Uint8Array.from(bytes)).ok;
    expect(scan([0xef, 0xbb, 0xbf, 0x5b, 0x5d])).toBe(true); // BOM + []
    expect(scan([0x22, 0xc2, 0xbf, 0x22])).toBe(true); // "¿": a third byte of 0xBF is not a BOM
    expect(scan([0xef, 0xbf, 0xbf, 0x5b, 0x5d])).toBe(false); // U+FFFF before []: not a BOM
    expect(scan([0xef, 0xbb, 0x80, 0x5b, 0x5d])).toBe(false); // U+FEC0 before []: not a BOM
    expect(scan([0xe1, 0xbb, 0xbf, 0x5b, 0x5d])).toBe(false); // U+1EFF before []: a BOM's last two bytes only
  });

  it('tells exact numbers from those no double holds', () => {
    expect(scanJsonStrict(enc('[1,2.5,-3e2,0.30000000000000004]'))).toEqual({
      ok: true,
      members: 0,
      exact: true,
    });
    expect(scanJsonStrict(enc('{"n":9007199254740993}'))).toEqual({ ok: true, members: 1, exact: false });
    expect(scanJsonStrict(enc('[1e400]'))).toEqual({ ok: true, members: 0, exact: false });
    // An exact number after an inexact one does not make the text exact again.
    expect(scanJsonStrict(enc('[9007199254740993,1,2.5e1]'))).toEqual({ ok: true, members: 0, exact: false });
  });

  it('counts bounds, member names and exact numbers as scanJsonShape does', () => {
    const cases: Array<[string, number, number]> = [
      ['{"a":[1,2,{"b":3}],"c":"x:y,z{["}', 32, 10_000],
      ['[1,2,3]', 5, 2],
      ['[1,2,3]', 5, 3], // exactly at the bound: allowed
      ['{"a":{"b":1},"c":2}', 5, 3], // the comma between members counts, as between items
      ['[[[]]]', 3, 100], // exactly at the depth bound: allowed
      ['[[[1]]]', 5, 3], // three opening brackets, three values: at the bound, allowed
      ['[[[1]]]', 5, 2],
      ['{"a":{"b":1}}', 5, 1],
      ['{"a":{"b":{}}}', 2, 100],
      ['[[[]]]', 2, 100],
      ['[[1],[2],[3],[4]]', 2, 100],
      ['["\\"[[[[",1]', 2, 100],
      ['{"n":9007199254740993}', 32, 100],
      ['{"n":1e400}', 32, 100],
      ['{"n":0.30000000000000004}', 32, 100],
    ];
    for (const [text, depth, elements] of cases)
      expect(scanJsonStrict(enc(text), depth, elements), text).toEqual(
        scanJsonShape(enc(text), depth, elements),
      );
  });

  it('stops hostile nesting at the depth bound without recursion', () => {
    expect(scanJsonStrict(enc('['.repeat(1_000_000)), 64, 1e9)).toMatchObject({
      ok: false,
      code: 'json-too-deep',
    });
    // With no bound, the container stack grows instead of overflowing.
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    expect(scanJsonStrict(enc(deep))).toEqual({ ok: true, members: 0, exact: true });
  });

  // 100,000 in the suite; 10,000 per mutant in the mutation run (scripts/mutation.ts), which
  // runs this file once for each of the scanner's ~430 mutants.
  const DOCUMENTS = process.env.RAMPART_MUTATION_TESTS ? 10_000 : 100_000;
  it(`agrees with JSON.parse on ${DOCUMENTS.toLocaleString('en')} mutated documents`, () => {
    // A seeded generator (xorshift32): the same documents every run, so a failure reproduces.
    let seed = 0x9e3779b9;
    const rand = (): number => {
      seed ^= seed << 13;
      seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      seed >>>= 0;
      return seed / 0x100000000;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const atoms = [
      '0',
      '-1',
      '1.5',
      '2e10',
      '-0.0E-7',
      'true',
      'false',
      'null',
      '"s"',
      '"é\\n"',
      '""',
      '"\\u0041"',
    ];
    const gen = (d: number): string => {
      const r = rand();
      if (d > 4 || r < 0.4) return pick(atoms);
      const n = Math.floor(rand() * 4);
      if (r < 0.7) return '[' + Array.from({ length: n }, () => gen(d + 1)).join(',') + ']';
      return '{' + Array.from({ length: n }, (_, k) => `"k${k}":${gen(d + 1)}`).join(',') + '}';
    };
    // Single-byte edits that hit the grammar's edges: structure, escapes, number parts, whitespace, UTF-8.
    const alphabet = [...'{}[],:"\\/ \t\n\r0123456789-+.eEtrufalsnxu'].map((c) => c.charCodeAt(0));
    alphabet.push(0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xa9, 0xff, 0xef, 0xbb, 0xbf);
    let disagreements = 0;
    let accepted = 0;
    for (let t = 0; t < DOCUMENTS; t++) {
      const bytes = [...enc(gen(0))];
      const edits = Math.floor(rand() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (bytes.length + 1));
        const op = rand();
        if (op < 0.4) bytes.splice(at, 1);
        else if (op < 0.7) bytes.splice(at, 0, pick(alphabet));
        else bytes[Math.min(at, bytes.length - 1)] = pick(alphabet);
      }
      const b = Uint8Array.from(bytes);
      const judged = parses(b);
      const strict = scanJsonStrict(b);
      const scanned = strict.ok;
      if (scanned) {
        accepted++;
        // Same facts as the lenient scan for every text it accepts (validate-request relies on them).
        if (JSON.stringify(strict) !== JSON.stringify(scanJsonShape(b))) disagreements++;
      }
      if (judged !== scanned) {
        disagreements++;
        if (disagreements <= 5)
          expect.soft({ text: Buffer.from(b).toString('latin1'), judged, scanned }).toBeNull();
      }
    }
    expect(disagreements).toBe(0);
    // The corpus exercises both verdicts.
    expect(accepted).toBeGreaterThan(DOCUMENTS * 0.2);
    expect(accepted).toBeLessThan(DOCUMENTS * 0.9);
  });
});
