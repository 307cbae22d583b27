import { describe, expect, it } from 'vitest';
import { compileMinimiser, type MinimiseStats } from './minimise.ts';

const run = (schema: Record<string, unknown>, value: unknown): { out: unknown; stats: MinimiseStats } => {
  const stats: MinimiseStats = { dropped: 0, pointers: [] };
  return { out: compileMinimiser(schema, '3.1')(value, stats, ''), stats };
};

const user = {
  type: 'object',
  additionalProperties: false,
  properties: { id: { type: 'integer' }, email: { type: 'string' } },
};

describe('compileMinimiser', () => {
  it('drops undeclared properties, nested in objects and arrays', () => {
    const page = {
      type: 'object',
      properties: { items: { type: 'array', items: user }, limit: { type: 'integer' } },
    };
    const { out, stats } = run(page, {
      items: [
        { id: 1, email: 'a@x', passwordHash: 'h', nationalId: 'n' },
        { id: 2, apiToken: 't' },
      ],
      limit: 20,
      debug: { sql: 'SELECT' },
    });
    expect(out).toEqual({ items: [{ id: 1, email: 'a@x' }, { id: 2 }], limit: 20 });
    expect(stats.dropped).toBe(4);
    expect(stats.pointers).toEqual([
      '/items/0/passwordHash',
      '/items/0/nationalId',
      '/items/1/apiToken',
      '/debug',
    ]);
  });
  it('allOf merges what its members declare', () => {
    const s = {
      allOf: [
        { type: 'object', properties: { id: { type: 'integer' } } },
        { type: 'object', properties: { name: { type: 'string' } } },
      ],
    };
    expect(run(s, { id: 1, name: 'n', secret: 's' }).out).toEqual({ id: 1, name: 'n' });
  });
  it('oneOf minimises by the matching branch', () => {
    const s = {
      oneOf: [
        {
          type: 'object',
          required: ['kind', 'radius'],
          properties: { kind: { const: 'circle' }, radius: { type: 'number' } },
        },
        {
          type: 'object',
          required: ['kind', 'side'],
          properties: { kind: { const: 'square' }, side: { type: 'number' } },
        },
      ],
    };
    expect(run(s, { kind: 'square', side: 2, radius: 9, x: 1 }).out).toEqual({ kind: 'square', side: 2 });
    expect(run(s, { kind: 'circle', radius: 1, side: 3 }).out).toEqual({ kind: 'circle', radius: 1 });
  });
  it('additionalProperties schema/true keep the rest; patternProperties match', () => {
    expect(run({ type: 'object', additionalProperties: true }, { a: 1 }).out).toEqual({ a: 1 });
    const map = { type: 'object', additionalProperties: user };
    expect(run(map, { u1: { id: 1, x: 2 } }).out).toEqual({ u1: { id: 1 } });
    const pat = { type: 'object', patternProperties: { '^x-': { type: 'string' } } };
    expect(run(pat, { 'x-a': 'k', b: 1 }).out).toEqual({ 'x-a': 'k' });
  });
  it('terminates on $ref cycles (shared schema objects)', () => {
    const node: Record<string, unknown> = { type: 'object', properties: { name: { type: 'string' } } };
    (node.properties as Record<string, unknown>).children = { type: 'array', items: node };
    const { out } = run(node, {
      name: 'a',
      x: 1,
      children: [{ name: 'b', y: 2, children: [{ name: 'c', z: 3 }] }],
    });
    expect(out).toEqual({ name: 'a', children: [{ name: 'b', children: [{ name: 'c' }] }] });
  });
  it('never copies an own __proto__ member', () => {
    const value = JSON.parse('{"id":1,"__proto__":{"isAdmin":true}}') as unknown;
    const { out } = run(
      { type: 'object', additionalProperties: true, properties: { id: { type: 'integer' } } },
      value,
    );
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { isAdmin?: boolean }).isAdmin).toBeUndefined();
  });
  it('keeps values of unstructured schemas as they are', () => {
    expect(run({}, { any: 'thing' }).out).toEqual({ any: 'thing' });
    expect(run({ type: 'string' }, 'x').out).toBe('x');
  });
  it('copies on write: a value with nothing to drop comes back as itself, a change copies only its path', () => {
    const page = {
      type: 'object',
      properties: {
        items: { type: 'array', items: user },
        meta: { type: 'object', properties: { n: { type: 'integer' } } },
      },
    };
    const clean = { items: [{ id: 1, email: 'a@x' }, { id: 2 }], meta: { n: 2 } };
    const same = run(page, clean);
    expect(same.out).toBe(clean);
    expect(same.stats.dropped).toBe(0);

    const dirty = { items: [{ id: 1 }, { id: 2, secret: 's' }, { id: 3 }], meta: { n: 3 } };
    const snapshot = structuredClone(dirty);
    const { out, stats } = run(page, dirty) as { out: typeof dirty; stats: MinimiseStats };
    expect(out).toEqual({ items: [{ id: 1 }, { id: 2 }, { id: 3 }], meta: { n: 3 } });
    expect(stats.pointers).toEqual(['/items/1/secret']);
    expect(dirty).toEqual(snapshot); // the parsed answer is never modified
    expect(out).not.toBe(dirty);
    expect(out.items).not.toBe(dirty.items);
    expect(out.items[0]).toBe(dirty.items[0]); // unchanged siblings are shared, not copied
    expect(out.items[2]).toBe(dirty.items[2]);
    expect(out.meta).toBe(dirty.meta);
    // Dropping the first or the last member: key order kept.
    const first = run(user, { secret: 1, id: 1, email: 'e' });
    expect(Object.keys(first.out as object)).toEqual(['id', 'email']);
    const last = run(user, { id: 1, email: 'e', secret: 1 });
    expect(Object.keys(last.out as object)).toEqual(['id', 'email']);
  });
});
