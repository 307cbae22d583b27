/**
 * Recorded runs of the static tools (`rampart audit`, `rampart code`) in the store's
 * `tool_runs` table (migration 0620): each run's full result (findings and meta), newest
 * first, a bounded history per tool. Posture and the admin API read the newest run from here;
 * report files listed under `posture.evidence` are the fallback when none is recorded.
 */
import { randomUUID } from 'node:crypto';
import type { Finding, RunMeta } from '../core/findings.ts';
import type { Db } from './types.ts';

export type RecordedTool = 'audit' | 'code';

/** Runs kept per tool; older ones are deleted when a new one is recorded. */
export const MAX_RUNS_PER_TOOL = 200;

export interface ToolRunSummary {
  id: string;
  tool: RecordedTool;
  target: string;
  startedAt: string;
  finishedAt: string;
  findings: number;
}

export interface ToolRun extends ToolRunSummary {
  result: { findings: Finding[]; meta: RunMeta };
}

type RunRow = {
  id: string;
  tool: string;
  target: string;
  started_at: number;
  finished_at: number;
  findings: number;
  report?: string;
};

const summary = (r: RunRow): ToolRunSummary => ({
  id: r.id,
  tool: r.tool as RecordedTool,
  target: r.target,
  startedAt: new Date(r.started_at).toISOString(),
  finishedAt: new Date(r.finished_at).toISOString(),
  findings: r.findings,
});

/** Records a run; returns its id. Keeps the newest {@link MAX_RUNS_PER_TOOL} runs of the tool. */
export async function recordToolRun(db: Db, findings: Finding[], meta: RunMeta): Promise<string> {
  if (meta.tool !== 'audit' && meta.tool !== 'code') throw new Error(`not a recorded tool: ${meta.tool}`);
  const id = randomUUID();
  const started = Date.parse(meta.startedAt);
  const finished = Date.parse(meta.finishedAt);
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO tool_runs (id, tool, target, started_at, finished_at, findings, report)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, meta.tool, meta.target, started, finished, findings.length, JSON.stringify({ findings, meta })],
    );
    const cut = await tx.one<{ t: number }>(
      'SELECT started_at AS t FROM tool_runs WHERE tool = $1 ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET $2',
      [meta.tool, MAX_RUNS_PER_TOOL - 1],
    );
    if (cut) await tx.run('DELETE FROM tool_runs WHERE tool = $1 AND started_at < $2', [meta.tool, cut.t]);
  });
  return id;
}

/** The tool's runs, newest first (summaries, no findings). */
export async function toolRuns(db: Db, tool: RecordedTool): Promise<ToolRunSummary[]> {
  const rows = await db.query<RunRow>(
    `SELECT id, tool, target, started_at, finished_at, findings FROM tool_runs
     WHERE tool = $1 ORDER BY started_at DESC, id DESC`,
    [tool],
  );
  return rows.map(summary);
}

/** One run with its findings, or the newest of the tool when `id` is not given. */
export async function toolRun(db: Db, tool: RecordedTool, id?: string): Promise<ToolRun | undefined> {
  const row = await db.one<RunRow>(
    id === undefined
      ? 'SELECT * FROM tool_runs WHERE tool = $1 ORDER BY started_at DESC, id DESC LIMIT 1'
      : 'SELECT * FROM tool_runs WHERE tool = $1 AND id = $2',
    id === undefined ? [tool] : [tool, id],
  );
  if (!row?.report) return undefined;
  return { ...summary(row), result: JSON.parse(row.report) as ToolRun['result'] };
}

/** The newest run of each target of a tool (what posture counts), newest first. */
export async function latestToolRuns(db: Db, tool: RecordedTool): Promise<ToolRun[]> {
  const seen = new Set<string>();
  const out: ToolRun[] = [];
  for (const s of await toolRuns(db, tool)) {
    if (seen.has(s.target)) continue;
    seen.add(s.target);
    const r = await toolRun(db, tool, s.id);
    if (r) out.push(r);
  }
  return out;
}
