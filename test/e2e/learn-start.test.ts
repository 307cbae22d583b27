/**
 * Learning inside `rampart start`, end to end with real processes: an API in mode: learn in
 * front of the task-tracker fixture (everything forwarded, undeclared paths included), real
 * traffic, SIGTERM (the final flush into the SQLite store), `rampart learn export`, `rampart
 * learn promote` (rampart.yaml edited in place, comments kept, passes `rampart check`), a
 * restart — and the gateway now refuses an undeclared path with its problem type.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startCli, type Running } from '../helpers/cli-process.ts';
import { call } from '../helpers/gateway.ts';
import { KEYS, startLearnApi } from '../fixtures/learn-api/server.ts';

const CONFIG = (upstream: string) => `# The task tracker, learning first.
listen: { host: 127.0.0.1, port: 0, tls: { devCertDir: ./tls } }
admin: { port: 0 }
store: sqlite://./rampart.db
apis:
  - name: tasks # the tracker
    upstream: ${upstream}
    mode: learn # no document yet
    versions:
      - base: /
`;

async function exited(r: Running): Promise<number | null> {
  return r.exit;
}

describe('rampart start with mode: learn, then learn export and promote', () => {
  let api: Awaited<ReturnType<typeof startLearnApi>>;
  let dir: string;
  let file: string;
  const running: Running[] = [];
  beforeAll(async () => {
    api = await startLearnApi();
    dir = await mkdtemp(join(tmpdir(), 'rampart-learn-start-'));
    file = join(dir, 'rampart.yaml');
    await writeFile(file, CONFIG(api.url));
  });
  afterAll(async () => {
    for (const r of running)
      if (r.child.exitCode === null) {
        r.child.kill('SIGKILL');
        await r.exit;
      }
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = async (args: string[]) => {
    const r = startCli(args, dir);
    running.push(r);
    const code = await exited(r);
    return { code, text: r.lines.join('\n') };
  };

  it('learns what passes, exports it, promotes it, and then enforces it', async () => {
    // Nothing learned yet: a clear error, exit 1; an unknown API is a usage error (2).
    const none = await cli(['learn', 'export', '-c', file, '--api', 'tasks']);
    expect(none.code).toBe(1);
    expect(none.text).toMatch(/no store at .*nothing learned yet/);
    const unknown = await cli(['learn', 'export', '-c', file, '--api', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.text).toMatch(/no API 'nope' in .*\(APIs: tasks\)/);
    expect((await cli(['check', '-c', file])).code).toBe(0);

    const gw1 = startCli(['start', '-c', file], dir);
    running.push(gw1);
    const url = (await gw1.waitFor(/Rampart gateway\s+(https:\/\/\S+)/))[1]!;
    const [ada] = Object.keys(KEYS);
    const as = { headers: { 'x-api-key': ada! } };
    const status = await call(`${url}/api/status`);
    expect(status.status, status.text).toBe(200);
    expect((await call(`${url}/api/work-spaces`, as)).status).toBe(200);
    expect((await call(`${url}/api/work-spaces`)).status).toBe(401);
    for (const w of api.workspaces) {
      const r = await call(`${url}/api/work-spaces/${w.id}`, as);
      expect(r.status).toBe(200);
      // The pre-routing policies still apply in learn mode: security headers and a request id.
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-request-id']).toBeTruthy();
    }
    // Undeclared paths are forwarded while learning (nothing is blocked).
    const metrics = await call(`${url}/internal/metrics`);
    expect(metrics.status).toBe(200);
    gw1.child.kill('SIGTERM');
    expect(await gw1.exit).toBe(0);

    const exported = await cli(['learn', 'export', '-c', file, '--api', 'tasks', '--out', 'learned.yaml']);
    expect(exported.code, exported.text).toBe(0);
    const learned = parse(await readFile(join(dir, 'learned.yaml'), 'utf8')) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    expect(learned.openapi).toBe('3.1.0');
    expect(Object.keys(learned.paths).sort()).toEqual([
      '/api/status',
      '/api/work-spaces',
      '/api/work-spaces/{workSpaceId}',
      '/internal/metrics',
    ]);
    expect(learned.paths['/api/work-spaces']!.get!.security).toEqual([{ 'headerApiKey_x-api-key': [] }]);
    const text = await readFile(join(dir, 'learned.yaml'), 'utf8');
    expect(text).not.toContain(ada!); // no credential is kept
    expect(text).not.toContain('@tasks.example'); // nor a personal value

    // The reviewed document: the debug endpoint is dropped before promotion.
    delete learned.paths['/internal/metrics'];
    const { stringify } = await import('yaml');
    await writeFile(join(dir, 'reviewed.yaml'), stringify(learned));
    const promoted = await cli(['learn', 'promote', '-c', file, '--api', 'tasks', '--from', 'reviewed.yaml']);
    expect(promoted.code, promoted.text).toBe(0);
    const config = await readFile(file, 'utf8');
    expect(config).toContain('# The task tracker, learning first.');
    expect(config).toContain('- name: tasks # the tracker');
    expect(config).not.toContain('mode: learn');
    expect(config).toMatch(/spec: \.\/tasks-openapi\.yaml/);
    expect((await cli(['check', '-c', file])).code).toBe(0);
    // A second promotion does not overwrite the written document without --force.
    const again = await cli(['learn', 'promote', '-c', file, '--api', 'tasks', '--from', 'reviewed.yaml']);
    expect(again.code).toBe(1);
    expect(again.text).toMatch(/tasks-openapi\.yaml exists: .*--force/);

    const gw2 = startCli(['start', '-c', file], dir);
    running.push(gw2);
    const url2 = (await gw2.waitFor(/Rampart gateway\s+(https:\/\/\S+)/))[1]!;
    expect((await call(`${url2}/api/status`)).status).toBe(200);
    // The promoted security requirement is enforced: the gateway knows no upstream API key.
    const keyed = await call(`${url2}/api/work-spaces/${api.workspaces[0]!.id}`, as);
    expect(keyed.status).toBe(401);
    expect(keyed.headers['content-type']).toMatch(/^application\/problem\+json/);
    const refused = await call(`${url2}/internal/metrics`);
    expect(refused.status).toBe(404);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ type: 'https://rampart.dev/problems/not-found' });
    gw2.child.kill('SIGTERM');
    expect(await gw2.exit).toBe(0);
  }, 400_000);
});
