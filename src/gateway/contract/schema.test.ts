import { describe, expect, it } from 'vitest';
import { compileSchema, toJsonSchema } from './schema.ts';

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
