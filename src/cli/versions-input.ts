import { existsSync } from 'node:fs';
import { configPathFrom, UsageError } from './command.ts';
import { loadApis, readConfig, resolveStoreUrl, versionsOf } from './app.ts';
import type { ApiInput } from '../versions/changelog.ts';
import type { RampartFileConfig } from './config-schema.ts';

/** Reads rampart.yaml and every document it names into the versions feature's input. */
export async function versionsInput(
  flag: string | undefined,
): Promise<{ apis: ApiInput[]; config: RampartFileConfig; baseDir: string }> {
  const path = configPathFrom(flag);
  if (!existsSync(path))
    throw new UsageError(`no configuration at ${path}: pass -c FILE or set RAMPART_CONFIG`);
  const { config, baseDir } = await readConfig(path);
  const apis = versionsOf(await loadApis(config));
  return { apis, config, baseDir };
}

/** The store URL of a config, resolved against its directory. */
export function storeUrlOf(config: RampartFileConfig, baseDir: string): string {
  return resolveStoreUrl(config.store, baseDir);
}
