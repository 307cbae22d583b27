import { describe, expect, it } from 'vitest';
import type { JsonSchema } from '../../core/openapi.ts';
import { compileSchema, compileValidators, toJsonSchema } from './schema.ts';

describe('toJsonSchema: OpenAPI 3.0 → 2020-12', () => {
  it('nullable adds null to the type and to an enum', () => {
    const { schema } = toJsonSchema({ type: 'string', enum: ['a'], nullable: true }, { dialect: '3.0' });
    expect(schema).toEqual({ type: ['string', 'null'], enum: ['a', null] });
  });
  it('boolean exclusiveMinimum/Maximum become numeric bounds', () => {
    const c = compileSchema(
      { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: true },
      { dialect: '3.0' },
    );
    expect(c.check(0, '')).toMatchObject([{ keyword: 'exclusiveMinimum' }]);
    expect(c.check(10, '')).toMatchObject([{ keyword: 'exclusiveMaximum' }]);
    expect(c.check(5, '')).toEqual([]);
  });
  it('reports 3.1-only and unknown keywords with their pointer', () => {
    const c = compileSchema({ type: ['string', 'null'], frobnicate: 1 } as never, {
      dialect: '3.0',
      pointer: '/components/schemas/X',
    });
    expect(c.issues.map((i) => [i.pointer, i.keyword])).toEqual([
      ['/components/schemas/X/frobnicate', 'frobnicate'],
      ['/components/schemas/X/type', 'type'],
    ]);
  });
  it('reports nullable in 3.1, boolean exclusiveMinimum in 3.1, invalid patterns and types', () => {
    const c = compileSchema(
      {
        type: 'object',
        properties: {
          a: { type: 'string', nullable: true },
          b: { type: 'integer', minimum: 1, exclusiveMinimum: true },
          c: { type: 'string', pattern: '(' },
          d: { type: 'strng' },
        },
      },
      { dialect: '3.1' },
    );
    expect(c.issues.map((i) => `${i.pointer} ${i.keyword}`)).toEqual([
      '/properties/a/nullable nullable',
      '/properties/b/exclusiveMinimum exclusiveMinimum',
      '/properties/c/pattern pattern',
      '/properties/d/type type',
    ]);
  });
  it('turns $ref cycles (shared objects) into $defs', () => {
    const node: Record<string, unknown> = { type: 'object', properties: { name: { type: 'string' } } };
    (node.properties as Record<string, unknown>).child = node;
    const c = compileSchema(node, { dialect: '3.1', closeObjects: true });
    expect(c.issues).toEqual([]);
    expect(c.check({ name: 'a', child: { name: 'b', child: { name: 3 } } }, '/body')).toEqual([
      { pointer: '/body/child/child/name', keyword: 'type', detail: 'must be string' },
    ]);
  });
});

describe('compileSchema: request bodies are closed', () => {
  const user = {
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string', maxLength: 5 },
      tags: { type: 'array', maxItems: 2, items: { type: 'string' } },
    },
  };
  it('an omitted additionalProperties counts as false (mass assignment)', () => {
    const c = compileSchema(user, { dialect: '3.1', closeObjects: true });
    expect(c.check({ name: 'ann', role: 'admin' }, '/body')).toEqual([
      { pointer: '/body/role', keyword: 'unevaluatedProperties', detail: 'is not a declared property' },
    ]);
  });
  it('stays open when not closing, or when the schema says additionalProperties: true', () => {
    expect(compileSchema(user, { dialect: '3.1' }).check({ name: 'ann', role: 'x' }, '')).toEqual([]);
    const open = compileSchema(
      { ...user, additionalProperties: true },
      { dialect: '3.1', closeObjects: true },
    );
    expect(open.check({ name: 'ann', role: 'x' }, '')).toEqual([]);
  });
  it('allOf members are closed as a whole, not each on its own', () => {
    const c = compileSchema(
      {
        allOf: [
          { type: 'object', properties: { a: { type: 'integer' } } },
          { type: 'object', properties: { b: { type: 'string' } } },
        ],
      },
      { dialect: '3.0', closeObjects: true },
    );
    expect(c.check({ a: 1, b: 'x' }, '')).toEqual([]);
    expect(c.check({ a: 1, b: 'x', c: true }, '')).toMatchObject([{ pointer: '/c' }]);
  });
  it('lists every violation with its pointer (bounds, maxItems, required)', () => {
    const c = compileSchema(user, { dialect: '3.1', closeObjects: true });
    expect(c.check({ tags: ['a', 'b', 'c'] }, '/body').map((v) => `${v.pointer} ${v.keyword}`)).toEqual([
      '/body/name required',
      '/body/tags maxItems',
    ]);
    expect(c.check({ name: 'toolong' }, '/body')).toMatchObject([
      { pointer: '/body/name', keyword: 'maxLength' },
    ]);
  });
  it('formats are checked (ajv-formats)', () => {
    const c = compileSchema({ type: 'string', format: 'email' }, { dialect: '3.1' });
    expect(c.check('a'.repeat(26) + '!', '')).toMatchObject([{ keyword: 'format' }]);
    expect(c.check('ann@example.com', '')).toEqual([]);
  });
});

