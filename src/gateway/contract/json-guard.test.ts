import { describe, expect, it } from 'vitest';
import { findJsonHazard, provablySafeJson, unsafeNumber } from './json-guard.ts';

describe('findJsonHazard', () => {
  it.each([
    ['{"role":"user","role":"admin"}', 'duplicate-key', '/role'],
    ['{"a":{"b":1,"\\u0062":2}}', 'duplicate-key', '/a/b'],
    ['[{"x":1},{"y":{"__proto__":{"isAdmin":true}}}]', 'prototype-key', '/1/y/__proto__'],
    ['{"constructor":{"prototype":{}}}', 'prototype-key', '/constructor'],
    ['{"id":9007199254740993}', 'unsafe-number', '/id'],
    ['{"n":[1,2,-12345678901234567890]}', 'unsafe-number', '/n/2'],
    ['{"f":1e400}', 'unsafe-number', '/f'],
    ['{"f":0.12345678901234567891}', 'unsafe-number', '/f'],
  ])('%s → %s at %s', (text, reason, pointer) => {
    expect(findJsonHazard(text)).toMatchObject({ reason, pointer });
  });
  it.each([
    '{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}',
    '{"s":"\\"__proto__\\" is just text","n":9007199254740991,"x":1.5e10,"y":0.000001,"z":-0}',
    '["role","role"]',
    '{"k":"a,b:{\\"c\\"}"}',
  ])('accepts %s', (text) => {
    expect(findJsonHazard(text)).toBeUndefined();
  });
  it('many keys in one object (set path)', () => {
    const obj: Record<string, number> = {};
    for (let i = 0; i < 40; i++) obj['k' + i] = i;
    const text = JSON.stringify(obj);
    expect(findJsonHazard(text)).toBeUndefined();
    expect(findJsonHazard(text.slice(0, -1) + ',"k39":1}')).toMatchObject({
      reason: 'duplicate-key',
      pointer: '/k39',
    });
  });
});

describe('provablySafeJson (the fast path before findJsonHazard)', () => {
  const safe = (text: string, allowKeys?: ReadonlySet<string>): boolean =>
    provablySafeJson(Buffer.from(text), JSON.parse(text), allowKeys ? { allowKeys } : {});

  it.each([
    ['{"role":"user","role":"admin"}'],
    ['{"a":{"b":1,"\\u0062":2}}'],
    ['{"a\\u0062":1,"ab":2}'],
    ['[1,[2,{"x":{"y":[{"k":1,"k":2}]}}]]'],
    ['{"a":{"x":1,"y":2},"a":{"z":3}}'],
    ['{"a":[{"x":1}],"a":[{"x":1}]}'],
    ['{"s":"\\\\","s":1}'],
    ['{"s":"a\\"b:c","s":"\\\\\\""}'],
    ['[{"x":1},{"y":{"__proto__":{"isAdmin":true}}}]'],
    ['{"\\u005f_proto__":{}}'],
    ['{"constructor":{"prototype":{}}}'],
    ['{"id":9007199254740993}'],
    ['{"n":[1,2,-12345678901234567890]}'],
    ['{"f":1e400}'],
    ['{"f":1E400}'],
    ['{"f":2e20}'],
    ['{"f":0.12345678901234567891}'],
    ['[0.1000000000000000055511151231257827]'],
  ])('is not fooled by %s', (text) => {
    expect(findJsonHazard(text)).toBeDefined();
    expect(safe(text)).toBe(false);
  });

  it.each([
    '{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}',
    '{"s":"\\"__proto__\\" is just text","n":9007199254740991,"x":1.5e10,"y":0.000001,"z":-0}',
    '["role","role"]',
    '{"k":"a,b:{\\"c\\"}","k2":"\\\\","k3":"\\\\\\"x:y\\\\"}',
    '{"p":0.30000000000000004,"q":-123456789012345,"r":1e-300,"s":"Seán 🐝 ü:"}',
    ' { "a" : [ ] , "b" : { } , "c" : null , "d" : true } ',
    '42',
    '"just a string: with a colon"',
    '{"2":1,"1":{"b":2},"a":[{"10":1,"9":2}]}',
  ])('proves %s safe', (text) => {
    expect(findJsonHazard(text)).toBeUndefined();
    expect(safe(text)).toBe(true);
  });

  it('honours allowKeys like findJsonHazard', () => {
    const text = '{"constructor":1}';
    expect(safe(text)).toBe(false);
    expect(safe(text, new Set(['constructor']))).toBe(true);
    expect(findJsonHazard(text, { allowKeys: new Set(['constructor']) })).toBeUndefined();
  });

  it('agrees with findJsonHazard on generated documents (never proves a hazard safe)', () => {
    // A deterministic generator of JSON text with few distinct names (duplicates happen),
    // escaped names, prototype keys, nesting in objects and arrays, long and huge numbers.
    let seed = 12345;
    const rnd = (n: number): number => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const names = ['"a"', '"b"', '"a\\u0062"', '"ab"', '"\\"q"', '"x:y"', '"__proto__"', '"c\\\\"', '"é"'];
    const numbers = [
      '0',
      '-1',
      '3.5',
      '1e3',
      '2e20',
      '1e400',
      '9007199254740991',
      '9007199254740993',
      '0.30000000000000004',
      '0.123456789012345678',
    ];
    const gen = (depth: number): string => {
      const k = depth === 0 ? 3 + rnd(3) : rnd(depth > 3 ? 3 : 6);
      if (k === 0) return numbers[rnd(numbers.length)]!;
      if (k === 1) return ['"s"', '"a,b:{c}"', '"\\\\"', '"\\"}"', 'null', 'true'][rnd(6)]!;
      if (k === 2) return String(rnd(100));
      if (k === 3) return '[' + Array.from({ length: rnd(4) }, () => gen(depth + 1)).join(',') + ']';
      const members = Array.from({ length: rnd(4) }, () => `${names[rnd(names.length)]}:${gen(depth + 1)}`);
      return '{' + members.join(',') + '}';
    };
    let proved = 0;
    const hazards = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const text = gen(0);
      const hazard = findJsonHazard(text);
      if (hazard) hazards.set(hazard.reason, (hazards.get(hazard.reason) ?? 0) + 1);
      if (safe(text)) {
        proved++;
        expect(hazard, text).toBeUndefined();
      } else if (!hazard) {
        // Only a long number the exact check finds representable may send a safe text the slow way.
        expect(text, text).toMatch(/\d{16}|e/);
      }
    }
    // Both outcomes are exercised.
    expect(proved).toBeGreaterThan(300);
    for (const reason of ['duplicate-key', 'prototype-key', 'unsafe-number'])
      expect(hazards.get(reason) ?? 0, `${reason} ${JSON.stringify([...hazards])}`).toBeGreaterThan(100);
  });
});

describe('unsafeNumber', () => {
  it.each([
    ['9007199254740991', false],
    ['9007199254740992', true],
    ['-9007199254740993', true],
    ['0.30000000000000004', false],
    ['0.123456789012345678', true],
    ['000000000000000000001', false],
    ['1e308', true],
    ['1e400', true],
    ['1.5e10', false],
    ['123456789012345', false],
  ])('%s → %s', (token, unsafe) => {
    expect(unsafeNumber(token)).toBe(unsafe);
  });
});
