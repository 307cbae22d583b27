import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../core/openapi-loader.ts';
import type { OpenApiDocument, OpenApiOperation } from '../../core/openapi.ts';
import { LAB_SPECS } from '../../lab/index.ts';
import {
  compileRequestContract,
  compileResponseContract,
  type RequestInput,
  type ResponseEntry,
} from './operation.ts';

let doc: OpenApiDocument;
const op = (method: string, path: string): OpenApiOperation =>
  doc.operations.find((o) => o.method === method && o.path === path)!;

beforeAll(async () => {
  doc = await loadOpenApi(LAB_SPECS.v2);
});

const input = (init: Partial<RequestInput> & { text?: string; type?: string }): RequestInput => {
  const body = init.text !== undefined ? Buffer.from(init.text) : init.body;
  return {
    pathParams: init.pathParams ?? {},
    query: init.query ?? '',
    headers: { ...(init.type ? { 'content-type': init.type } : {}), ...(init.headers ?? {}) },
    body,
    json: () => JSON.parse(body!.toString()),
  };
};

describe('request contract (lab v2)', () => {
  it('bounds the page size and lists every parameter violation', () => {
    const c = compileRequestContract(op('get', '/records'), '3.1');
    expect(c.check(input({ query: 'limit=20&offset=0' }))).toBeUndefined();
    expect(c.check(input({ query: 'limit=1000000&offset=-1&sort=nope' }))).toMatchObject({
      code: 'bad-request',
      errors: [
        { pointer: '/query/sort', keyword: 'enum' },
        { pointer: '/query/limit', keyword: 'maximum' },
        { pointer: '/query/offset', keyword: 'minimum' },
      ],
    });
  });
  it('rejects undeclared body properties (mass assignment) with 422', () => {
    const c = compileRequestContract(op('patch', '/users/me'), '3.1');
    const v = c.check(input({ type: 'application/json', text: '{"fullName":"A","favouriteColour":"blue"}' }));
    expect(v).toMatchObject({ code: 'validation-failed', errors: [{ pointer: '/body/favouriteColour' }] });
  });
  it('checks the Content-Type and the JSON charset', () => {
    const c = compileRequestContract(op('post', '/auth/login'), '3.1');
    const ok = '{"username":"a","password":"b"}';
    expect(c.check(input({ type: 'application/json; charset=utf-8', text: ok }))).toBeUndefined();
    expect(c.check(input({ type: 'text/plain', text: ok }))).toMatchObject({
      code: 'unsupported-media-type',
    });
    expect(c.check(input({ text: ok }))).toMatchObject({ code: 'unsupported-media-type' });
    expect(c.check(input({ type: 'application/json; charset=iso-8859-1', text: ok }))).toMatchObject({
      code: 'unsupported-media-type',
      errors: [{ keyword: 'charset' }],
    });
  });
  it('refuses duplicate keys and prototype keys before the schema', () => {
    const c = compileRequestContract(op('post', '/auth/login'), '3.1');
    expect(
      c.check(
        input({ type: 'application/json', text: '{"username":"a","password":"b","username":"admin"}' }),
      ),
    ).toMatchObject({
      code: 'unsafe-json',
      errors: [{ pointer: '/body/username', keyword: 'duplicate-key' }],
    });
    expect(
      c.check(
        input({ type: 'application/json', text: '{"__proto__":{"x":1},"username":"a","password":"b"}' }),
      ),
    ).toMatchObject({
      code: 'unsafe-json',
      errors: [{ keyword: 'prototype-key' }],
    });
  });
  it('a missing required body is a 400; a body where none is declared too', () => {
    expect(compileRequestContract(op('post', '/auth/login'), '3.1').check(input({}))).toMatchObject({
      code: 'bad-request',
      errors: [{ pointer: '/body', keyword: 'required' }],
    });
    expect(
      compileRequestContract(op('get', '/users/me'), '3.1').check(
        input({ type: 'application/json', text: '{}' }),
      ),
    ).toMatchObject({ code: 'bad-request', errors: [{ pointer: '/body', keyword: 'requestBody' }] });
  });
  it('format email stops the ReDoS input before the upstream sees it', () => {
    const c = compileRequestContract(op('post', '/auth/register'), '3.1');
    const body = {
      username: 'eve',
      password: 'long-enough-pass',
      fullName: 'E',
      email: 'a'.repeat(26) + '!',
    };
    expect(c.check(input({ type: 'application/json', text: JSON.stringify(body) }))).toMatchObject({
      code: 'validation-failed',
      errors: [{ pointer: '/body/email', keyword: 'format' }],
    });
  });
  it('path parameters are coerced and bounded', () => {
    const c = compileRequestContract(op('get', '/records/{recordId}'), '3.1');
    expect(c.check(input({ pathParams: { recordId: '3' } }))).toBeUndefined();
    expect(c.check(input({ pathParams: { recordId: 'abc' } }))).toMatchObject({
      errors: [{ pointer: '/path/recordId' }],
    });
  });
});

describe('response contract (lab v2)', () => {
  it('matches declared status and media; refuses undeclared ones', () => {
    const c = compileResponseContract(op('get', '/users/me'), '3.1');
    expect(c.match(200, 'application/json; charset=utf-8', 10)).toMatchObject({
      ok: true,
      entry: { status: '200' },
    });
    expect(c.match(500, 'text/html', 100)).toMatchObject({ ok: false, reason: 'status' });
    expect(c.match(401, 'text/html', 100)).toMatchObject({ ok: false, reason: 'content-type' });
  });
  it('validates declared fields but leaves undeclared ones to the minimiser', () => {
    const m = compileResponseContract(op('get', '/users/me'), '3.1').match(200, 'application/json', 1);
    const entry = (m as { entry: ResponseEntry }).entry;
    const user = {
      id: 3,
      username: 'alice',
      email: 'alice@patients.example',
      fullName: 'Alice',
      phone: null,
      role: 'patient',
      avatarUrl: null,
      createdAt: '2026-01-01T00:00:00Z',
      passwordHash: 'x',
    };
    expect(entry.schema!.check(user, '')).toEqual([]);
    expect(entry.schema!.check({ ...user, role: 'root' }, '')).toMatchObject([
      { pointer: '/role', keyword: 'enum' },
    ]);
    const stats = { dropped: 0, pointers: [] as string[] };
    expect(entry.minimise!(user, stats, '')).not.toHaveProperty('passwordHash');
    expect(stats.pointers).toEqual(['/passwordHash']);
  });
});
