import { describe, expect, it } from 'vitest';
import { parseOpenApi } from '../core/openapi-loader.ts';
import { diffDocuments, versionBump } from './diff.ts';
import { DIFF_RULES, type DiffRuleId } from './rules.ts';

type Obj = Record<string, unknown>;

function doc(paths: Obj, extra: Obj = {}): ReturnType<typeof parseOpenApi> {
  const text = JSON.stringify({
    openapi: '3.1.0',
    info: { title: 't', version: (extra.version as string) ?? '1.0.0' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        oauth: {
          type: 'oauth2',
          flows: {
            clientCredentials: { tokenUrl: 'https://id.example/token', scopes: { read: '', write: '' } },
          },
        },
        key: { type: 'apiKey', in: 'header', name: 'X-Key' },
      },
    },
    ...(extra.security ? { security: extra.security } : {}),
    paths,
  });
  return parseOpenApi(text, '/tmp/diff-test.json');
}

const ok = { '200': { description: 'ok' } };
const json = (schema: Obj) => ({ content: { 'application/json': { schema } } });
const get = (op: Obj = {}) => ({ get: { responses: ok, ...op } });
const withBody = (schema: Obj, required = true) => ({
  post: { requestBody: { required, ...json(schema) }, responses: ok },
});
const withResp = (schema: Obj) => ({ get: { responses: { '200': { description: 'ok', ...json(schema) } } } });
const obj = (properties: Obj, required: string[] = [], more: Obj = {}) => ({
  type: 'object',
  properties,
  required,
  ...more,
});
const param = (p: Obj) => ({ get: { parameters: [{ schema: { type: 'string' }, ...p }], responses: ok } });