describe('compileSchema: responses can be opened', () => {
  it('ignores additionalProperties: false so extra fields are minimised, not rejected', () => {
    const s = { type: 'object', additionalProperties: false, properties: { id: { type: 'integer' } } };
    const c = compileSchema(s, { dialect: '3.1', openObjects: true });
    expect(c.check({ id: 1, passwordHash: 'x' }, '')).toEqual([]);
    expect(c.check({ id: 'x' }, '')).toMatchObject([{ keyword: 'type' }]);
  });
});

describe('the first-error validator (every request) and the all-errors one (refusals)', () => {
  // Keywords whose evaluation ajv short-cuts without allErrors (combinators, unevaluated*,
  // contains, conditionals, recursion): both validators must decide alike on every value.
  const tree: Record<string, unknown> = {
    type: 'object',
    required: ['v'],
    properties: { v: { type: 'integer' }, kids: { type: 'array', items: {} } },
  };
  (tree.properties as Record<string, unknown>).kids = { type: 'array', items: tree };
  const schemas: Array<[string, JsonSchema]> = [
    [
      'closed allOf',
      {
        allOf: [
          { type: 'object', properties: { a: { type: 'string' } } },
          { properties: { b: { type: 'integer', minimum: 1 } } },
        ],
      },
    ],
    [
      'oneOf',
      {
        oneOf: [
          { type: 'object', required: ['a'] },
          { type: 'object', required: ['b'] },
          { type: 'string', maxLength: 3 },
        ],
      },
    ],
    [
      'anyOf + unevaluated',
      {
        type: 'object',
        anyOf: [{ properties: { a: { type: 'string' } } }, { properties: { b: { type: 'number' } } }],
      },
    ],
    [
      'not / if-then-else',
      {
        if: { type: 'object', required: ['a'] },
        then: { properties: { b: { type: 'string' } }, required: ['b'] },
        else: { not: { type: 'array' } },
      },
    ],
    [
      'contains',
      {
        type: 'array',
        contains: { type: 'integer', minimum: 5 },
        minContains: 2,
        maxContains: 3,
        uniqueItems: true,
      },
    ],
    [
      'patterns and dependents',
      {
        type: 'object',
        patternProperties: { '^x-': { type: 'string' } },
        additionalProperties: { type: 'integer' },
        dependentRequired: { a: ['b'] },
        propertyNames: { maxLength: 4 },
      },
    ],
    [
      'formats',
      {
        type: 'object',
        properties: {
          e: { type: 'string', format: 'email' },
          d: { type: 'string', format: 'date-time' },
          u: { type: 'string', format: 'uuid' },
        },
      },
    ],
    ['recursive', tree as JsonSchema],
    [
      'enum const multipleOf',
      { type: ['number', 'string', 'null'], enum: [1, 2.5, 'a', null, 10], multipleOf: 0.5 },
    ],
  ];
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const atoms = [
    0,
    1,
    2.5,
    5,
    6,
    7,
    10,
    -3,
    'a',
    'abcd',
    'x@y.example',
    '2026-12-02T03:00:00Z',
    '6f1c2e9a-8b7d-4c3e-9f0a-1b2c3d4e5f60',
    null,
    true,
  ];
  const names = ['a', 'b', 'v', 'kids', 'x-k', 'e', 'd', 'u', 'long-name'];
  const value = (depth: number): unknown => {
    const k = rnd(depth > 2 ? 2 : 4);
    if (k < 2) return atoms[rnd(atoms.length)];
    if (k === 2) return Array.from({ length: rnd(5) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: rnd(4) }, () => [names[rnd(names.length)], value(depth + 1)]),
    );
  };
  it.each(schemas)('%s: both validators decide alike', (_name, input) => {
    for (const mode of [{ closeObjects: true }, { openObjects: true }, {}]) {
      const { schema, issues } = toJsonSchema(input, { dialect: '3.1', ...mode });
      const { first, full } = compileValidators(schema, [...issues], '');
      let valid = 0;
      let invalid = 0;
      for (let i = 0; i < 600; i++) {
        const v = value(0);
        const a = first(v);
        expect(a, JSON.stringify(v)).toBe(full(v));
        if (a) valid++;
        else invalid++;
      }
      expect(invalid).toBeGreaterThan(0);
      expect(valid).toBeGreaterThan(0);
      expect(valid + invalid).toBe(600);
    }
  });
  it('check reports every error once the first-error validator has refused', () => {
    const c = compileSchema(
      {
        type: 'object',
        properties: { a: { type: 'integer', maximum: 1 }, b: { type: 'string' } },
        required: ['c'],
      },
      { dialect: '3.1', closeObjects: true },
    );
    expect(c.valid({ a: 5, b: 1 })).toBe(false);
    expect(c.check({ a: 5, b: 1 }, '/body').map((v) => [v.pointer, v.keyword])).toEqual([
      ['/body/c', 'required'],
      ['/body/a', 'maximum'],
      ['/body/b', 'type'],
    ]);
    expect(c.valid({ a: 1, b: 'x', c: 0 })).toBe(false); // c is not declared: closed
    expect(c.check({ a: 1, b: 'x', c: 0 }, '/body')).toMatchObject([
      { pointer: '/body/c', keyword: 'unevaluatedProperties' },
    ]);
    expect(compileSchema({ type: 'object', required: ['c'] }, { dialect: '3.1' }).valid({ c: 0 })).toBe(true);
  });
});
