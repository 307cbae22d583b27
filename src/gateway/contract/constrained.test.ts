import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../../core/openapi.ts';
import { compileConstrained, isTokenPattern } from './constrained.ts';

describe('isTokenPattern', () => {
  it.each([
    '^SKU-[0-9]{5}$',
    '^[a-z0-9_]{3,32}$',
    '^[A-Z]{2}\\d{2}[A-Z0-9]+$',
    '^v\\d+\\.\\d+\\.\\d+$',
    '^\\w+:\\w+$',
    '^[a-f0-9]{8}-[a-f0-9]{4}$',
    '^ab?c*d+?$',
  ])('%s admits only word characters with single separators', (p) => {
    expect(isTokenPattern(p)).toBe(true);
  });

  it.each([
    ['^[a-z ]+$', 'a space'],
    ['^[0-9-]+$', "a '-' in a class makes '--'"],
    ['^[a-z]+-+$', 'a quantified separator'],
    ['^a--b$', 'two separators in a row'],
    ['^a-\\.b$', 'two separators in a row (escaped)'],
    ['^.+$', 'any character'],
    ['^[^<>]+$', 'a negated class'],
    ['^(a|b)$', 'alternation and groups'],
    ['^a|b$', 'alternation'],
    ['^\\s+$', 'whitespace'],
    ['^\\S+$', 'any non-space'],
    ['[a-z]+', 'not anchored'],
    ['^[a-z]+', 'not anchored at the end'],
    ['^[a-z]+\\$', 'an escaped dollar is no anchor'],
    ['^$', 'no atom'],
    ['^[]$', 'an empty class'],
    ['^[a-z$', 'an unclosed class'],
    ['^a{1,x}$', 'a malformed quantifier'],
    ["^[a-z']+$", 'a quote'],
    ['^[a-z\\/]+$', 'a slash'],
    ['^\\u0027$', 'an escape of another kind'],
  ])('%s is free text (%s)', (p) => {
    expect(isTokenPattern(p)).toBe(false);
  });
});

describe('compileConstrained', () => {
  it('marks enum, const, safe formats and token patterns; free text stays unmarked', () => {
    const node = compileConstrained({
      type: 'object',
      properties: {
        currency: { type: 'string', enum: ['EUR', 'USD'] },
        kind: { const: 'order' },
        at: { type: 'string', format: 'date-time' },
        id: { type: 'string', format: 'uuid' },
        sku: { type: 'string', pattern: '^SKU-[0-9]{5}$' },
        email: { type: 'string', format: 'email' },
        note: { type: 'string', maxLength: 20 },
        free: { type: 'string', pattern: '^.{1,20}$' },
        lines: { type: 'array', items: { type: 'object', properties: { sku: { pattern: '^[A-Z]+$' } } } },
      },
    } as JsonSchema)!;
    const marked = (k: string) => node.props!.get(k)!.string;
    expect(['currency', 'kind', 'at', 'id', 'sku'].map(marked)).toEqual([true, true, true, true, true]);
    expect(['email', 'note', 'free'].map(marked)).toEqual([false, false, false]);
    expect(node.string).toBe(false);
    expect(node.props!.get('lines')!.items!.props!.get('sku')!.string).toBe(true);
  });

  it('allOf: any member constrains; oneOf/anyOf: only when every branch does', () => {
    const node = compileConstrained({
      allOf: [
        { type: 'object', properties: { a: { type: 'string' }, b: { enum: ['x'] } } },
        { properties: { a: { format: 'uuid' } } },
      ],
      properties: {
        c: { oneOf: [{ enum: ['x'] }, { format: 'date' }] },
        d: { anyOf: [{ enum: ['x'] }, { type: 'string' }] },
      },
    } as JsonSchema)!;
    expect(node.props!.get('a')!.string).toBe(true);
    expect(node.props!.get('b')!.string).toBe(true);
    expect(node.props!.get('c')!.string).toBe(true);
    expect(node.props!.get('d')!.string).toBe(false);
  });

  it('terminates on recursive schemas (shared objects, as the loader resolves $ref cycles)', () => {
    const tree: Record<string, unknown> = { type: 'object', properties: { name: { enum: ['leaf'] } } };
    (tree.properties as Record<string, unknown>).children = { type: 'array', items: tree };
    tree.allOf = [tree, { properties: { children: { type: 'array', items: tree } } }];
    const node = compileConstrained(tree as JsonSchema)!;
    expect(node.props!.get('children')!.items).toBeDefined();
    expect(node.props!.get('name')!.string).toBe(true);
  });

  it('no schema, or a boolean schema: nothing is constrained', () => {
    expect(compileConstrained(undefined)).toBeUndefined();
    expect(compileConstrained(true as unknown as JsonSchema)).toBeUndefined();
  });
});
