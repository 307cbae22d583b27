import { describe, expect, it } from 'vitest';
import { DEFAULT_SHAPE_LIMITS, jsonDepth, piiPlaces, Shape } from './shape.ts';

function infer(values: unknown[], caller?: { sub?: string; roles: string[] }): Shape {
  const s = new Shape();
  const budget = { nodes: 0, truncated: 0 };
  for (const v of values) s.observe(v, DEFAULT_SHAPE_LIMITS, budget, caller);
  return s;
}

describe('schema inference', () => {
  it('types, nested objects and arrays, required, nullable, formats and observed bounds', () => {
    const s = infer([
      {
        id: 1,
        email: 'a@x.example',
        at: '2026-12-01T10:00:00Z',
        tags: ['a'],
        nested: { n: 1.5 },
        note: null,
      },
      {
        id: 2,
        email: 'b@x.example',
        at: '2026-12-02T10:00:00Z',
        tags: [],
        nested: { n: 2 },
        note: 'hi',
        extra: true,
      },
    ]).schema(DEFAULT_SHAPE_LIMITS);
    expect(s.type).toBe('object');
    expect(s.required).toEqual(['at', 'email', 'id', 'nested', 'note', 'tags']);
    const p = s.properties as Record<string, Record<string, unknown>>;
    expect(p.id).toMatchObject({
      type: 'integer',
      'x-rampart-observed': { minimum: 1, maximum: 2, samples: 2 },
    });
    expect(p.email).toMatchObject({
      type: 'string',
      format: 'email',
      'x-rampart-observed': { pii: ['email'] },
    });
    expect(p.at).toMatchObject({ type: 'string', format: 'date-time' });
    expect(p.tags).toMatchObject({
      type: 'array',
      items: { type: 'string' },
      'x-rampart-observed': { minItems: 0, maxItems: 1 },
    });
    expect(p.nested).toMatchObject({ type: 'object', properties: { n: { type: 'number' } } });
    expect(p.note).toMatchObject({ type: ['string', 'null'] });
    expect(p.extra).toMatchObject({ type: 'boolean' });
  });

  it('enums only for low-cardinality, non-personal strings with enough samples', () => {
    const roles = infer(['patient', 'doctor', 'patient', 'admin', 'patient', 'doctor']).schema(
      DEFAULT_SHAPE_LIMITS,
    );
    expect(roles.enum).toEqual(['admin', 'doctor', 'patient']);
    expect(infer(['patient', 'doctor']).schema(DEFAULT_SHAPE_LIMITS).enum).toBeUndefined();
    const many = infer(Array.from({ length: 40 }, (_, i) => `v${'abcdefghijklmnopqrst'[i % 20]}`));
    expect(many.schema(DEFAULT_SHAPE_LIMITS).enum).toBeUndefined();
    expect(many.values).toBeUndefined();
    const names = infer(Array.from({ length: 10 }, () => ({ fullName: 'Alice' })));
    expect(names.props!.get('fullName')!.values).toBeUndefined();
  });

  it('keeps no personal value, only its kind', () => {
    const s = infer([{ card: '4111 1111 1111 1111', contact: { phone: '+1 555 0111' } }]);
    expect(piiPlaces(s)).toEqual([
      { pointer: '/card', kinds: ['card'] },
      { pointer: '/contact/phone', kinds: ['phone'] },
    ]);
    expect(JSON.stringify(s.schema(DEFAULT_SHAPE_LIMITS))).not.toMatch(/4111|555/);
  });

  it('caps properties per object and nodes per budget (counted as truncated)', () => {
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    const s = new Shape();
    const budget = { nodes: 0, truncated: 0 };
    s.observe(wide, { ...DEFAULT_SHAPE_LIMITS, maxProperties: 100 }, budget);
    expect(s.props!.size).toBe(100);
    expect(budget.truncated).toBe(400);
  });

  it('counts owner facts per role', () => {
    const s = infer([{ patientId: 3 }], { sub: '3', roles: ['patient'] });
    expect(s.props!.get('patientId')!.owner.get('patient')).toEqual({ samples: 1, matches: 1 });
  });

  it('measures nesting before parsing, strings skipped', () => {
    expect(jsonDepth('{"a":[{"b":"[[[["}]}', 10)).toBe(3);
    expect(jsonDepth('['.repeat(100_000), 32)).toBe(Infinity);
  });
});
