import { describe, expect, it } from 'vitest';
import { compileRules, forbiddenWrite, rolesIn, stripInvisible, type RuleNode } from './walk.ts';

const user = {
  type: 'object',
  properties: {
    fullName: { type: 'string' },
    role: { type: 'string', readOnly: true, 'x-rampart': { writableBy: ['admin'] } },
    createdAt: { type: 'string', readOnly: true },
    nationalId: { type: 'string', 'x-rampart': { visibleTo: ['admin', 'doctor'] } },
    address: {
      type: 'object',
      properties: { street: { type: 'string' }, verified: { type: 'boolean', readOnly: true } },
    },
  },
};

describe('compileRules', () => {
  it('request mode keeps readOnly and writableBy; response mode keeps visibleTo', () => {
    const req = compileRules(user, 'request')!;
    expect([...req.properties!.keys()]).toEqual(['role', 'createdAt', 'address']);
    expect(req.properties!.get('role')).toEqual({ readOnly: true, writableBy: ['admin'] });
    const res = compileRules(user, 'response')!;
    expect([...res.properties!.keys()]).toEqual(['nationalId']);
    expect(
      compileRules({ type: 'object', properties: { a: { type: 'string' } } }, 'request'),
    ).toBeUndefined();
  });

  it('follows arrays and merges allOf/oneOf branches; stops on $ref cycles', () => {
    const node: Record<string, unknown> = { type: 'object', properties: {} };
    (node.properties as Record<string, unknown>).children = { type: 'array', items: node };
    (node.properties as Record<string, unknown>).secret = {
      type: 'string',
      'x-rampart': { visibleTo: ['admin'] },
    };
    const tree = compileRules(
      { allOf: [node, { properties: { other: { 'x-rampart': { visibleTo: ['x'] } } } }] },
      'response',
    )!;
    expect([...tree.properties!.keys()].sort()).toEqual(['children', 'other', 'secret']);
    expect([...rolesIn(tree)].sort()).toEqual(['admin', 'x']);
    // Nested copies of a recursive schema are restricted too.
    const body = { secret: 1, children: [{ secret: 2, children: [{ secret: 3 }] }] };
    expect(stripInvisible(body, tree, () => false, null)).toBe(3);
    expect(body).toEqual({ children: [{ children: [{}] }] });
    const list = compileRules(
      { type: 'object', properties: { items: { type: 'array', items: user } } },
      'response',
    )!;
    expect(list.properties!.get('items')!.items!.properties!.has('nationalId')).toBe(true);
  });
});

describe('forbiddenWrite', () => {
  const tree = compileRules(user, 'request')!;
  const may = (need: readonly string[], roles: string[]) => need.some((r) => roles.includes(r));

  it('refuses readOnly properties, and writableBy ones without the role', () => {
    expect(forbiddenWrite({ fullName: 'A' }, tree, may, [])).toBeUndefined();
    expect(forbiddenWrite({ role: 'admin' }, tree, may, ['patient'])).toEqual({
      pointer: '/role',
      reason: 'role',
    });
    expect(forbiddenWrite({ role: 'doctor' }, tree, may, ['admin'])).toBeUndefined();
    expect(forbiddenWrite({ createdAt: 'x' }, tree, may, ['admin'])).toEqual({
      pointer: '/createdAt',
      reason: 'read-only',
    });
    expect(forbiddenWrite({ address: { street: 's', verified: true } }, tree, may, [])).toEqual({
      pointer: '/address/verified',
      reason: 'read-only',
    });
  });

  it('walks arrays; ignores inherited properties and non-objects', () => {
    const listTree = compileRules({ type: 'array', items: user }, 'request')!;
    expect(forbiddenWrite([{ fullName: 'a' }, { role: 'x' }], listTree, may, [])).toEqual({
      pointer: '/1/role',
      reason: 'role',
    });
    expect(forbiddenWrite(Object.create({ role: 'admin' }) as object, tree, may, [])).toBeUndefined();
    expect(forbiddenWrite('role', tree, may, [])).toBeUndefined();
  });
});

describe('stripInvisible', () => {
  const tree: RuleNode = compileRules(
    { type: 'object', properties: { items: { type: 'array', items: user } } },
    'response',
  )!;
  it('removes properties the caller may not see, in place, in lists too', () => {
    const body = {
      items: [
        { fullName: 'A', nationalId: '1' },
        { fullName: 'B', nationalId: '2' },
      ],
    };
    expect(stripInvisible(body, tree, () => false, null)).toBe(2);
    expect(body).toEqual({ items: [{ fullName: 'A' }, { fullName: 'B' }] });
    const kept = { items: [{ nationalId: '1' }] };
    expect(stripInvisible(kept, tree, (r) => r.includes('doctor'), null)).toBe(0);
    expect(kept.items[0]).toEqual({ nationalId: '1' });
  });
});
