import { describe, expect, it } from 'vitest';
import {
  classifySegment,
  mayKeepValue,
  parameterName,
  piiOfName,
  piiOfValue,
  singular,
  stringFormat,
} from './classify.ts';

describe('segment classes', () => {
  it.each([
    ['17', 'int'],
    ['3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'uuid'],
    ['2026-12-01', 'date'],
    ['9c1e4b7f20a3d5e6ab', 'hash'],
    ['aB3dE5fG7hJ9kL1mN', 'token'],
    ['visiting-hours.txt', 'file'],
    ['post-2024-recap', 'slug'],
    ['how-to-learn', 'slug'],
    ['insurance-claims', 'word'],
    ['export', 'word'],
    ['users', 'word'],
  ])('%s is %s', (seg, cls) => expect(classifySegment(seg)).toBe(cls));
});

describe('string formats and personal data', () => {
  it.each([
    ['alice@patients.example', 'email'],
    ['3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'uuid'],
    ['2026-12-01T10:00:00.000Z', 'date-time'],
    ['2026-12-01', 'date'],
    ['https://img.example/a.png', 'uri'],
    ['10.0.0.1', 'ipv4'],
    ['hello', undefined],
    ['999.1.1.1', undefined],
  ])('%s → %s', (s, f) => expect(stringFormat(s)).toBe(f));

  it('recognises personal data by value and by name, and keeps none of it as an enum candidate', () => {
    expect(piiOfValue('4111 1111 1111 1111')).toBe('card');
    expect(piiOfValue('4111 1111 1111 1112')).not.toBe('card');
    expect(piiOfValue('+1 555 0111')).toBe('phone');
    expect(piiOfValue('123-45-6789')).toBe('ssn');
    expect(piiOfName('password_hash')).toBe('secret');
    expect(piiOfName('fullName')).toBe('name');
    expect(piiOfName('dateOfBirth')).toBe('birth-date');
    expect(mayKeepValue('patient', 'role')).toBe(true);
    expect(mayKeepValue('alice@patients.example', 'contact')).toBe(false);
    expect(mayKeepValue('hunter2', 'password')).toBe(false);
    expect(mayKeepValue('Alice', 'fullName')).toBe(false);
    expect(mayKeepValue('ORD12345', 'ref')).toBe(false);
  });
});

describe('parameter names', () => {
  it('come from the preceding segment, singular, camelCase', () => {
    expect(parameterName('records')).toBe('recordId');
    expect(parameterName('categories')).toBe('categoryId');
    expect(parameterName('line-items')).toBe('lineItemId');
    expect(parameterName('addresses')).toBe('addressId');
    expect(parameterName(undefined)).toBe('id');
    expect(singular('status')).toBe('status');
  });
});
