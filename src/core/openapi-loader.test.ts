import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkOpenApi,
  checkOpenApiFile,
  loadOpenApi,
  OpenApiErrors,
  parseOpenApi,
  pathTemplateParams,
  pathTemplateProblems,
  type OpenApiError,
} from './openapi-loader.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/openapi');
const dir = mkdtempSync(join(tmpdir(), 'rampart-openapi-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function write(text: string, name = `doc${++counter}.yaml`): string {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const head30 = 'openapi: 3.0.3\ninfo: { title: T, version: "1" }\n';
const head31 = 'openapi: 3.1.0\ninfo: { title: T, version: "1" }\n';

/** Walks a plain JSON value by keys (tests only). */
function dig(value: unknown, ...keys: string[]): unknown {
  let v = value;
  for (const k of keys) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

type Expected = Pick<OpenApiError, 'line' | 'column' | 'path' | 'message'>;

const errorCases: Array<{ name: string; yaml: string; errors: Expected[]; extra?: Record<string, string> }> =
  [
    {
      name: 'Swagger 2.0 is refused with a conversion hint',
      yaml: 'swagger: "2.0"\ninfo: { title: T, version: "1" }\npaths: {}\n',
      errors: [
        {
          line: 1,
          column: 10,
          path: '/swagger',
          message:
            'Swagger 2.0 is not supported; convert it to OpenAPI 3 first (e.g. `npx swagger2openapi FILE -o openapi.yaml` or https://converter.swagger.io)',
        },
      ],
    },
    {
      name: 'missing openapi version',
      yaml: 'info: { title: T, version: "1" }\npaths: {}\n',
      errors: [
        {
          line: 1,
          column: 1,
          path: '/openapi',
          message: 'missing required key \'openapi\' (expected "3.0.x" or "3.1.x")',
        },
      ],
    },
    {
      name: 'unsupported openapi version',
      yaml: 'openapi: 3.2.0\ninfo: { title: T, version: "1" }\npaths: {}\n',
      errors: [
        {
          line: 1,
          column: 10,
          path: '/openapi',
          message: 'unsupported OpenAPI version string "3.2.0": expected "3.0.x" or "3.1.x"',
        },
      ],
    },
    {
      name: 'not an object',
      yaml: '- a\n',
      errors: [
        { line: 1, column: 1, path: '', message: 'expected an OpenAPI document (an object), got an array' },
      ],
    },
    {
      name: 'invalid YAML',
      yaml: 'openapi: 3.0.3\nopenapi: 3.0.3\n',
      errors: [{ line: 2, column: 1, path: '', message: 'invalid YAML: Map keys must be unique' }],
    },
    {
      name: 'missing info and paths (3.0)',
      yaml: 'openapi: 3.0.3\n',
      errors: [
        { line: 1, column: 1, path: '/info', message: "missing required key 'info'" },
        { line: 1, column: 1, path: '/paths', message: "missing required key 'paths'" },
      ],
    },
    {
      name: 'info.version must be a string',
      yaml: 'openapi: 3.1.0\ninfo:\n  title: T\n  version: 1.0\n',
      errors: [
        { line: 4, column: 12, path: '/info/version', message: 'expected a string, got number 1 (quote it)' },
      ],
    },
    {
      name: 'same template with different parameter names',
      yaml: head30 + 'paths:\n  /a/{x}: {}\n  /a/{y}: {}\n',
      errors: [
        {
          line: 5,
          column: 3,
          path: '/paths/~1a~1{y}',
          message: "path '/a/{y}' is the same template as '/a/{x}' (only parameter names differ)",
        },
      ],
    },
    {
      name: 'empty and repeated template parameters',
      yaml: head30 + 'paths:\n  /a/{}: {}\n  /b/{id}/{id}: {}\n',
      errors: [
        {
          line: 4,
          column: 3,
          path: '/paths/~1a~1{}',
          message: "path template '/a/{}' has an empty parameter name '{}'",
        },
        {
          line: 5,
          column: 3,
          path: '/paths/~1b~1{id}~1{id}',
          message: "path template '/b/{id}/{id}' repeats parameter '{id}'",
        },
      ],
    },
    {
      name: 'operation responses required in 3.0, bad parameter location, duplicate parameter',
      yaml:
        head30 +
        'paths:\n  /a:\n    get:\n      parameters:\n        - { name: q, in: query }\n        - { name: q, in: query }\n        - { name: b, in: body }\n',
      errors: [
        { line: 6, column: 7, path: '/paths/~1a/get/responses', message: "missing required key 'responses'" },
        {
          line: 8,
          column: 11,
          path: '/paths/~1a/get/parameters/1',
          message: "duplicate parameter 'q' in query",
        },
        {
          line: 9,
          column: 26,
          path: '/paths/~1a/get/parameters/2/in',
          message: 'expected one of path, query, header, cookie, got string "body"',
        },
      ],
    },
    {
      name: 'remote and anchor $refs are refused',
      yaml:
        head31 +
        'components:\n  schemas:\n    R: { $ref: "https://example.com/s.yaml#/X" }\n    A: { $ref: "#anchor" }\n',
      errors: [
        {
          line: 5,
          column: 16,
          path: '/components/schemas/R/$ref',
          message: "remote $ref 'https://example.com/s.yaml#/X' is not supported; use a relative file path",
        },
        {
          line: 6,
          column: 16,
          path: '/components/schemas/A/$ref',
          message: "$ref '#anchor' uses an anchor; only JSON pointers ('#/components/…') are supported",
        },
      ],
    },
    {
      name: 'a $ref must be a string (a property named $ref is fine)',
      yaml:
        head31 +
        'components:\n  schemas:\n    A: { $ref: 5 }\n    B: { properties: { $ref: { type: string } } }\n',
      errors: [
        {
          line: 5,
          column: 16,
          path: '/components/schemas/A/$ref',
          message: 'invalid $ref: expected a string, got number 5',
        },
      ],
    },
    {
      name: 'security scheme types and x-rampart shape',
      yaml:
        head30 +
        'x-rampart: [roles]\ncomponents:\n  securitySchemes:\n    k: { type: key }\n    m: { type: mutualTLS }\npaths: {}\n',
      errors: [
        { line: 3, column: 12, path: '/x-rampart', message: 'expected an object, got an array' },
        {
          line: 6,
          column: 16,
          path: '/components/securitySchemes/k/type',
          message: 'expected one of apiKey, http, oauth2, openIdConnect, got string "key"',
        },
        {
          line: 7,
          column: 16,
          path: '/components/securitySchemes/m/type',
          message: 'expected one of apiKey, http, oauth2, openIdConnect, got string "mutualTLS"',
        },
      ],
    },
    {
      name: 'a path parameter declared at path level must be in the template',
      yaml:
        head31 +
        'paths:\n  /a:\n    parameters:\n      - { name: id, in: path, required: true }\n    get: { responses: {} }\n',
      errors: [
        {
          line: 6,
          column: 17,
          path: '/paths/~1a/parameters/0/name',
          message: "path parameter 'id' is not in the path template '/a'",
        },
      ],
    },
  ];

describe('OpenAPI loader errors', () => {
  it.each(errorCases)('$name', ({ yaml, errors }) => {
    const file = write(yaml);
    const result = checkOpenApi(yaml, file);
    expect(result.document).toBeUndefined();
    expect(result.errors).toEqual(
      errors.map((e) => ({ file, ...e, message: e.message.replace('FILE', file) })),
    );
  });

  it('collects every error of a broken document, positioned, in reading order', async () => {
    const file = join(fixtures, 'invalid-3.0.yaml');
    const { errors } = await checkOpenApiFile(file);
    const common = "'./common.yaml'";
    expect(errors.map(({ line, column, path, message }) => ({ line, column, path, message }))).toEqual([
      { line: 3, column: 3, path: '/info/title', message: "missing required key 'title'" },
      { line: 5, column: 3, path: '/paths/orders', message: "path 'orders' must start with '/'" },
      {
        line: 8,
        column: 3,
        path: '/paths/~1orders~1{orderId',
        message: "path template '/orders/{orderId' has unbalanced braces",
      },
      {
        line: 12,
        column: 5,
        path: '/paths/~1orders~1{orderId}/fetch',
        message:
          "unknown HTTP method 'fetch' (expected one of get, put, post, delete, options, head, patch, trace)",
      },
      {
        line: 15,
        column: 7,
        path: '/paths/~1orders~1{orderId}/get',
        message: "path parameter 'orderId' of '/orders/{orderId}' is not declared in parameters (GET)",
      },
      {
        line: 18,
        column: 9,
        path: '/paths/~1orders~1{orderId}/get/responses/600',
        message: "invalid response code '600' (expected 100–599, 1XX–5XX or default)",
      },
      {
        line: 20,
        column: 20,
        path: '/paths/~1orders~1{orderId}/put/operationId',
        message: "duplicate operationId 'getOrder' (first used by GET /orders/{orderId})",
      },
      {
        line: 23,
        column: 19,
        path: '/paths/~1orders~1{orderId}/put/parameters/1/name',
        message: "path parameter 'itemId' is not in the path template '/orders/{orderId}'",
      },
      {
        line: 25,
        column: 11,
        path: '/paths/~1orders~1{orderId}/put/security/0/oauth',
        message: "unknown security scheme 'oauth': not in components.securitySchemes",
      },
      {
        line: 29,
        column: 29,
        path: '/paths/~1orders~1{orderId}/put/requestBody/content/application~1json/schema/$ref',
        message:
          "invalid $ref '#/components/schemas/Missing': the document has nothing at '/components/schemas/Missing'",
      },
      {
        line: 31,
        column: 24,
        path: '/paths/~1orders~1{orderId}/put/responses/200/$ref',
        message: `invalid $ref './common.yaml#/components/responses/Nope': ${common} has nothing at '/components/responses/Nope'`,
      },
      {
        line: 34,
        column: 9,
        path: '/paths/~1items~1{id}/parameters/0/required',
        message: "path parameter 'id' must have 'required: true'",
      },
      {
        line: 37,
        column: 26,
        path: '/paths/~1items~1{id}/get/responses/default/$ref',
        message: "invalid $ref './nowhere.yaml#/x': cannot read file './nowhere.yaml'",
      },
      {
        line: 40,
        column: 16,
        path: '/components/schemas/A/$ref',
        message: "circular $ref '#/components/schemas/B' never reaches a value",
      },
    ]);
    expect(new Set(errors.map((e) => e.file))).toEqual(new Set([file]));
  });

  it('reports an error inside a referenced file against that file', () => {
    const other = write(
      'components:\n  schemas:\n    X:\n      properties:\n        y: { $ref: "#/nope" }\n',
      'ext/other.yaml',
    );
    const text =
      head30 +
      'paths: {}\ncomponents:\n  schemas:\n    X: { $ref: "./ext/other.yaml#/components/schemas/X" }\n';
    const { errors } = checkOpenApi(text, write(text));
    expect(errors).toEqual([
      {
        file: other,
        line: 5,
        column: 20,
        path: '/components/schemas/X/properties/y/$ref',
        message: "invalid $ref '#/nope': the document has nothing at '/nope'",
      },
    ]);
  });

  it('throws OpenApiErrors from loadOpenApi and parseOpenApi', async () => {
    const file = join(fixtures, 'swagger-2.0.yaml');
    const err = await loadOpenApi(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenApiErrors);
    expect((err as OpenApiErrors).errors).toHaveLength(1);
    expect((err as Error).message).toContain(`${file}:1:10  /swagger  Swagger 2.0 is not supported`);
    expect(() => parseOpenApi('openapi: 3.0.0\n', 'x.yaml')).toThrow(OpenApiErrors);
  });

  it('reports an unreadable file', async () => {
    const file = join(dir, 'missing.yaml');
    expect((await checkOpenApiFile(file)).errors).toEqual([
      { file, path: '', message: 'cannot read OpenAPI document (ENOENT)' },
    ]);
  });
});

describe('OpenAPI 3.0 document', async () => {
  const doc = await loadOpenApi(join(fixtures, 'petstore-3.0.yaml'));
  const op = (method: string, path: string) => {
    const found = doc.operations.find((o) => o.method === method && o.path === path);
    if (!found) throw new Error(`no ${method} ${path}`);
    return found;
  };

  it('has the header fields and the operations in document order', () => {
    expect(doc).toMatchObject({ openapi: '3.0.3', title: 'Pet store', version: '1.0.0' });
    expect(doc.operations.map((o) => `${o.method} ${o.path} ${o.operationId}`)).toEqual([
      'get /pets listPets',
      'post /pets createPet',
      'get /pets/{petId} getPet',
      'delete /pets/{petId} deletePet',
    ]);
    expect(Object.keys(doc.securitySchemes)).toEqual(['bearer', 'apiKey']);
    expect(op('get', '/pets/{petId}').pointer).toBe('/paths/~1pets~1{petId}/get');
    expect(op('get', '/pets/{petId}').summary).toBe('One pet');
  });

  it('merges path-level and operation-level parameters (operation wins by name + in)', () => {
    expect(op('get', '/pets/{petId}').parameters).toEqual([
      { name: 'petId', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
      { name: 'limit', in: 'query', required: true, schema: { type: 'integer', maximum: 5 } },
      { name: 'X-Trace', in: 'header', required: false, schema: { type: 'string' } },
    ]);
    expect(op('delete', '/pets/{petId}').parameters).toEqual([
      { name: 'petId', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer' } },
    ]);
    expect(op('get', '/pets').parameters).toEqual([
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer', default: 20 } },
    ]);
  });

  it.each([
    ['get', '/pets', []],
    ['post', '/pets', [{ bearer: [] }]],
    ['get', '/pets/{petId}', [{ apiKey: [] }, { bearer: ['pets:read'] }]],
    ['delete', '/pets/{petId}', [{ bearer: [] }]],
  ])('effective security of %s %s', (method, path, security) => {
    expect(op(method, path).security).toEqual(security);
  });

  it.each([
    ['get', '/pets', { rateLimit: { per: 'user', limit: 100, window: 60 }, mfa: 'optional' }],
    [
      'post',
      '/pets',
      { rateLimit: { per: 'user', limit: 100, window: 60 }, mfa: 'required', roles: ['admin'] },
    ],
    [
      'delete',
      '/pets/{petId}',
      {
        rateLimit: { per: 'user', limit: 100, window: 60 },
        mfa: 'optional',
        owner: { lookup: 'GET /pets/{petId}', field: 'owner.id', claim: 'sub' },
        roles: ['admin'],
      },
    ],
  ])('x-rampart of %s %s merged document → path → operation', (method, path, rampart) => {
    expect(op(method, path).rampart).toEqual(rampart);
  });

  it('reads deprecated, tags, request bodies and responses (with refs into another file)', () => {
    expect(op('delete', '/pets/{petId}').deprecated).toBe(true);
    expect(op('get', '/pets').deprecated).toBe(false);
    expect(op('get', '/pets').tags).toEqual(['pets']);
    expect(op('post', '/pets').tags).toEqual([]);
    const body = op('post', '/pets').requestBody!;
    expect(body.required).toBe(true);
    expect(body.content['application/json']!.schema).toMatchObject({
      type: 'object',
      required: ['id', 'name'],
    });
    const get = op('get', '/pets/{petId}');
    expect(Object.keys(get.responses)).toEqual(['200', 'default']);
    expect(get.responses.default).toMatchObject({ description: 'an RFC 9457 problem' });
    expect(get.responses.default!.content!['application/problem+json']!.schema).toMatchObject({
      type: 'object',
    });
    expect(op('delete', '/pets/{petId}').responses).toEqual({ '204': { description: 'gone' } });
  });

  it('resolves refs across files keeping shared identity through the cycle', () => {
    const pet = dig(doc.raw, 'components', 'schemas', 'Pet');
    expect(dig(pet, 'properties', 'owner', 'properties', 'pets', 'items')).toBe(pet);
    expect(op('post', '/pets').requestBody!.content['application/json']!.schema).toBe(pet);
    const list = op('get', '/pets').responses['200']!.content!['application/json']!.schema;
    expect(dig(list, 'items')).toBe(pet);
  });
});

describe('OpenAPI 3.1 document (JSON)', async () => {
  const doc = await loadOpenApi(join(fixtures, 'tree-3.1.json'));

  it('resolves a self-referencing schema to a cyclic object', () => {
    const node = dig(doc.raw, 'components', 'schemas', 'Node');
    expect(dig(node, 'properties', 'children', 'items')).toBe(node);
    expect(doc.operations[0]!.responses['200']!.content!['application/json']!.schema).toBe(node);
    expect(() => JSON.stringify(node)).toThrow(/circular/i);
  });

  it('applies $ref siblings in 3.1 (description next to $ref)', () => {
    const node = dig(doc.raw, 'components', 'schemas', 'Node');
    expect(dig(node, 'properties', 'parent', 'description')).toBe('the parent node');
    expect(dig(node, 'properties', 'parent', 'properties')).toBe(dig(node, 'properties'));
  });

  it('unescapes ~0 and ~1 in pointers', () => {
    expect(doc.operations[0]!.parameters[0]!.schema).toEqual({ type: 'string', const: 'escaped' });
  });

  it('accepts documents without paths in 3.1', () => {
    const text = '{"openapi":"3.1.1","info":{"title":"W","version":"1"},"webhooks":{}}';
    const d = parseOpenApi(text, write(text, 'webhooks.json'));
    expect(d.operations).toEqual([]);
    expect(d.title).toBe('W');
  });
});

describe('details', () => {
  it('ignores $ref siblings in 3.0 and keeps $ref literal inside examples', () => {
    const text =
      head30 +
      'paths:\n  /a:\n    get:\n      responses:\n        "200":\n          description: ok\n          content:\n            application/json:\n              schema: { $ref: "#/components/schemas/S", description: ignored }\n              example: { $ref: not-a-ref }\ncomponents:\n  schemas:\n    S: { type: string }\n';
    const doc = parseOpenApi(text, write(text));
    const media = dig(doc.operations[0]!.raw, 'responses', '200', 'content', 'application/json');
    expect(dig(media, 'schema')).toEqual({ type: 'string' });
    expect(dig(media, 'example')).toEqual({ $ref: 'not-a-ref' });
  });

  it('keeps header parameters case-insensitive when merging', () => {
    const text =
      head30 +
      'paths:\n  /a:\n    parameters:\n      - { name: X-Id, in: header, schema: { type: string } }\n    get:\n      parameters:\n        - { name: x-id, in: header, required: true }\n      responses: {}\n';
    const doc = parseOpenApi(text, write(text));
    expect(doc.operations[0]!.parameters).toEqual([{ name: 'x-id', in: 'header', required: true }]);
  });

  it('reads a parameter schema from content when there is no schema', () => {
    const text =
      head31 +
      'paths:\n  /a:\n    get:\n      parameters:\n        - name: filter\n          in: query\n          content:\n            application/json:\n              schema: { type: object }\n        - { name: tags, in: query, style: form, explode: false, deprecated: true }\n';
    const doc = parseOpenApi(text, write(text));
    expect(doc.operations[0]!.parameters).toEqual([
      { name: 'filter', in: 'query', required: false, schema: { type: 'object' } },
      { name: 'tags', in: 'query', required: false, style: 'form', explode: false, deprecated: true },
    ]);
  });

  it.each([
    ['/orders/{orderId}/items/{itemId}', ['orderId', 'itemId']],
    ['/orders', []],
    ['/files/{path}.json', ['path']],
  ])('pathTemplateParams(%s)', (template, names) => {
    expect(pathTemplateParams(template)).toEqual(names);
  });

  it.each([
    ['/a/{b}', []],
    ['a', ["path 'a' must start with '/'"]],
    ['/a/{b', ["path template '/a/{b' has unbalanced braces"]],
    ['/a/b}', ["path template '/a/b}' has unbalanced braces"]],
    ['/a/{{b}}', ["path template '/a/{{b}}' has unbalanced braces"]],
  ])('pathTemplateProblems(%s)', (template, problems) => {
    expect(pathTemplateProblems(template)).toEqual(problems);
  });
});

describe('hostile documents (#19)', () => {
  it('refuses a YAML alias bomb in an OpenAPI document (maxAliasCount), fast, without expanding it', async () => {
    const levels = ['x-a: &a ["x","x","x","x","x","x","x","x","x"]'];
    const names = 'abcdefghi';
    for (let i = 1; i < names.length; i++)
      levels.push(
        `x-${names[i]}: &${names[i]} [${Array(9)
          .fill(`*${names[i - 1]}`)
          .join(',')}]`,
      );
    const file = write(`${head31}paths: {}\n${levels.join('\n')}\n`);
    const started = Date.now();
    const { document, errors } = await checkOpenApiFile(file);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(document).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^invalid YAML: .*alias/i);
  });
});
