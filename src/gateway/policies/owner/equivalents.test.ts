/**
 * The `owner` survivors of issue #19 that were listed as probably equivalent but are not
 * (docs/testing.md): the cache key's separator after the lookup (without it, two lookups
 * whose templates extend one another share keys — another object's owner would answer), and
 * the bypass without `bypassRoles` (no role at all may skip the check, whatever its name).
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth.ts';
import { ManualClock } from '../../../core/clock.ts';
import type { OpenApiDocument, OpenApiOperation } from '../../../core/openapi.ts';
import type { Denial, LookupResponse } from '../../policy.ts';
import { buildPolicy, testContext, testRoute, testServices } from '../test-context.ts';
import { owner } from './index.ts';

const alice: Principal = {
  id: '3',
  kind: 'user',
  roles: ['admin', 'Stryker was here'],
  issuer: 'https://lab.test',
  amr: [],
  claims: { sub: '3' },
};

const op = (method: 'get' | 'patch', path: string): OpenApiOperation => ({
  method,
  path,
  tags: [],
  parameters: [],
  responses: {},
  security: [{ bearer: [] }],
  deprecated: false,
  rampart: {},
});
const FILE = '/files/{name}';
const JSON_FILE = '/files/{name}.json';
const document = {
  source: 'files.yaml',
  openapi: '3.1.0',
  title: 'files',
  version: '1',
  raw: {},
  operations: [op('get', FILE), op('get', JSON_FILE), op('patch', FILE), op('patch', JSON_FILE)],
  securitySchemes: {},
} as OpenApiDocument;

const answer = (ownerId: string): LookupResponse => ({
  status: 200,
  headers: {},
  body: Buffer.from(JSON.stringify({ ownerId })),
  json() {
    return JSON.parse(this.body.toString()) as unknown;
  },
});

function setup() {
  const clock = new ManualClock(0);
  const policy = buildPolicy(owner, {}, testServices({ clock }));
  const lookups: Array<[string, Record<string, string>]> = [];
  const owners = new Map<string, string>();
  const write = (template: string, name: string, rule: Record<string, unknown> = {}) => {
    const route = testRoute({
      method: 'patch',
      template,
      params: { name },
      rampart: { owner: { lookup: `GET ${template}`, field: 'ownerId', ...rule } },
      document,
    });
    const ctx = testContext({
      clock,
      route,
      principal: alice,
      lookup: (operation, params) => {
        lookups.push([operation, params]);
        return Promise.resolve(answer(owners.get(`${operation} ${params.name}`) ?? 'nobody'));
      },
    });
    return Promise.resolve(policy.onRequest(ctx)).then((d) => (d ?? undefined) as Denial | undefined);
  };
  return { write, lookups, owners };
}

describe('owner: the lookup cache key', () => {
  it('two lookups whose templates extend one another never share a cached owner', async () => {
    const s = setup();
    s.owners.set(`GET ${JSON_FILE} foo`, '3');
    s.owners.set(`GET ${FILE} .jsonfoo`, '9');
    // Alice owns foo.json: allowed, and its owner is cached.
    expect(await s.write(JSON_FILE, 'foo')).toBeUndefined();
    // The file named `.jsonfoo` is someone else's: its own lookup answers, not foo.json's cache entry.
    expect((await s.write(FILE, '.jsonfoo'))?.problem.status).toBe(404);
    expect(s.lookups).toEqual([
      [`GET ${JSON_FILE}`, { name: 'foo' }],
      [`GET ${FILE}`, { name: '.jsonfoo' }],
    ]);
    // Both are cached separately.
    expect(await s.write(JSON_FILE, 'foo')).toBeUndefined();
    expect((await s.write(FILE, '.jsonfoo'))?.problem.status).toBe(404);
    expect(s.lookups).toHaveLength(2);
  });
});

describe('owner: the bypass', () => {
  it('without bypassRoles no role skips the check, whatever its name', async () => {
    const s = setup();
    expect((await s.write(FILE, 'x'))?.problem.status).toBe(404);
    expect(s.lookups).toHaveLength(1);
  });

  it('an empty bypassRoles bypasses nobody; a listed role does', async () => {
    const s = setup();
    expect((await s.write(FILE, 'x', { bypassRoles: [] }))?.problem.status).toBe(404);
    expect(await s.write(FILE, 'y', { bypassRoles: ['admin'] })).toBeUndefined();
    expect(s.lookups).toEqual([[`GET ${FILE}`, { name: 'x' }]]);
  });
});
