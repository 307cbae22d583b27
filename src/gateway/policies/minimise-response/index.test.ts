import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../../core/openapi-loader.ts';
import type { OpenApiDocument } from '../../../core/openapi.ts';
import { LAB_SPECS } from '../../../lab/index.ts';
import type { ResponseContext } from '../../policy.ts';
import { buildPolicy, documentRoute, testContext, testRoute, testServices } from '../test-context.ts';
import { minimiseResponse } from './index.ts';

let doc: OpenApiDocument;
beforeAll(async () => {
  doc = await loadOpenApi(LAB_SPECS.v2);
});

const answer = (body: unknown): ResponseContext => ({
  status: 200,
  headers: { 'content-type': 'application/json', etag: '"v1"' },
  body: Buffer.from(JSON.stringify(body)),
  local: false,
});

describe('minimise-response', () => {
  it('drops what the schema does not declare (the doctor directory) and reports where', async () => {
    const policy = buildPolicy(minimiseResponse, {}, testServices());
    const ctx = testContext({ route: documentRoute(doc, 'get', '/doctors') });
    const res = answer({
      items: [
        {
          id: 2,
          fullName: 'Carol',
          specialty: 'Cardiology',
          email: 'c@x',
          phone: '1',
          nationalId: '900-00-0002',
        },
      ],
      limit: 20,
      offset: 0,
      debug: true,
    });
    await policy.onResponse(ctx, res);
    expect(JSON.parse(res.body!.toString())).toEqual({
      items: [{ id: 2, fullName: 'Carol', specialty: 'Cardiology' }],
      limit: 20,
      offset: 0,
    });
    expect(res.headers['content-length']).toBe(String(res.body!.length));
    expect(res.headers.etag).toBeUndefined();
    expect(ctx.events).toMatchObject([
      {
        type: 'contract-violation',
        policy: 'minimise-response',
        violations: [
          { pointer: '/items/0/email' },
          { pointer: '/items/0/phone' },
          { pointer: '/items/0/nationalId' },
          { pointer: '/debug' },
        ],
      },
    ]);
  });
  it('masks PII per API and unmasks for roles in x-rampart.visibleTo', async () => {
    const schema = {
      type: 'object',
      properties: {
        notes: { type: 'string' },
        card: { type: 'string', 'x-rampart': { visibleTo: ['billing'] } },
      },
    };
    const route = testRoute({
      api: 'shop',
      operation: { responses: { '200': { content: { 'application/json': { schema } } } } },
    });
    const policy = buildPolicy(
      minimiseResponse,
      { apis: { shop: { pii: ['card', 'email'] } } },
      testServices(),
    );
    const body = { notes: 'mail ann@shop.example', card: '4111 1111 1111 1111' };
    const patient = testContext({
      route,
      principal: { id: '1', roles: ['customer'], scopes: [], claims: {} } as never,
    });
    const r1 = answer(body);
    await policy.onResponse(patient, r1);
    expect(JSON.parse(r1.body!.toString())).toEqual({
      notes: 'mail a***@shop.example',
      card: '**** **** **** 1111',
    });
    const billing = testContext({
      route,
      principal: { id: '2', roles: ['billing'], scopes: [], claims: {} } as never,
    });
    const r2 = answer(body);
    await policy.onResponse(billing, r2);
    expect(JSON.parse(r2.body!.toString()).card).toBe('4111 1111 1111 1111');
  });
  it('leaves operations without JSON schemas out of the chain; answers that are not JSON are replaced', async () => {
    const policy = buildPolicy(minimiseResponse, {}, testServices());
    const text = testRoute({
      operation: { responses: { '200': { content: { 'text/plain': { schema: { type: 'string' } } } } } },
    });
    expect(policy.forRoute(text)).toBeUndefined();
    const ctx = testContext({ route: documentRoute(doc, 'get', '/users/me') });
    const res: ResponseContext = {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('<html>'),
      local: false,
    };
    await policy.onResponse(ctx, res);
    expect(res.status).toBe(502);
  });

  it('an answer with nothing to drop passes byte for byte; one a client could read two ways is re-serialised', async () => {
    const policy = buildPolicy(minimiseResponse, {}, testServices());
    const route = documentRoute(doc, 'get', '/doctors');
    const raw = (text: string): ResponseContext => ({
      status: 200,
      headers: { 'content-type': 'application/json', etag: '"v1"', 'content-length': String(text.length) },
      body: Buffer.from(text),
      local: false,
    });
    // Declared members only, in the upstream's own layout: the bytes (and their ETag) stay.
    const clean =
      '{ "items": [ { "id": 2, "fullName": "Carol \u00e9", "specialty": "x" } ], "limit": 20, "offset": 0 }';
    const ok = raw(clean);
    await policy.onResponse(testContext({ route }), ok);
    expect(ok.body!.toString()).toBe(clean);
    expect(ok.headers.etag).toBe('"v1"');
    // A duplicate name (nested, spelled with an escape): JSON.parse kept the last value, a
    // first-wins client would see the other — so the client gets the one value checked.
    const dup = raw(
      '{"items":[{"id":2,"fullName":"Carol","full\u004eame":"Mallory","specialty":"x"}],"limit":20,"offset":0}',
    );
    await policy.onResponse(testContext({ route }), dup);
    expect(dup.body!.toString()).toBe(
      '{"items":[{"id":2,"fullName":"Mallory","specialty":"x"}],"limit":20,"offset":0}',
    );
    expect(dup.headers['content-length']).toBe(String(dup.body!.length));
    expect(dup.headers.etag).toBeUndefined();
    // A number no double holds: the client gets the value that was checked, not the digits.
    const big = raw('{"items":[],"limit":20,"offset":9007199254740993}');
    await policy.onResponse(testContext({ route }), big);
    expect(big.body!.toString()).toBe('{"items":[],"limit":20,"offset":9007199254740992}');
  });
});