/** One case per rule: the old and new `paths`, and the rule that must fire. */
const cases: Array<{ rule: DiffRuleId; old: Obj; new: Obj; oldExtra?: Obj; newExtra?: Obj }> = [
  { rule: 'path-removed', old: { '/a': get(), '/b': get() }, new: { '/a': get() } },
  { rule: 'operation-removed', old: { '/a': { ...get(), delete: { responses: ok } } }, new: { '/a': get() } },
  {
    rule: 'deprecated-operation-removed',
    old: { '/a': { ...get(), delete: { deprecated: true, responses: ok } } },
    new: { '/a': get() },
  },
  { rule: 'path-added', old: { '/a': get() }, new: { '/a': get(), '/b': get() } },
  { rule: 'operation-added', old: { '/a': get() }, new: { '/a': { ...get(), delete: { responses: ok } } } },
  { rule: 'operation-deprecated', old: { '/a': get() }, new: { '/a': get({ deprecated: true }) } },
  { rule: 'operation-reactivated', old: { '/a': get({ deprecated: true }) }, new: { '/a': get() } },
  {
    rule: 'operation-id-changed',
    old: { '/a': get({ operationId: 'listA' }) },
    new: { '/a': get({ operationId: 'getAll' }) },
  },
  {
    rule: 'path-parameter-renamed',
    old: {
      '/a/{id}': {
        get: {
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: ok,
        },
      },
    },
    new: {
      '/a/{aId}': {
        get: {
          parameters: [{ name: 'aId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: ok,
        },
      },
    },
  },
  {
    rule: 'request-parameter-removed',
    old: { '/a': param({ name: 'q', in: 'query' }) },
    new: { '/a': get() },
  },
  {
    rule: 'new-required-request-parameter',
    old: { '/a': get() },
    new: { '/a': param({ name: 'q', in: 'query', required: true }) },
  },
  {
    rule: 'new-optional-request-parameter',
    old: { '/a': get() },
    new: { '/a': param({ name: 'q', in: 'query' }) },
  },
  {
    rule: 'request-parameter-became-required',
    old: { '/a': param({ name: 'q', in: 'query' }) },
    new: { '/a': param({ name: 'q', in: 'query', required: true }) },
  },
  {
    rule: 'request-parameter-became-optional',
    old: { '/a': param({ name: 'X-Trace', in: 'header', required: true }) },
    new: { '/a': param({ name: 'x-trace', in: 'header' }) },
  },
  {
    rule: 'request-body-added-required',
    old: { '/a': { post: { responses: ok } } },
    new: { '/a': withBody({ type: 'object' }) },
  },
  {
    rule: 'request-body-added-optional',
    old: { '/a': { post: { responses: ok } } },
    new: { '/a': withBody({ type: 'object' }, false) },
  },
  {
    rule: 'request-body-became-required',
    old: { '/a': withBody({ type: 'object' }, false) },
    new: { '/a': withBody({ type: 'object' }) },
  },
  {
    rule: 'request-body-removed',
    old: { '/a': withBody({ type: 'object' }) },
    new: { '/a': { post: { responses: ok } } },
  },
  {
    rule: 'request-media-type-removed',
    old: {
      '/a': {
        post: {
          requestBody: { content: { 'application/json': {}, 'application/x-www-form-urlencoded': {} } },
          responses: ok,
        },
      },
    },
    new: { '/a': { post: { requestBody: { content: { 'application/json': {} } }, responses: ok } } },
  },
  {
    rule: 'request-media-type-added',
    old: { '/a': { post: { requestBody: { content: { 'application/json': {} } }, responses: ok } } },
    new: {
      '/a': { post: { requestBody: { content: { 'application/json': {}, 'text/csv': {} } }, responses: ok } },
    },
  },
  {
    rule: 'new-required-request-property',
    old: { '/a': withBody(obj({ a: { type: 'string' } })) },
    new: { '/a': withBody(obj({ a: { type: 'string' }, b: { type: 'string' } }, ['b'])) },
  },
  {
    rule: 'new-optional-request-property',
    old: { '/a': withBody(obj({ a: { type: 'string' } })) },
    new: { '/a': withBody(obj({ a: { type: 'string' }, b: { type: 'string' } })) },
  },
  {
    rule: 'request-property-became-required',
    old: { '/a': withBody(obj({ a: { type: 'string' } })) },
    new: { '/a': withBody(obj({ a: { type: 'string' } }, ['a'])) },
  },
  {
    rule: 'request-property-removed',
    old: {
      '/a': withBody(
        obj({ a: { type: 'string' }, b: { type: 'string' } }, [], { additionalProperties: false }),
      ),
    },
    new: { '/a': withBody(obj({ a: { type: 'string' } }, [], { additionalProperties: false })) },
  },
  {
    rule: 'request-property-removed-open',
    old: { '/a': withBody(obj({ a: { type: 'string' }, b: { type: 'string' } })) },
    new: { '/a': withBody(obj({ a: { type: 'string' } })) },
  },
  {
    rule: 'request-type-narrowed',
    old: { '/a': withBody(obj({ n: { type: 'number' } })) },
    new: { '/a': withBody(obj({ n: { type: 'integer' } })) },
  },
  {
    rule: 'request-type-widened',
    old: { '/a': withBody(obj({ n: { type: 'integer' } })) },
    new: { '/a': withBody(obj({ n: { type: ['integer', 'string'] } })) },
  },
  {
    rule: 'request-enum-value-removed',
    old: { '/a': param({ name: 's', in: 'query', schema: { type: 'string', enum: ['a', 'b'] } }) },
    new: { '/a': param({ name: 's', in: 'query', schema: { type: 'string', enum: ['a'] } }) },
  },
  {
    rule: 'request-enum-value-added',
    old: { '/a': param({ name: 's', in: 'query', schema: { type: 'string', enum: ['a'] } }) },
    new: { '/a': param({ name: 's', in: 'query', schema: { type: 'string', enum: ['a', 'b'] } }) },
  },
  {
    rule: 'request-format-changed',
    old: { '/a': withBody(obj({ e: { type: 'string' } })) },
    new: { '/a': withBody(obj({ e: { type: 'string', format: 'email' } })) },
  },
  {
    rule: 'request-bound-narrowed',
    old: { '/a': withBody(obj({ s: { type: 'string', maxLength: 100 } })) },
    new: { '/a': withBody(obj({ s: { type: 'string', maxLength: 50 } })) },
  },
  {
    rule: 'request-bound-widened',
    old: { '/a': param({ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 50 } }) },
    new: { '/a': param({ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 } }) },
  },
  {
    rule: 'request-additional-properties-closed',
    old: { '/a': withBody(obj({ a: { type: 'string' } })) },
    new: { '/a': withBody(obj({ a: { type: 'string' } }, [], { additionalProperties: false })) },
  },
  {
    rule: 'response-status-removed',
    old: { '/a': { get: { responses: { '200': { description: 'ok' }, '404': { description: 'no' } } } } },
    new: { '/a': get() },
  },
  {
    rule: 'response-status-added',
    old: { '/a': get() },
    new: {
      '/a': { get: { responses: { '200': { description: 'ok' }, '429': { description: 'slow down' } } } },
    },
  },
  {
    rule: 'response-media-type-removed',
    old: {
      '/a': {
        get: {
          responses: { '200': { description: 'ok', content: { 'application/json': {}, 'text/csv': {} } } },
        },
      },
    },
    new: {
      '/a': { get: { responses: { '200': { description: 'ok', content: { 'application/json': {} } } } } },
    },
  },
  {
    rule: 'response-media-type-added',
    old: {
      '/a': { get: { responses: { '200': { description: 'ok', content: { 'application/json': {} } } } } },
    },
    new: {
      '/a': {
        get: {
          responses: { '200': { description: 'ok', content: { 'application/json': {}, 'text/csv': {} } } },
        },
      },
    },
  },
  {
    rule: 'response-property-removed',
    old: { '/a': withResp(obj({ id: { type: 'string' }, name: { type: 'string' } })) },
    new: { '/a': withResp(obj({ id: { type: 'string' } })) },
  },
  {
    rule: 'response-property-became-optional',
    old: { '/a': withResp(obj({ id: { type: 'string' } }, ['id'])) },
    new: { '/a': withResp(obj({ id: { type: 'string' } })) },
  },
  {
    rule: 'response-property-added',
    old: { '/a': withResp(obj({ id: { type: 'string' } })) },
    new: { '/a': withResp(obj({ id: { type: 'string' }, email: { type: 'string' } })) },
  },
  {
    rule: 'response-type-changed',
    old: { '/a': withResp(obj({ id: { type: 'integer' } })) },
    new: { '/a': withResp(obj({ id: { type: 'string' } })) },
  },
  {
    rule: 'response-became-nullable',
    old: { '/a': withResp(obj({ id: { type: 'string' } })) },
    new: { '/a': withResp(obj({ id: { type: ['string', 'null'] } })) },
  },
  {
    rule: 'response-enum-value-added',
    old: { '/a': withResp(obj({ s: { type: 'string', enum: ['open'] } })) },
    new: { '/a': withResp(obj({ s: { type: 'string', enum: ['open', 'closed'] } })) },
  },
  {
    rule: 'response-enum-value-removed',
    old: { '/a': withResp(obj({ s: { type: 'string', enum: ['open', 'closed'] } })) },
    new: { '/a': withResp(obj({ s: { type: 'string', enum: ['open'] } })) },
  },
  {
    rule: 'response-format-changed',
    old: { '/a': withResp(obj({ at: { type: 'string', format: 'date-time' } })) },
    new: { '/a': withResp(obj({ at: { type: 'string', format: 'date' } })) },
  },
  {
    rule: 'response-bound-widened',
    old: { '/a': withResp(obj({ s: { type: 'string', maxLength: 10 } })) },
    new: { '/a': withResp(obj({ s: { type: 'string', maxLength: 20 } })) },
  },
  {
    rule: 'response-bound-narrowed',
    old: { '/a': withResp(obj({ s: { type: 'string', maxLength: 20 } })) },
    new: { '/a': withResp(obj({ s: { type: 'string', maxLength: 10 } })) },
  },
  {
    rule: 'schema-alternatives-removed',
    old: { '/a': withBody({ oneOf: [{ type: 'string' }, { type: 'integer' }] }) },
    new: { '/a': withBody({ oneOf: [{ type: 'string' }] }) },
  },
  {
    rule: 'schema-alternatives-changed',
    old: { '/a': withResp({ oneOf: [{ type: 'string' }] }) },
    new: { '/a': withResp({ oneOf: [{ type: 'string' }, { type: 'integer' }] }) },
  },
  {
    rule: 'security-added',
    old: { '/a': get({ security: [] }) },
    new: { '/a': get({ security: [{ bearer: [] }] }) },
  },
  {
    rule: 'security-changed',
    old: { '/a': get({ security: [{ oauth: ['read'] }] }) },
    new: { '/a': get({ security: [{ oauth: ['read', 'write'] }] }) },
  },
  {
    rule: 'security-removed',
    old: { '/a': get({ security: [{ bearer: [] }] }) },
    new: { '/a': get({ security: [] }) },
  },
  {
    rule: 'security-relaxed',
    old: { '/a': get({ security: [{ bearer: [] }] }) },
    new: { '/a': get({ security: [{ bearer: [] }, { key: [] }] }) },
  },
];

