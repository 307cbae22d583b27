/**
 * `rampart learn` as a user runs it: a real child process in front of a real upstream, the
 * document written every --flush seconds and on SIGTERM; an upstream that is down is
 * reported, not learned; `learn diff` reports findings; bad flags exit 2 with a precise message.
 */
import { existsSync, readFileSync, watch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';
import type { CommandIO } from '../../src/cli/command.ts';
import { startCli } from '../helpers/cli-process.ts';
import { KEYS, startLearnApi } from '../fixtures/learn-api/server.ts';

const SPEC = join(import.meta.dirname, '../fixtures/learn-api/openapi.yaml');
let dir: string;
let api: Awaited<ReturnType<typeof startLearnApi>>;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Resolves once `file` exists (the proxy's periodic write), without polling on a timer. */
function appears(file: string): Promise<void> {
  return new Promise((resolve) => {
    if (existsSync(file)) return resolve();
    const w = watch(dir, () => {
      if (existsSync(file)) {
        w.close();
        resolve();
      }
    });
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-learn-cli-'));
  api = await startLearnApi();
});

afterAll(async () => {
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('rampart learn', () => {
  it('proxies, writes the document every --flush seconds and on SIGTERM', async () => {
    const out = join(dir, 'learned.yaml');
    const cli = startCli(
      ['learn', '--upstream', api.url, '--listen', '127.0.0.1:0', '--out', out, '--flush', '1'],
      dir,
    );
    const [, url] = await cli.waitFor(/proxy on (http:\/\/\S+) →/);
    const key = Object.keys(KEYS)[0]!;
    for (const w of api.workspaces.slice(0, 2)) {
      const r = await request(`${url}/api/work-spaces/${w.id}`, { headers: { 'x-api-key': key } });
      expect(r.statusCode).toBe(200);
      expect(((await r.body.json()) as { id: string }).id).toBe(w.id);
    }
    await appears(out);
    cli.child.kill('SIGTERM');
    expect(await cli.exit).toBe(0);
    expect(cli.lines.join('\n')).toMatch(/Learned 1 operations from 2 exchanges → /);
    const doc = parse(readFileSync(out, 'utf8')) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(['/api/work-spaces/{workSpaceId}']);
    expect(readFileSync(out, 'utf8')).not.toContain(key);
  });

  it('answers 503 problem+json when the upstream is down, reports it, learns nothing from it (--max-duration)', async () => {
    const out = join(dir, 'down.json');
    const upstream = `http://127.0.0.1:${await closedPort()}`;
    const cli = startCli(
      ['learn', '--upstream', upstream, '--listen', '127.0.0.1:0', '--out', out, '--max-duration', '2'],
      dir,
    );
    const [, url] = await cli.waitFor(/proxy on (http:\/\/\S+) →/);
    const r = await request(`${url}/orders/1`);
    expect(r.statusCode).toBe(503);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(((await r.body.json()) as { type: string }).type).toBe(
      'https://rampart.dev/problems/upstream-unavailable',
    );
    expect(await cli.exit).toBe(0);
    expect(cli.lines.join('\n')).toMatch(/the upstream failed 1 time\(s\), last: ECONNREFUSED/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as {
      paths: object;
      'x-rampart-observed': Record<string, unknown>;
    };
    expect(doc.paths).toEqual({});
    expect(doc['x-rampart-observed']).toMatchObject({ upstreamErrors: 1, skipped: { 'upstream-down': 1 } });
  });

  it('learn diff reports the shadow endpoint and the undeclared property as findings', async () => {
    const out = join(dir, 'diff.yaml');
    const cli = startCli(['learn', '--upstream', api.url, '--listen', '127.0.0.1:0', '--out', out], dir);
    const [, url] = await cli.waitFor(/proxy on (http:\/\/\S+) →/);
    await (await request(`${url}/internal/metrics`)).body.text();
    const w = api.workspaces[0]!.id;
    await (
      await request(`${url}/api/work-spaces/${w}`, { headers: { 'x-api-key': Object.keys(KEYS)[1]! } })
    ).body.text();
    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(0);
    const r = await run('learn', 'diff', out, '--spec', SPEC, '--format', 'json');
    expect(r.code).toBe(1); // the public shadow endpoint is high
    const report = JSON.parse(r.out) as {
      meta: { tool: string };
      findings: Array<{ check: string; owasp: string; operation: string }>;
    };
    expect(report.meta.tool).toBe('learn');
    expect(report.findings.map((f) => [f.check, f.owasp, f.operation])).toEqual(
      expect.arrayContaining([
        ['learn/shadow-endpoint', 'API9:2023', 'GET /internal/metrics'],
        ['learn/undeclared-property', 'API3:2023', 'GET /api/work-spaces/{workspace_id}'],
        ['learn/never-called', 'API9:2023', 'GET /api/status'],
      ]),
    );
    const text = await run('learn', 'diff', out, '--spec', SPEC, '--fail-on', 'none');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/operations {2}precision 50\.0 % \(1\/2\) {2}recall 9\.1 % \(1\/11\)/);
  });

  it.each([
    [[], '--upstream URL is required'],
    [['--upstream', 'ftp://x'], '--upstream must be an http or https URL, got ftp:'],
    [['--upstream', 'nope'], "--upstream is not a URL: 'nope'"],
    [['--upstream', 'http://x/?a=1'], '--upstream is a base URL: no query or fragment'],
    [
      ['--upstream', 'http://x', '--listen', '8080'],
      "--listen expects HOST:PORT, e.g. 127.0.0.1:8080, got '8080'",
    ],
    [
      ['--upstream', 'http://x', '--listen', 'h:70000'],
      "--listen expects a port number 0-65535, got '70000'",
    ],
    [
      ['--upstream', 'http://x', '--sample', '1.5'],
      "--sample expects a rate from 0 to 1, e.g. 0.1, got '1.5'",
    ],
    [
      ['--upstream', 'http://x', '--flush', '0'],
      "--flush expects a whole number of seconds 1-2592000, got '0'",
    ],
    [
      ['--upstream', 'http://x', '--max-duration', '1.5'],
      "--max-duration expects a whole number of seconds 1-2592000, got '1.5'",
    ],
    [['--upstream', 'http://x', '--out', ''], '--out needs a file'],
    [['diff'], 'diff needs one learned document'],
    [['diff', 'a.yaml'], 'diff needs at least one --spec FILE'],
    [['diff', 'a.yaml', '--spec', 'b.yaml', '--format', 'pdf'], '--format expects one of'],
  ])('learn %j → exit 2: %s', async (argv, message) => {
    const r = await run('learn', ...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`rampart learn: ${message}`);
    expect(r.err).toMatch(/Usage: rampart learn/);
  });
});
