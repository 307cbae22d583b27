import { describe, expect, it } from 'vitest';
import type { OpenApiParameter } from '../../core/openapi.ts';
import { compileParameters, parseCookies, parseQuery } from './params.ts';

const check = (params: OpenApiParameter[], query = '', path: Record<string, string> = {}, headers = {}) =>
  compileParameters(params, '3.1').check({ path, query: parseQuery(query), headers });

describe('parameters', () => {
  const limit: OpenApiParameter = {
    name: 'limit',
    in: 'query',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100 },
  };
  it('coerces and bounds a page size by its maximum', () => {
    expect(check([limit], 'limit=20')).toEqual([]);
    expect(check([limit], 'limit=1000000')).toEqual([
      { pointer: '/query/limit', keyword: 'maximum', detail: 'must be <= 100' },
    ]);
    expect(check([limit], 'limit=abc')).toMatchObject([{ pointer: '/query/limit', keyword: 'type' }]);
  });
  it('a scalar given twice fails (parameter pollution)', () => {
    expect(check([limit], 'limit=1&limit=2')).toMatchObject([{ pointer: '/query/limit', keyword: 'type' }]);
  });
  it('reports a missing required parameter', () => {
    expect(check([{ ...limit, required: true }])).toEqual([
      { pointer: '/query/limit', keyword: 'required', detail: 'is required' },
    ]);
  });
  it('form arrays, exploded and not; pipe and space delimited', () => {
    const ids = (style: string | undefined, explode: boolean | undefined): OpenApiParameter => ({
      name: 'id',
      in: 'query',
      required: false,
      schema: { type: 'array', maxItems: 2, items: { type: 'integer' } },
      ...(style ? { style } : {}),
      ...(explode !== undefined ? { explode } : {}),
    });
    expect(check([ids(undefined, undefined)], 'id=1&id=2')).toEqual([]);
    expect(check([ids(undefined, undefined)], 'id=1&id=2&id=3')).toMatchObject([{ keyword: 'maxItems' }]);
    expect(check([ids('form', false)], 'id=1,2')).toEqual([]);
    expect(check([ids('form', false)], 'id=1,x')).toMatchObject([
      { pointer: '/query/id/1', keyword: 'type' },
    ]);
    expect(check([ids('pipeDelimited', false)], 'id=1|2')).toEqual([]);
    expect(check([ids('spaceDelimited', false)], 'id=1%202')).toEqual([]);
  });
  it('deepObject query objects, closed', () => {
    const filter: OpenApiParameter = {
      name: 'filter',
      in: 'query',
      required: false,
      style: 'deepObject',
      explode: true,
      schema: { type: 'object', properties: { min: { type: 'integer' } } },
    };
    expect(check([filter], 'filter[min]=3')).toEqual([]);
    expect(check([filter], 'filter[min]=3&filter[$ne]=1')).toMatchObject([
      { pointer: '/query/filter/$ne', keyword: 'unevaluatedProperties' },
    ]);
  });
  it('exploded form objects: each declared property is its own query parameter (closed, bounded, no pollution)', () => {
    const filter: OpenApiParameter = {
      name: 'filter',
      in: 'query',
      required: true,
      style: 'form',
      explode: true,
      schema: {
        type: 'object',
        properties: {
          min: { type: 'integer' },
          tag: { type: 'array', items: { type: 'string' }, maxItems: 2 },
        },
      },
    };
    const c = compileParameters([filter], '3.1');
    expect(c.issues).toEqual([]);
    expect([...c.queryNames].sort()).toEqual(['min', 'tag']); // so rejectUnknownQuery accepts them
    expect(c.anyQuery).toBe(false);
    expect(check([filter], 'min=3&tag=a&tag=b&other=1')).toEqual([]);
    expect(check([filter], 'min=x')).toMatchObject([{ pointer: '/query/filter/min', keyword: 'type' }]);
    expect(check([filter], 'min=1&min=2')).toMatchObject([{ pointer: '/query/filter/min', keyword: 'type' }]);
    expect(check([filter], 'tag=a&tag=b&tag=c')).toMatchObject([
      { pointer: '/query/filter/tag', keyword: 'maxItems' },
    ]);
    expect(check([filter], 'other=1')).toEqual([
      { pointer: '/query/filter', keyword: 'required', detail: 'is required' },
    ]);
  });
  it('an open exploded form object takes every query name no other parameter declares', () => {
    const params: OpenApiParameter[] = [
      { name: 'page', in: 'query', required: false, schema: { type: 'integer' } },
      {
        name: 'attrs',
        in: 'query',
        required: false,
        schema: { type: 'object', additionalProperties: { type: 'string', maxLength: 3 } },
      },
    ];
    expect(compileParameters(params, '3.1').anyQuery).toBe(true);
    expect(check(params, 'page=2&color=red')).toEqual([]);
    expect(check(params, 'page=2&color=crimson')).toMatchObject([
      { pointer: '/query/attrs/color', keyword: 'maxLength' },
    ]);
    expect(check(params, '__proto__=1&constructor=2')).toEqual([]);
  });
  it('an exploded object property named like another query parameter is refused at build (the query cannot say whose it is)', () => {
    const c = compileParameters(
      [
        { name: 'page', in: 'query', required: false, schema: { type: 'integer' } },
        {
          name: 'f',
          in: 'query',
          required: false,
          schema: { type: 'object', properties: { page: { type: 'string' } } },
        },
      ],
      '3.1',
      '/paths/~1x/get',
    );
    expect(c.issues).toMatchObject([
      { pointer: '/paths/~1x/get/parameters/1/schema/properties/page', keyword: 'style' },
    ]);
  });
  it('path parameters: simple, label and matrix styles', () => {
    const id = (style?: string): OpenApiParameter => ({
      name: 'id',
      in: 'path',
      required: true,
      schema: { type: 'integer', minimum: 1 },
      ...(style ? { style } : {}),
    });
    expect(check([id()], '', { id: '7' })).toEqual([]);
    expect(check([id()], '', { id: '0' })).toMatchObject([{ pointer: '/path/id', keyword: 'minimum' }]);
    expect(check([id('label')], '', { id: '.7' })).toEqual([]);
    expect(check([id('matrix')], '', { id: ';id=7' })).toEqual([]);
  });
  it('headers (case-insensitive) and cookies', () => {
    const params: OpenApiParameter[] = [
      { name: 'X-Tenant', in: 'header', required: true, schema: { type: 'string', pattern: '^[a-z]+$' } },
      { name: 'session', in: 'cookie', required: true, schema: { type: 'string', minLength: 4 } },
    ];
    expect(check(params, '', {}, { 'x-tenant': 'acme', cookie: 'a=1; session=abcd' })).toEqual([]);
    expect(check(params, '', {}, { 'x-tenant': 'ACME', cookie: 'session=ab' }).map((v) => v.pointer)).toEqual(
      ['/header/X-Tenant', '/cookie/session'],
    );
  });
  it('reports styles a location does not define', () => {
    const p = compileParameters(
      [{ name: 'x', in: 'header', required: false, style: 'form', schema: { type: 'string' } }],
      '3.1',
      '/paths/~1a/get',
    );
    expect(p.issues).toMatchObject([{ pointer: '/paths/~1a/get/parameters/0/style', keyword: 'style' }]);
  });
  it('parseQuery decodes + and percent escapes; parseCookies keeps the first', () => {
    expect(parseQuery('q=a+b%21&q=%E2%82%AC&bad=%zz')).toEqual(
      new Map([
        ['q', ['a b!', '€']],
        ['bad', ['%zz']],
      ]),
    );
    expect(parseCookies('a=1; a=2; b="x"')).toEqual(
      new Map([
        ['a', '1'],
        ['b', 'x'],
      ]),
    );
  });
});
