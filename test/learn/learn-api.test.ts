/**
 * The same proof on a differently shaped API (test/fixtures/learn-api/): kebab-case nested
 * resources, UUID ids, snake_case JSON, X-Api-Key, a literal beside a UUID, slugs, dates,
 * CSV — and a scanner's 3,000 random 404 paths, which must neither be documented nor open a
 * node. Figures: docs/learn.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { KEYS, startLearnApi } from '../fixtures/learn-api/server.ts';
import { figures, learningProxy } from './measure.ts';

const SPEC = join(import.meta.dirname, '../fixtures/learn-api/openapi.yaml');
let api: Awaited<ReturnType<typeof startLearnApi>>;
let result: Awaited<ReturnType<Awaited<ReturnType<typeof learningProxy>>['finish']>>;
let learner: Awaited<ReturnType<typeof learningProxy>>['learner'];

beforeAll(async () => {
  api = await startLearnApi();
  const run = await learningProxy(api.url);
  learner = run.learner;
  const [ada, lin] = Object.keys(KEYS);
  const as = (key: string) => ({ headers: { 'x-api-key': key } });
  const ok = async (method: string, path: string, opts: Parameters<typeof run.send>[2], status = 200) => {
    const r = await run.send(method, path, opts);
    expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
  };
  await ok('GET', '/api/status', {});
  await ok('GET', '/api/work-spaces', as(ada!));
  await ok('GET', '/api/work-spaces?page_size=2', as(lin!));
  await ok('GET', '/api/work-spaces', {}, 401);
  await ok('POST', '/api/work-spaces', { ...as(ada!), body: { name: 'Dorado' } }, 201);
  await ok('GET', '/api/work-spaces/export', as(ada!));
  for (const w of api.workspaces.slice(0, 3)) {
    await ok('GET', `/api/work-spaces/${w.id}`, as(lin!));
    await ok('GET', `/api/work-spaces/${w.id}/task-lists`, as(ada!));
    for (const l of w.lists) {
      await ok('GET', `/api/work-spaces/${w.id}/task-lists/${l.id}/tasks`, as(ada!));
      await ok('GET', `/api/work-spaces/${w.id}/task-lists/${l.id}/tasks?state=open`, as(lin!));
      for (const t of l.tasks)
        await ok('GET', `/api/work-spaces/${w.id}/task-lists/${l.id}/tasks/${t.id}`, as(ada!));
      const t = l.tasks[0]!;
      await ok('PATCH', `/api/work-spaces/${w.id}/task-lists/${l.id}/tasks/${t.id}`, {
        ...as(lin!),
        body: { state: 'done' },
      });
    }
  }
  await ok(
    'GET',
    `/api/work-spaces/${api.workspaces[0]!.id}/task-lists/00000000-0000-4000-8000-000000000000/tasks`,
    as(ada!),
    404,
  );
  for (const tag of api.tags) await ok('GET', `/api/tags/${tag}`, as(ada!));
  for (const day of ['2026-11-29', '2026-11-30', '2026-12-01'])
    await ok('GET', `/api/reports/daily/${day}`, as(lin!));
  await ok('GET', '/internal/metrics', {});
  // A scanner: thousands of distinct paths, all 404.
  for (let i = 0; i < 3000; i++) await run.send('GET', `/api/probe-${i.toString(36)}/admin.php`, as(ada!));
  result = await run.finish([{ spec: SPEC }]);
  console.log(`learn-api:\n${figures(result.comparison)}`);
}, 120_000);

afterAll(async () => {
  await api?.close();
});

describe('learn mode in front of a differently shaped API', () => {
  it('finds every documented operation with exact templates (UUIDs, slugs, dates folded; /export kept)', () => {
    const m = result.comparison.metrics;
    expect(m.operationRecall.value).toBe(1);
    expect(m.operationPrecision.of - m.operationPrecision.matched).toBe(1);
    expect(m.templatesExact.value).toBe(1);
    expect(Object.keys(result.doc.paths as object)).toEqual(
      expect.arrayContaining([
        '/api/work-spaces/export',
        '/api/work-spaces/{workSpaceId}/task-lists/{taskListId}/tasks/{taskId}',
        '/api/tags/{tagId}',
        '/api/reports/daily/{dailyId}',
      ]),
    );
  });

  it('matches property names, types and formats, and the API-key security', () => {
    const m = result.comparison.metrics;
    expect(m.propertyPrecision.value).toBeGreaterThanOrEqual(0.95);
    expect(m.propertyRecall.value).toBeGreaterThanOrEqual(0.95);
    expect(m.propertyTypes.value).toBeGreaterThanOrEqual(0.95);
    expect(m.security.value).toBe(1);
    const paths = result.doc.paths as Record<string, Record<string, Record<string, any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const ws =
      paths['/api/work-spaces/{workSpaceId}']!.get!.responses['200'].content['application/json'].schema;
    expect(ws.properties.id.format).toBe('uuid');
    expect(ws.properties.owner_email.format).toBe('email');
    expect(ws.properties.homepage.format).toBe('uri');
    expect(ws.properties.created_at.format).toBe('date-time');
    expect(ws.properties.last_login_ip.format).toBe('ipv4');
    const task =
      paths['/api/work-spaces/{workSpaceId}/task-lists/{taskListId}/tasks/{taskId}']!.get!.responses['200']
        .content['application/json'].schema;
    expect(task.properties.state.enum).toEqual(['blocked', 'done', 'open']);
    expect(task.properties.due_on.type).toEqual(['string', 'null']);
    expect(task.properties.assignee.properties.avatar_url.type).toEqual(['string', 'null']);
    expect(paths['/api/work-spaces/{workSpaceId}']!.get!.security).toEqual([
      { 'headerApiKey_x-api-key': [] },
    ]);
    expect(paths['/api/status']!.get!.security).toEqual([]);
  });

  it('reports /internal/metrics (shadow) and billing_email (undeclared) as findings', () => {
    expect(result.comparison.shadow.map((s) => s.operation)).toEqual(['GET /internal/metrics']);
    const undeclared = result.findings
      .filter((f) => f.check === 'learn/undeclared-property')
      .map((f) => `${f.operation} ${String(f.evidence.details?.property)}`);
    expect(undeclared).toEqual(
      expect.arrayContaining([
        'GET /api/work-spaces/{workspace_id} /billing_email',
        'GET /api/work-spaces /data/*/billing_email',
      ]),
    );
  });

  it('stays bounded under a scanner: nothing of the 404s documented, no node opened, no key kept', () => {
    expect(Object.keys(result.doc.paths as object).some((p) => p.includes('probe'))).toBe(false);
    expect(learner.trie.stats.opened).toBe(0);
    expect(learner.candidates.size).toBeLessThanOrEqual(learner.limits.maxCandidates);
    for (const key of Object.keys(KEYS)) expect(result.text).not.toContain(key);
    expect(result.text).not.toMatch(/tasks\.example|Apollo|billing\d/);
  });
});
