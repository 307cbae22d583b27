import { describe, expect, it } from 'vitest';
import { parseOpenApi } from '../core/openapi-loader.ts';
import { compare, comparisonFindings, documentBase, flatten } from './compare.ts';

const documented = parseOpenApi(
  JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'd', version: '1' },
    servers: [{ url: 'https://api.example/v2' }],
    paths: {
      '/orders/{orderId}': {
        parameters: [{ name: 'orderId', in: 'path', required: true }],
        get: {
          security: [{ bearer: [] }],
          responses: {
            '200': {
              description: 'ok',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      id: { type: 'integer' },
                      total: { type: 'number' },
                      meta: { type: 'object' },
                    },
                  },
                },
              },
            },
          },
        },
      },
      '/orders/export': { get: { responses: { '200': { description: 'csv' } } } },
      '/files/{name}': {
        parameters: [{ name: 'name', in: 'path', required: true }],
        get: { responses: { '200': { description: 'file' } } },
      },
      '/legacy': { get: { responses: { '200': { description: 'old' } } } },
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  }),
  'documented.json',
);

const learned = parseOpenApi(
  JSON.stringify({
    openapi: '3.1.0',
    info: { title: 'l', version: '1' },
    paths: {
      '/v2/orders/{orderId}': {
        parameters: [{ name: 'orderId', in: 'path', required: true }],
        get: {
          security: [{ bearerAuth: [] }],
          responses: {
            '200': {
              description: 'ok',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      id: { type: 'integer' },
                      total: { type: 'integer' },
                      meta: { type: 'object', properties: { anything: { type: 'string' } } },
                      ssn: { type: 'string', 'x-rampart-observed': { pii: ['ssn'] } },
                    },
                  },
                },
              },
            },
          },
          'x-rampart-observed': { calls: 3 },
        },
      },
      '/v2/orders/export': { get: { security: [], responses: { '200': { description: 'csv' } } } },
      '/v2/files/a.txt': { get: { responses: { '200': { description: 'file' } } } },
      '/debug': {
        get: {
          security: [],
          responses: { '200': { description: 'x' } },
          'x-rampart-observed': { calls: 1, statuses: { '200': 1 } },
        },
      },
    },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
  }),
  'learned.json',
);

describe('a learned document against a documented one', () => {
  const c = compare(learned, [{ doc: documented, base: documentBase(documented) }]);

  it('matches the most literal template; a documented parameter covers a learned literal, not the reverse', () => {
    expect(documentBase(documented)).toBe('/v2');
    expect(c.matches.map((m) => [m.learned, m.documented, m.templateExact])).toEqual([
      ['GET /v2/orders/{orderId}', 'GET /v2/orders/{orderId}', true],
      ['GET /v2/orders/export', 'GET /v2/orders/export', true],
      ['GET /v2/files/a.txt', 'GET /v2/files/{name}', false],
    ]);
    expect(c.shadow).toEqual([{ operation: 'GET /debug', calls: 1, statuses: { '200': 1 }, public: true }]);
    expect(c.neverCalled.map((n) => n.operation)).toEqual(['GET /v2/legacy']);
  });

  it('reports undeclared properties, except under an object that declares none', () => {
    expect(c.undeclared.map((u) => u.property)).toEqual(['/ssn']);
    expect(c.metrics.propertyTypes).toEqual({ matched: 3, of: 3, value: 1 });
    expect(c.metrics.security).toEqual({ matched: 2, of: 2, value: 1 });
  });

  it('turns the comparison into findings of the shared model', () => {
    const f = comparisonFindings(c, 'learned.json');
    expect(f.map((x) => [x.check, x.owasp, x.severity, x.operation])).toEqual([
      ['learn/shadow-endpoint', 'API9:2023', 'high', 'GET /debug'],
      ['learn/never-called', 'API9:2023', 'info', 'GET /v2/legacy'],
      ['learn/undeclared-property', 'API3:2023', 'high', 'GET /v2/orders/{orderId}'],
    ]);
    expect(new Set(f.map((x) => x.id)).size).toBe(3);
    expect(comparisonFindings(c, 'learned.json').map((x) => x.id)).toEqual(f.map((x) => x.id));
  });

  it('flattens allOf and arrays into pointers', () => {
    const flat = flatten({
      allOf: [
        { properties: { a: { type: 'string' } } },
        { properties: { list: { type: 'array', items: { properties: { b: { type: 'integer' } } } } } },
      ],
    });
    expect([...flat.keys()]).toEqual(['/a', '/list', '/list/*/b']);
  });
});
