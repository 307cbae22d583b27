/**
 * Learning inside `rampart start`: the learn service against both stores (snapshots merged
 * per flush, several processes adding up, privacy of what is stored), and the gateway's
 * observer seam through a real App — `learn: true` beside an enforcing document (the chain
 * unchanged: a denial is still a denial and is not learned) and the config rules of the new keys.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, configFromObject, readConfig, StartupErrors } from '../../src/cli/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { ObservedExchange } from '../../src/core/observe.ts';
import { learnedDocument } from '../../src/learn/document.ts';
import { Learner } from '../../src/learn/learner.ts';
import { listLearned, LearnService, readSnapshot } from '../../src/learn/service.ts';
import { restore, snapshot } from '../../src/learn/snapshot.ts';
import { call, FIXTURES, startUpstream } from '../helpers/gateway.ts';
import { forEachStore } from '../helpers/stores.ts';

const JWT_SECRET_LOOKING = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTQyIiwicm9sZSI6ImFkbWluIn0.c2lnbmF0dXJl';

function exchange(i: number, extra: Partial<ObservedExchange> = {}): ObservedExchange {
  const body = { id: 1000 + i, email: `person${i}@example.org`, state: i % 2 ? 'open' : 'done' };
  return {
    api: 'shop',
    base: '/',
    method: 'GET',
    target: `/orders/${1000 + i}?limit=5`,
    requestHeaders: { authorization: `Bearer ${JWT_SECRET_LOOKING}`, cookie: 'sid=s3cr3t-cookie' },
    status: 200,
    responseHeaders: { 'content-type': 'application/json' },
    responseBody: Buffer.from(JSON.stringify(body)),
    ...extra,
  };
}

/** Lets the observer's queue drain (a batch per event-loop turn). */
const turn = () => new Promise((r) => setImmediate(r));

forEachStore('learn service', (getDb) => {
  it('merges each flush into the stored snapshot; two processes add up; nothing personal is stored', async () => {
    const db = getDb();
    const clock = new ManualClock(Date.UTC(2026, 11, 2));
    const targets = [{ api: 'shop', base: '/', upstream: 'http://127.0.0.1:9' }];
    const a = new LearnService({ db, clock, log: silentLogger, targets, flushMs: 0 });
    const b = new LearnService({ db, clock, log: silentLogger, targets, flushMs: 0 });
    for (let i = 0; i < 10; i++) a.observe(exchange(i));
    // An API that does not learn is ignored by the observer.
    a.observe(exchange(99, { api: 'other' }));
    await turn();
    await a.flush();
    for (let i = 10; i < 25; i++) b.observe(exchange(i));
    b.observe(exchange(25, { target: '/orders/export', responseBody: Buffer.from('{"url":"x"}') }));
    await b.flush();
    for (let i = 25; i < 30; i++) a.observe(exchange(i));
    await a.close();
    await b.close();

    const snap = await readSnapshot(db, 'shop', '/');
    expect(snap).toBeDefined();
    expect(snap!.stats.exchanges).toBe(31);
    expect(await readSnapshot(db, 'other', '/')).toBeUndefined();
    expect(await listLearned(db)).toEqual([
      { api: 'shop', base: '/', updatedAt: clock.now(), exchanges: 31, operations: 2 },
    ]);
    const doc = learnedDocument(restore(snap!)) as {
      paths: Record<string, Record<string, { 'x-rampart-observed': { calls: number } }>>;
    };
    expect(Object.keys(doc.paths).sort()).toEqual(['/orders/export', '/orders/{orderId}']);
    expect(doc.paths['/orders/{orderId}']!.get!['x-rampart-observed'].calls).toBe(30);
    const row = await db.one<{ snapshot: string }>('SELECT snapshot FROM learn_snapshot');
    for (const secret of [JWT_SECRET_LOOKING, 's3cr3t-cookie', 'person3@example.org', '1003'])
      expect(row!.snapshot).not.toContain(secret);

    // The live document: the store plus what is not flushed yet.
    const c = new LearnService({ db, clock, log: silentLogger, targets, flushMs: 0 });
    c.observe(exchange(1, { method: 'DELETE', status: 204, responseBody: Buffer.alloc(0) }));
    const live = (await c.document('shop', '/')) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(live.paths['/orders/{orderId}']!).sort()).toEqual(['delete', 'get']);
    await c.close();
  });
});

