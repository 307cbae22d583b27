/**
 * The posture history: one JSON file (`posture.history`) holding the last runs, oldest
 * first. A file rather than a store table because `rampart posture` runs where no store
 * lives — in CI, against a config and stored results — and CI keeps files (cache,
 * artifacts, a commit) but not databases; the admin API reads the same file. Written
 * atomically (temporary file + rename) so a crash never leaves half a history.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PostureRun } from './types.ts';

const isRun = (v: unknown): v is PostureRun =>
  v !== null &&
  typeof v === 'object' &&
  typeof (v as PostureRun).at === 'string' &&
  typeof (v as PostureRun).score === 'number' &&
  typeof (v as PostureRun).items === 'object';

/** The runs in the file (none when it does not exist); a broken file is an error naming it. */
export function readHistory(file: string): PostureRun[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not a posture history (${(err as Error).message})`);
  }
  const runs = (value as { runs?: unknown } | null)?.runs;
  if (!Array.isArray(runs) || !runs.every(isRun))
    throw new Error(`${file}: not a posture history (expected { runs: [...] })`);
  return runs;
}

/** Appends a run and keeps the newest `keep`. */
export function appendHistory(
  file: string,
  runs: readonly PostureRun[],
  run: PostureRun,
  keep: number,
): PostureRun[] {
  const next = [...runs, run].slice(-keep);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ runs: next }, null, 2) + '\n');
  renameSync(tmp, file);
  return next;
}
