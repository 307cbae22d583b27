// `rampart/eslint`: the ESLint plugin (flat config; src/code/eslint.ts). The compiled
// output when built (npm run build), the TypeScript source otherwise.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const built = join(root, 'dist', 'code', 'eslint.js');
let entry = built;
if (!existsSync(built)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = join(root, 'src', 'code', 'eslint.ts');
}
const plugin = (await import(pathToFileURL(entry).href)).default;
export const { rules, configs, meta } = plugin;
export default plugin;
