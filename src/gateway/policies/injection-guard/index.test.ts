import { beforeAll, describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../../core/openapi-loader.ts';
import type { OpenApiDocument } from '../../../core/openapi.ts';
import { LAB_SPECS } from '../../../lab/index.ts';
import type { Denial } from '../../policy.ts';
import { buildPolicy, documentRoute, testContext, testServices } from '../test-context.ts';
import { injectionGuard } from './index.ts';

let doc: OpenApiDocument;
beforeAll(async () => {
  doc = await loadOpenApi(LAB_SPECS.v2);
});

const TYPE = 'https://rampart.dev/problems/injection-detected';

describe('injection-guard', () => {
  it('refuses SQL injection in a query parameter, naming the pointer, never the value', async () => {
    const policy = buildPolicy(injectionGuard, {}, testServices());
    const q = encodeURIComponent("x' AND 1234=1234 AND 'abc'='abc");
    const ctx = testContext({ route: documentRoute(doc, 'get', '/records'), query: `q=${q}` });
    const d = (await policy.onRequest(ctx)) as Denial;
    expect(d.problem).toMatchObject({
      type: TYPE,
      status: 400,
      errors: [{ pointer: '/query/q', kind: 'sql' }],
    });
    expect(JSON.stringify(d.problem)).not.toContain('1234');
    expect(ctx.events).toMatchObject([
      { type: 'contract-violation', policy: 'injection-guard', action: 'blocked' },
    ]);
  });
  it('NoSQL operator keys in bodies and operator parameter names', async () => {
    const policy = buildPolicy(injectionGuard, {}, testServices());
    const body = testContext({
      route: documentRoute(doc, 'post', '/auth/login'),
      body: Buffer.from('{"username":"alice","password":{"$ne":null}}'),
    });
    expect(((await policy.onRequest(body)) as Denial).problem).toMatchObject({
      errors: [{ pointer: '/body/password/$ne', kind: 'nosql' }],
    });
    const param = testContext({ route: documentRoute(doc, 'get', '/records'), query: 'q[$regex]=.*' });
    expect(((await policy.onRequest(param)) as Denial).problem.type).toBe(TYPE);
  });
  it('script and template injection deep in a body', async () => {
    const policy = buildPolicy(injectionGuard, {}, testServices());
    const ctx = testContext({
      route: documentRoute(doc, 'post', '/records'),
      body: Buffer.from(JSON.stringify({ title: 'x', notes: 'see {{7*7}}' })),
    });
    expect(((await policy.onRequest(ctx)) as Denial).problem).toMatchObject({
      errors: [{ pointer: '/body/notes', kind: 'template' }],
    });
  });
  it('ordinary text passes', async () => {
    const policy = buildPolicy(injectionGuard, {}, testServices());
    const ctx = testContext({
      route: documentRoute(doc, 'post', '/records'),
      body: Buffer.from(
        JSON.stringify({ title: "O'Brien's diary", notes: 'Mild; mornings. "Better" after tea.' }),
      ),
    });
    expect(await policy.onRequest(ctx)).toBeUndefined();
  });
  it('per-field opt-out (x-rampart.injection.allow) and per-operation off', async () => {
    const policy = buildPolicy(injectionGuard, {}, testServices());
    const route = documentRoute(doc, 'post', '/records');
    const allow = { ...route, rampart: { ...route.rampart, injection: { allow: ['notes'] } } };
    const body = Buffer.from(
      JSON.stringify({ title: 'snippet', notes: "SELECT * FROM t WHERE a = 'b' -- x" }),
    );
    expect(await policy.onRequest(testContext({ route: allow, body }))).toBeUndefined();
    const titleAttack = Buffer.from(JSON.stringify({ title: "x' OR '1'='1", notes: 'fine' }));
    expect(
      ((await policy.onRequest(testContext({ route: allow, body: titleAttack }))) as Denial).problem.type,
    ).toBe(TYPE);
    const off = { ...route, rampart: { ...route.rampart, injection: { enabled: false } } };
    expect(policy.forRoute(off)).toBeUndefined();
  });
  it('report mode forwards and reports', async () => {
    const policy = buildPolicy(injectionGuard, { mode: 'report' }, testServices());
    const ctx = testContext({
      route: documentRoute(doc, 'get', '/records'),
      query: 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
    });
    expect(await policy.onRequest(ctx)).toBeUndefined();
    expect(ctx.events).toMatchObject([
      { action: 'reported', violations: [{ pointer: '/query/q', keyword: 'xss-tag' }] },
    ]);
  });
});
