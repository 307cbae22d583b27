import { describe, expect, it } from 'vitest';
import { findJsonHazard } from './json-guard.ts';

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
