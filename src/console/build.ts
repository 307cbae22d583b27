import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where `npm run build` writes the console and where the admin listener serves it from. */
export const CONSOLE_DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const APP = fileURLToPath(new URL('./app/', import.meta.url));

export interface ConsoleManifest {
  /** The page (always `index.html`) and the hashed assets it loads. */
  files: { name: string; type: string; bytes: number; gzipBytes: number }[];
  /** JavaScript the first load fetches, gzipped (the 200 KB budget of docs/console.md). */
  jsGzipBytes: number;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};
export const typeOf = (name: string): string =>
  TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';

/** True when the console is built in `outDir` (its manifest exists). */
export const consoleBuilt = (outDir = CONSOLE_DIST): boolean => existsSync(join(outDir, 'manifest.json'));

/**
 * Bundles the single-page app (Preact + uPlot, esbuild): one minified, content-hashed
 * script and stylesheet, and an `index.html` that loads them — no inline script or style,
 * so the page runs under `script-src 'self'; style-src 'self'`.
 */
export async function buildConsole(target = CONSOLE_DIST): Promise<ConsoleManifest> {
  // esbuild is loaded only to build: `rampart start` with a built console never needs it.
  const esbuild = await import('esbuild');
  // Built aside, then renamed: a server (or a parallel build) never sees half a console.
  const outDir = `${target.replace(/[\\/]+$/, '')}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(APP, 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    outdir: outDir,
    absWorkingDir: APP,
    metafile: true,
    legalComments: 'linked',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((n) => n.endsWith('.js'));
  const css = outputs.find((n) => n.endsWith('.css'));
  if (!js) throw new Error('esbuild produced no script');
  const html = readFileSync(join(APP, 'index.html'), 'utf8')
    .replace('%SCRIPT%', js)
    .replace('%STYLE%', css ? `<link rel="stylesheet" href="./${css}">` : '');
  writeFileSync(join(outDir, 'index.html'), html);
  const files = ['index.html', ...outputs].map((name) => {
    const body = readFileSync(join(outDir, name));
    return { name, type: typeOf(name), bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  });
  const manifest: ConsoleManifest = {
    files,
    jsGzipBytes: files.filter((f) => f.name.endsWith('.js')).reduce((a, f) => a + f.gzipBytes, 0),
  };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  rmSync(target, { recursive: true, force: true });
  try {
    renameSync(outDir, target);
  } catch (err) {
    // Another build renamed its copy first: keep that one.
    rmSync(outDir, { recursive: true, force: true });
    if (!consoleBuilt(target)) throw err;
  }
  return manifest;
}
