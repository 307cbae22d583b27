/**
 * Issue #18: `rampart audit -c` and `rampart code -c` record their runs in the config's
 * store (src/store/tool-runs.ts, SQLite and PostgreSQL), with history; posture and the admin
 * API read the newest recorded run, and report files under `posture.evidence` are only the
 * fallback. The CLI runs in process (`main`), against the running admin stack's own config.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/cli/app.ts';
import { main } from '../../src/cli/main.ts';
import { postureInputs } from '../../src/cli/posture-input.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { RunMeta } from '../../src/core/findings.ts';
import {
  latestToolRuns,
  MAX_RUNS_PER_TOOL,
  recordToolRun,
  toolRun,
  toolRuns,
} from '../../src/store/tool-runs.ts';
import { forEachStore } from '../helpers/stores.ts';
import { startAdminStack, type AdminStack } from './stack.ts';

const PLANT = "app.post('/calc', (req, res) => res.json(eval(req.body.expr)));\n";

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('recorded audit and code-scan runs (CLI, posture, admin API)', () => {
  let s: AdminStack;
  let config: string;
  let src: string;
  beforeAll(async () => {
    s = await startAdminStack();
    config = join(s.dir, 'rampart.json');
    src = join(s.dir, 'app-src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'app.js'), "import express from 'express';\nconst app = express();\n" + PLANT);
  }, 60_000);
  afterAll(async () => {
    await s?.close();
  });

  it('rampart audit -c records the run (twice: a history, newest first); --no-record does not', async () => {
    const first = await cli(['audit', '-c', config, '--format', 'json', '--fail-on', 'none']);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/rampart audit: run [0-9a-f-]{36} recorded in the store \(sqlite\)/);
    const second = await cli(['audit', '-c', config, '--format', 'json', '--fail-on', 'none']);
    expect(second.code).toBe(0);
    const runs = await toolRuns(s.app.db, 'audit');
    expect(runs).toHaveLength(2);
    expect(Date.parse(runs[0]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[1]!.startedAt));
    const newest = await toolRun(s.app.db, 'audit');
    const printed = JSON.parse(second.out) as { findings: unknown[] };
    expect(newest!.result.findings).toHaveLength(printed.findings.length);
    expect(newest!.result.meta.tool).toBe('audit');
    const skipped = await cli([
      'audit',
      '-c',
      config,
      '--format',
      'json',
      '--fail-on',
      'none',
      '--no-record',
    ]);
    expect(skipped.err).not.toMatch(/recorded/);
    expect(await toolRuns(s.app.db, 'audit')).toHaveLength(2);
  });

  it('rampart code -c records the run; the admin API serves its findings and the history', async () => {
    const r = await cli(['code', src, '-c', config, '--format', 'json', '--fail-on', 'none']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/rampart code: run .* recorded in the store/);
    const login = await s.signIn(s.viewer);
    const findings = await s.as(login, 'GET', '/admin/api/code-scan/findings');
    expect(findings.status, findings.text).toBe(200);
    expect(findings.body.meta.tool).toBe('code');
    expect(
      findings.body.items.some((f: { location?: { file?: string } }) => /app\.js/.test(JSON.stringify(f))),
    ).toBe(true);
    const runs = await s.as(login, 'GET', '/admin/api/code-scan/runs');
    expect(runs.status, runs.text).toBe(200);
    expect(runs.body.items).toMatchObject([
      { tool: 'code', target: src, findings: findings.body.items.length },
    ]);
    const audits = await s.as(login, 'GET', '/admin/api/audits/runs?limit=1');
    expect(audits.body.items).toHaveLength(1);
    expect(audits.body.next).not.toBeNull();
  });

  it('posture reads the newest recorded runs, not the report files listed as evidence', async () => {
    // A stale code report listed under posture.evidence.code: with a recorded run it is not used.
    const { config: loaded, baseDir } = await readConfig(config);
    const stale = join(s.dir, 'stale-code.json');
    // A real report file, not recorded (no -c).
    const written = await cli(['code', src, '--format', 'json', '-o', stale, '--fail-on', 'none']);
    expect(written.err).not.toMatch(/recorded/);
    const withEvidence = {
      ...loaded,
      posture: { ...loaded.posture, evidence: { ...loaded.posture.evidence, code: [stale] } },
    };
    const clock = new ManualClock(s.clock.now());
    const inputs = await postureInputs({ config: withEvidence, baseDir, label: config }, clock, {
      traffic: false,
    });
    const code = inputs.results.filter((x) => x.kind === 'code');
    expect(code).toHaveLength(1);
    expect(code[0]!.file).toMatch(/^store: code run /);
    expect(code[0]!.name).toBe(src);
    expect(inputs.results.filter((x) => x.kind === 'audit').map((x) => x.file)).toEqual([
      expect.stringMatching(/^store: audit run /),
    ]);
    // No recorded run of a tool: its files are the fallback.
    await s.app.db.run("DELETE FROM tool_runs WHERE tool = 'code'");
    const fallback = await postureInputs({ config: withEvidence, baseDir, label: config }, clock, {
      traffic: false,
    });
    expect(fallback.results.filter((x) => x.kind === 'code').map((x) => x.file)).toEqual([stale]);
  });

  it('a store that cannot be opened is a warning; the run is still reported', async () => {
    const broken = join(s.dir, 'broken.json');
    const raw = JSON.parse((await import('node:fs')).readFileSync(config, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      broken,
      JSON.stringify({ ...raw, store: `sqlite://${join(s.dir, 'no-such-dir', 'x.db')}` }),
    );
    const r = await cli(['code', src, '-c', broken, '--format', 'json', '--fail-on', 'none']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).meta.tool).toBe('code');
    expect(r.err).toMatch(/warning: the run was not recorded in the store/);
  });
});

forEachStore('tool runs', (getDb) => {
  const meta = (tool: 'audit' | 'code', target: string, at: number): RunMeta => ({
    tool,
    target,
    startedAt: new Date(at).toISOString(),
    finishedAt: new Date(at + 500).toISOString(),
    version: '0.1.0',
  });

  it('keeps a bounded history per tool and the newest run per target', async () => {
    const db = getDb();
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < MAX_RUNS_PER_TOOL + 5; i++)
      await recordToolRun(db, [], meta('audit', i % 2 ? 'a.yaml' : 'b.yaml', t0 + i * 1000));
    await recordToolRun(db, [], meta('code', '.', t0));
    const runs = await toolRuns(db, 'audit');
    expect(runs).toHaveLength(MAX_RUNS_PER_TOOL);
    expect(runs[0]!.startedAt).toBe(new Date(t0 + (MAX_RUNS_PER_TOOL + 4) * 1000).toISOString());
    const latest = await latestToolRuns(db, 'audit');
    expect(latest.map((r) => r.target).sort()).toEqual(['a.yaml', 'b.yaml']);
    expect(await toolRuns(db, 'code')).toHaveLength(1);
    await expect(recordToolRun(db, [], { ...meta('audit', 'x', t0), tool: 'scan' })).rejects.toThrow(
      /not a recorded tool/,
    );
  }, 60_000);
});
