import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Finding, RunMeta } from '../core/findings.ts';
import { parseJsonReport, render } from '../report/index.ts';

/** What changed between two runs of the same scan, by finding id. */
export interface ScanDiff {
  new: Finding[];
  fixed: Finding[];
  open: Finding[];
}

export function diffFindings(
  previous: readonly Finding[] | undefined,
  current: readonly Finding[],
): ScanDiff {
  const before = new Map((previous ?? []).map((f) => [f.id, f]));
  const now = new Set(current.map((f) => f.id));
  return {
    new: current.filter((f) => !before.has(f.id)),
    open: current.filter((f) => before.has(f.id)),
    fixed: [...before.values()].filter((f) => !now.has(f.id)),
  };
}

/**
 * Stored results: one JSON report (the shared, stable format) per run under
 * `<dir>/<name>/<startedAt>.json`; the latest one is what the next run is compared to.
 * Partial runs are stored but never used as the comparison base (a stopped scan would
 * report every finding it did not reach as fixed).
 */
export class ScanHistory {
  constructor(readonly dir: string) {}

  private folder(name: string): string {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error(`invalid scan name '${name}'`);
    return join(this.dir, name);
  }

  /** The latest complete run, if any. */
  async latest(name: string): Promise<{ file: string; findings: Finding[]; meta: RunMeta } | undefined> {
    let files: string[];
    try {
      files = (await readdir(this.folder(name)))
        .filter((f) => f.endsWith('.json') && !f.endsWith('.partial.json'))
        .sort();
    } catch {
      return undefined;
    }
    const file = files.pop();
    if (!file) return undefined;
    const path = join(this.folder(name), file);
    const r = parseJsonReport(await readFile(path, 'utf8'), path);
    return { file: path, findings: r.findings, meta: r.meta };
  }

  /** Stored runs of a scan, newest first: id (the file name without `.json`), start, partial. */
  async runs(name: string): Promise<Array<{ id: string; partial: boolean }>> {
    let files: string[];
    try {
      files = await readdir(this.folder(name));
    } catch {
      return [];
    }
    return files
      .filter((f) => f.endsWith('.json'))
      .sort()
      .reverse()
      .map((f) => {
        const id = f.slice(0, -'.json'.length);
        return { id, partial: id.endsWith('.partial') };
      });
  }

  /** One stored run by id; undefined when there is none. */
  async read(name: string, id: string): Promise<{ findings: Finding[]; meta: RunMeta } | undefined> {
    if (!/^[A-Za-z0-9_-]{1,80}(\.partial)?$/.test(id)) return undefined;
    const path = join(this.folder(name), `${id}.json`);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    const r = parseJsonReport(text, path);
    return { findings: r.findings, meta: r.meta };
  }

  /** The complete run stored before `id` (what `id` was compared to), if any. */
  async previous(name: string, id: string): Promise<string | undefined> {
    const older = (await this.runs(name)).filter((r) => !r.partial && r.id < id);
    return older[0]?.id;
  }

  /** Stores a run and returns the diff against the previous complete one. */
  async record(
    name: string,
    findings: Finding[],
    meta: RunMeta,
    partial: boolean,
  ): Promise<{ file: string; diff: ScanDiff }> {
    const prev = await this.latest(name);
    await mkdir(this.folder(name), { recursive: true });
    const stamp = meta.startedAt.replace(/[:.]/g, '-');
    const file = join(this.folder(name), `${stamp}${partial ? '.partial' : ''}.json`);
    await writeFile(file, render('json', findings, meta));
    return { file, diff: diffFindings(prev?.findings, findings) };
  }
}
