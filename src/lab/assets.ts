import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Path of a non-code file of the lab (flaws.json, openapi/*.yaml). Beside the module
 * when running from source; the compiler does not copy them to dist/, so a built
 * package falls back to the source tree it was built from.
 */
export function labAsset(rel: string): string {
  const local = join(here, rel);
  return existsSync(local) ? local : join(here, '..', '..', 'src', 'lab', rel);
}
