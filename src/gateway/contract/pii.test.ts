import { describe, expect, it } from 'vitest';
import { compileMasker, ibanValid, luhn, maskString, PII_KINDS, type PiiKind } from './pii.ts';

const all = new Set<PiiKind>(PII_KINDS);

describe('PII maskers', () => {
  it.each([
    ['card 4111 1111 1111 1111 on file', 'card **** **** **** 1111 on file'],
    ['card 4111-1111-1111-1112 fails Luhn', 'card 4111-1111-1111-1112 fails Luhn'],
    ['IBAN IE29 AIBK 9311 5212 3456 78', 'IBAN IE** **** **** **** **56 78'],
    ['ssn 900-00-0001', 'ssn ***-**-**01'],
    ['NINO AB123456C', 'NINO *******6C'],
    ['call +1-555-0177', 'call +*-***-**77'],
    ['mail bob@patients.example', 'mail b***@patients.example'],
    ['key AKIAIOSFODNN7EXAMPLE', 'key [redacted]'],
    ['hash 5f4dcc3b5aa765d61d8327deb882cf99', 'hash [redacted]'],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk', 'jwt [redacted]'],
    ['Room 12, 3 visitors, 2026-03-01', 'Room 12, 3 visitors, 2026-03-01'],
  ])('%s → %s', (input, expected) => {
    expect(maskString(input, all)).toBe(expected);
  });
  it('only the kinds asked for', () => {
    expect(maskString('bob@x.example 4111111111111111', new Set(['card']))).toBe(
      'bob@x.example ************1111',
    );
  });
  it('luhn and mod-97', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('4111111111111112')).toBe(false);
    expect(ibanValid('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(ibanValid('GB82 WEST 1234 5698 7654 33')).toBe(false);
  });
  it('walks the schema and unmasks properties visible to the caller’s role', () => {
    const schema = {
      type: 'object',
      properties: {
        notes: { type: 'string' },
        phone: { type: 'string', 'x-rampart': { visibleTo: ['doctor'] } },
        items: { type: 'array', items: { type: 'object', properties: { card: { type: 'string' } } } },
      },
    };
    const mask = compileMasker(schema, new Set(['phone', 'card']))!;
    const value = () => ({
      notes: 'ring +1-555-0100',
      phone: '+1-555-0100',
      items: [{ card: '4111111111111111' }],
    });
    expect(mask(value(), ['patient'])).toEqual({
      notes: 'ring +*-***-**00',
      phone: '+*-***-**00',
      items: [{ card: '************1111' }],
    });
    expect((mask(value(), ['doctor']) as { phone: string }).phone).toBe('+1-555-0100');
    expect(compileMasker(schema, new Set())).toBeUndefined();
  });
});
