/**
 * `rampart audit -c` and `rampart code -c` record their run in the store the config names
 * (src/store/tool-runs.ts), where `rampart posture`, the admin API and the console read the
 * newest one. A run that cannot be recorded is still reported: the failure is a warning.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Finding, RunMeta } from '../core/findings.ts';
import { DEFAULT_STORE } from '../gateway/config.ts';
import { openStore, parseStoreUrl } from '../store/index.ts';
import { recordToolRun } from '../store/tool-runs.ts';
import { readConfig, resolveStoreUrl } from './app.ts';
import type { CommandIO } from './command.ts';

export async function recordRun(
  configPath: string,
  findings: Finding[],
  meta: RunMeta,
  io: Pick<CommandIO, 'err'>,
): Promise<string | undefined> {
  try {
    const { config, baseDir } = await readConfig(configPath);
    const url = resolveStoreUrl(config.store, baseDir);
    if (config.store === DEFAULT_STORE) {
      const target = parseStoreUrl(url);
      if (target.dialect === 'sqlite') await mkdir(dirname(target.path), { recursive: true });
    }
    const db = await openStore(url);
    try {
      const id = await recordToolRun(db, findings, meta);
      io.err(`rampart ${meta.tool}: run ${id} recorded in the store (${parseStoreUrl(url).dialect})`);
      return id;
    } finally {
      await db.close();
    }
  } catch (err) {
    io.err(`rampart ${meta.tool}: warning: the run was not recorded in the store: ${(err as Error).message}`);
    return undefined;
  }
}
