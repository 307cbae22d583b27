// Copies the non-TypeScript files the runtime reads (migrations, OpenAPI documents, the
// identity UI and password list, lab ground truth) from src/ into dist/ after `tsc`.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ASSET = /\.(sql|ya?ml|json|html|js|css|txt|gz|br)$/;
const src = 'src';
const out = 'dist';
let copied = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (ASSET.test(name) && !name.endsWith('.test.ts')) {
      cpSync(p, join(out, relative(src, p)));
      copied++;
    }
  }
}
if (!existsSync(out)) throw new Error('run tsc first: dist/ does not exist');
walk(src);
console.log(`copied ${copied} asset files into ${out}/`);
