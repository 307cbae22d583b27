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
  it('the body walk: pointers deep in arrays, the order of hits, allow by name and pointer, the string budget', async () => {
    const route = documentRoute(doc, 'post', '/records');
    const run = async (body: unknown, opts: Record<string, unknown> = {}, allow?: string[]) => {
      const policy = buildPolicy(injectionGuard, opts, testServices());
      const r = allow ? { ...route, rampart: { ...route.rampart, injection: { allow } } } : route;
      const d = (await policy.onRequest(
        testContext({ route: r, body: Buffer.from(JSON.stringify(body)) }),
      )) as Denial | undefined;
      return d ? (d.problem.errors as Array<{ pointer: string; rule: string }>)[0] : undefined;
    };
    const lines = [{ note: 'fine' }, { note: '<script>x</script>' }, { note: "a' OR '1'='1" }];
    expect(await run({ a: [[{ b: ['ok', '{{7*7}}'] }]] })).toMatchObject({ pointer: '/body/a/0/0/b/1' });
    expect(await run({ 'x/y~z': ['..%2F..%2Fetc%2Fpasswd'] })).toMatchObject({ pointer: '/body/x~1y~0z/0' });
    // Items in order, members last to first: the same hit each time.
    expect(await run({ lines })).toMatchObject({ pointer: '/body/lines/1/note', rule: 'xss-tag' });
    expect(await run({ first: '<script>x</script>', last: '{{7*7}}' })).toMatchObject({
      pointer: '/body/last',
    });
    // An object's operator keys are found before its values are looked at.
    expect(await run({ f: [{ y: '<script>x</script>', x: { $gt: 1 } }] })).toMatchObject({
      pointer: '/body/f/0/x/$gt',
      rule: 'nosql-operator-key',
    });
    expect(await run({ f: [{ $gt: 1, y: '<script>x</script>' }] })).toMatchObject({
      pointer: '/body/f/0/$gt',
    });
    // allow by pointer: exactly that value; by name: that member, its items and what is in it.
    expect(await run({ lines }, {}, ['/body/lines/1/note'])).toMatchObject({ pointer: '/body/lines/2/note' });
    expect(await run({ lines }, {}, ['note'])).toBeUndefined();
    expect(await run({ tags: ['<script>x</script>', { deep: '{{7*7}}' }] }, {}, ['tags'])).toBeUndefined();
    expect(await run({ tags: ['fine'], other: '{{7*7}}' }, {}, ['tags'])).toMatchObject({
      pointer: '/body/other',
    });
    expect(await run('{{7*7}}')).toMatchObject({ pointer: '/body' });
    // maxStrings bounds the strings looked at (the documented limit), counted in walk order.
    expect(await run({ lines }, { maxStrings: 2 })).toMatchObject({ pointer: '/body/lines/1/note' });
    expect(await run({ lines }, { maxStrings: 1 })).toBeUndefined();
  });
});