/** Rules that fire in both directions by nature (a change of value, not of strictness). */
const SYMMETRIC = new Set<DiffRuleId>([
  'operation-id-changed',
  'path-parameter-renamed',
  'response-type-changed',
  'response-format-changed',
  'schema-alternatives-changed',
]);

describe('rampart diff rules', () => {
  it.each(cases)('$rule', ({ rule, old, new: next, oldExtra, newExtra }) => {
    const r = diffDocuments(doc(old, oldExtra), doc(next, newExtra));
    const hit = r.changes.find((c) => c.rule === rule);
    expect(hit, JSON.stringify(r.changes, null, 1)).toBeDefined();
    expect(hit!.level).toBe(DIFF_RULES[rule].level);
    // The reverse direction must not report the same rule (each rule is directional).
    if (!SYMMETRIC.has(rule)) {
      const back = diffDocuments(doc(next, newExtra), doc(old, oldExtra));
      expect(back.changes.some((c) => c.rule === rule)).toBe(false);
    }
  });

  it('has a case for every rule', () => {
    const covered = new Set(cases.map((c) => c.rule));
    expect(Object.keys(DIFF_RULES).filter((r) => !covered.has(r as DiffRuleId))).toEqual([]);
  });

  it('finds no change between a document and itself, cycles included', () => {
    const tree = {
      type: 'object',
      properties: { name: { type: 'string' }, children: { type: 'array', items: {} } },
    };
    (tree.properties.children.items as Obj).$ref = '#/components/schemas/Node';
    const text = JSON.stringify({
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      components: {
        schemas: {
          Node: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              children: { type: 'array', items: { $ref: '#/components/schemas/Node' } },
            },
          },
        },
      },
      paths: {
        '/t': {
          get: {
            responses: { '200': { description: 'ok', ...json({ $ref: '#/components/schemas/Node' }) } },
          },
        },
      },
    });
    const a = parseOpenApi(text, '/tmp/a.json');
    const b = parseOpenApi(text, '/tmp/b.json');
    const r = diffDocuments(a, b);
    expect(r.changes).toEqual([]);
    expect(r.bump).toBe('none');
  });

  it('suggests major for breaking, minor for additive, patch otherwise, and warns on a too-small bump', () => {
    const base = { '/a': withResp(obj({ id: { type: 'string' } })) };
    const breaking = diffDocuments(
      doc(base, { version: '1.2.0' }),
      doc({ '/a': withResp(obj({})) }, { version: '1.3.0' }),
    );
    expect(breaking.bump).toBe('major');
    expect(breaking.versionWarning).toMatch(/1\.2\.0 → 1\.3\.0 \(minor\).*major/);
    const additive = diffDocuments(doc(base), doc({ ...base, '/b': get() }));
    expect(additive.bump).toBe('minor');
    const patch = diffDocuments(doc(base), doc({ '/a': withResp(obj({ id: { type: 'string' } })) }, {}));
    expect(patch.bump).toBe('none');
    const deprecate = diffDocuments(doc({ '/a': get() }), doc({ '/a': get({ deprecated: true }) }));
    expect(deprecate.bump).toBe('patch');
  });

  it('treats allOf parts and 3.0 nullable like their flattened forms', () => {
    const a = doc({
      '/a': withResp({ allOf: [obj({ id: { type: 'string' } }, ['id']), obj({ n: { type: 'integer' } })] }),
    });
    const b = doc({ '/a': withResp({ allOf: [obj({ id: { type: 'string' } }, ['id'])] }) });
    expect(diffDocuments(a, b).changes.map((c) => c.rule)).toEqual(['response-property-removed']);
    const t30 = (nullable: boolean) =>
      parseOpenApi(
        JSON.stringify({
          openapi: '3.0.3',
          info: { title: 't', version: '1' },
          paths: { '/a': withResp(obj({ s: { type: 'string', nullable } })) },
        }),
        '/tmp/n.json',
      );
    expect(diffDocuments(t30(false), t30(true)).changes.map((c) => c.rule)).toEqual([
      'response-became-nullable',
    ]);
  });

  it('compares semantic versions', () => {
    expect(versionBump('1.0.0', '2.0.0')).toBe('major');
    expect(versionBump('v1.2', 'v1.3')).toBe('minor');
    expect(versionBump('1.2.3', '1.2.4')).toBe('patch');
    expect(versionBump('2026-01', 'next')).toBeUndefined();
  });
});