describe('learn snapshots', () => {
  it('restore gives the document the live learner writes, and merging never alters the learner', () => {
    const learner = new Learner();
    const slugs = ['sale-2026', 'how-to-pack-light', 'winter-coats-guide'];
    for (const [i, slug] of slugs.entries())
      for (let k = 0; k < 3; k++)
        learner.observe({
          method: 'GET',
          target: `/posts/${slug}`,
          requestHeaders: {},
          status: 200,
          responseHeaders: { 'content-type': 'application/json' },
          responseBody: Buffer.from(JSON.stringify({ slug, n: i * 3 + k })),
        });
    const before = JSON.stringify(learnedDocument(learner));
    // templates() and snapshots merge folded operations into copies: twice gives the same.
    expect(JSON.stringify(learnedDocument(learner))).toBe(before);
    const snap = snapshot(learner);
    expect(JSON.stringify(learnedDocument(learner))).toBe(before);
    // Folded slugs are stored as a parameter, not as the values.
    expect(snap.operations.map((o) => o.key)).toEqual(['/posts/{}']);
    expect(JSON.stringify(snap)).not.toContain('how-to-pack-light');
    const restored = restore(JSON.parse(JSON.stringify(snap)) as typeof snap);
    // The same document but for `info` (the observed period) and the trie's node count.
    const strip = (d: Record<string, unknown>) =>
      JSON.stringify(d, (k, v: unknown) =>
        k === 'info' || (k === 'paths' && typeof v === 'object' && v !== null && 'nodes' in v)
          ? undefined
          : v,
      );
    expect(strip(learnedDocument(restored))).toBe(strip(JSON.parse(before) as Record<string, unknown>));
    // A later slug folds into the restored parameter at once.
    restored.observe({
      method: 'GET',
      target: '/posts/autumn-hiking-tips',
      requestHeaders: {},
      status: 200,
      responseHeaders: {},
    });
    expect(Object.keys((learnedDocument(restored) as { paths: object }).paths)).toEqual(['/posts/{postId}']);
  });
});

describe('learn: true beside an enforcing document (a real App)', () => {
  let dir: string;
  let app: App;
  let up: Awaited<ReturnType<typeof startUpstream>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-learn-app-'));
    up = await startUpstream((req, res, body) => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(body || JSON.stringify({ items: [{ id: 7, name: 'Lamp' }] }));
    });
    const config = configFromObject(
      {
        listen: { host: '127.0.0.1', port: 0, tls: { devCertDir: join(dir, 'tls') } },
        admin: { port: 0 },
        store: `sqlite://${join(dir, 'rampart.db')}`,
        monitor: { enabled: false },
        policies: { 'validate-request': { enabled: true } },
        apis: [
          {
            name: 'shop',
            upstream: up.url,
            learn: true,
            versions: [{ base: '/v2', spec: join(FIXTURES, 'gateway/shop-v2.yaml') }],
          },
        ],
      },
      dir,
    );
    app = await App.start({ config, baseDir: dir, log: silentLogger });
  });
  afterAll(async () => {
    await app?.stop();
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('observes what reaches the upstream and leaves the chain as it was', async () => {
    const url = app.gateway.url;
    expect((await call(`${url}/v2/items`)).status).toBe(200);
    // The shop's createItem declares an object without properties: an empty one passes.
    const order = {};
    const made = await call(`${url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(order),
    });
    expect(made.status).toBe(201);
    // Enforcement is unchanged: an undeclared path is refused and never learned.
    const refused = await call(`${url}/v2/debug/vars`);
    expect(refused.status).toBe(404);
    expect(refused.json()).toMatchObject({ type: 'https://rampart.dev/problems/not-found' });
    // So is a body the contract refuses.
    const bad = await call(`${url}/v2/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1,2]',
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    const doc = (await app.learning.document('shop', '/v2')) as {
      servers: unknown;
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    expect(doc.servers).toEqual([{ url: '/v2' }]);
    expect(Object.keys(doc.paths)).toEqual(['/items']);
    const get = doc.paths['/items']!.get!;
    expect(get.responses).toMatchObject({
      '200': {
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                items: {
                  type: 'array',
                  items: { properties: { id: { type: 'integer' }, name: { type: 'string' } } },
                },
              },
            },
          },
        },
      },
    });
    const post = doc.paths['/items']!.post!;
    expect(post.requestBody).toMatchObject({
      content: { 'application/json': { schema: { type: 'object' } } },
    });
    // Only the exchange that reached the upstream: the refused body was not learned.
    expect((post['x-rampart-observed'] as { calls: number }).calls).toBe(1);
  });
});

describe('config rules of mode and learn', () => {
  it('refuses a spec in mode: learn, a missing spec otherwise and a learnSample that does nothing, with positions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-learn-rules-'));
    try {
      const file = join(dir, 'rampart.yaml');
      const spec = join(FIXTURES, 'gateway/shop-v2.yaml');
      await writeFile(
        file,
        `apis:
  - name: one
    upstream: http://127.0.0.1:9000
    mode: learn
    versions:
      - { base: /one, spec: ${spec} }
  - name: two
    upstream: http://127.0.0.1:9001
    learnSample: 0.5
    versions:
      - { base: /two }
  - name: three
    upstream: http://127.0.0.1:9002
    mode: learning
    versions:
      - { base: /three }
`,
      );
      const err = await readConfig(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StartupErrors);
      const text = (err as StartupErrors).message;
      expect(text).toMatch(/rampart\.yaml:14:\d+\s+\/apis\/2\/mode\s/);
      await writeFile(
        file,
        (await import('node:fs')).readFileSync(file, 'utf8').replace('learning', 'learn'),
      );
      const err2 = (await readConfig(file).then(
        () => undefined,
        (e: unknown) => e,
      )) as StartupErrors;
      const text2 = err2.message;
      expect(text2).toMatch(
        /rampart\.yaml:6:\d+\s+\/apis\/0\/versions\/0\/spec\s+API 'one' is in mode: learn/,
      );
      expect(text2).toMatch(/rampart\.yaml:11:\d+\s+\/apis\/1\/versions\/0\s+spec is required/);
      expect(text2).toMatch(/rampart\.yaml:9:\d+\s+\/apis\/1\/learnSample\s+learnSample has no effect/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
