/**
 * Walks a source tree for the code scan: honours .gitignore files (at any depth) and
 * `--exclude` globs, skips node_modules and .git, follows symlinks once (loops are
 * detected by real path) and reads each file defensively — binary, huge, minified,
 * non-UTF-8 and unreadable files are skipped with a note, never a crash.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const MAX_FILE_BYTES = 1024 * 1024;
const ALWAYS_SKIPPED = new Set(['node_modules', '.git', '.hg', '.svn']);

/** A glob (`*`, `**`, `?`, `[…]`) as a regular expression over `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let g = glob.replace(/\\/g, '/');
  const anchored = g.startsWith('/') || g.replace(/\/$/, '').includes('/');
  g = g.replace(/^\/+/, '');
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*' && g[i + 1] === '*') {
      if (g[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = g.indexOf(']', i);
      if (end === -1) re += '\\[';
      else {
        re += '[' + g.slice(i + 1, end).replace(/^!/, '^') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  re = re.replace(/\/$/, '');
  return new RegExp(`${anchored ? '^' : '(?:^|/)'}${re}(?:/.*)?$`);
}

interface IgnoreRule {
  re: RegExp;
  negate: boolean;
  dirOnly: boolean;
  /** Directory (relative to the root) of the .gitignore that holds it. */
  base: string;
}

function parseGitignore(text: string, base: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/\s+$/, '');
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    rules.push({ re: globToRegExp(line), negate, dirOnly, base });
  }
  return rules;
}

function ignored(rules: IgnoreRule[], rel: string, isDir: boolean): boolean {
  let result = false;
  for (const r of rules) {
    if (r.dirOnly && !isDir) continue;
    if (r.base && !rel.startsWith(r.base + '/')) continue;
    const sub = r.base ? rel.slice(r.base.length + 1) : rel;
    if (r.re.test(sub)) result = !r.negate;
  }
  return result;
}

export interface SourceFile {
  abs: string;
  /** Relative to the scan root, `/`-separated. */
  rel: string;
}

export interface WalkResult {
  files: SourceFile[];
  notes: string[];
}

export function walk(root: string, opts: { exclude?: string[] } = {}): WalkResult {
  const files: SourceFile[] = [];
  const notes: string[] = [];
  const excludes = (opts.exclude ?? []).map(globToRegExp);
  const seen = new Set<string>();
  const rootStat = statSync(root);
  if (rootStat.isFile()) {
    const name = root.split(sep).pop()!;
    return { files: [{ abs: root, rel: name }], notes };
  }
  const visit = (dir: string, rules: IgnoreRule[]): void => {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch (err) {
      notes.push(
        `${rel(dir) || '.'}: skipped, unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
      return;
    }
    if (seen.has(real)) {
      notes.push(`${rel(dir)}: skipped, symlink loop (already scanned as ${relative(root, real) || '.'})`);
      return;
    }
    seen.add(real);
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch (err) {
      notes.push(
        `${rel(dir) || '.'}: skipped, unreadable directory (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
      return;
    }
    let local = rules;
    if (entries.includes('.gitignore')) {
      try {
        local = [...rules, ...parseGitignore(readFileSync(join(dir, '.gitignore'), 'utf8'), rel(dir))];
      } catch {
        notes.push(`${rel(join(dir, '.gitignore'))}: unreadable, its patterns were not applied`);
      }
    }
    for (const name of entries) {
      if (ALWAYS_SKIPPED.has(name)) continue;
      const abs = join(dir, name);
      const r = rel(abs);
      let isDir: boolean;
      try {
        const l = lstatSync(abs);
        isDir = l.isSymbolicLink() ? statSync(abs).isDirectory() : l.isDirectory();
        if (!isDir && !(l.isSymbolicLink() ? statSync(abs).isFile() : l.isFile())) continue;
      } catch (err) {
        notes.push(
          `${r}: skipped, ${(err as NodeJS.ErrnoException).code === 'ELOOP' ? 'symlink loop' : 'unreadable'}`,
        );
        continue;
      }
      if (ignored(local, r, isDir) || excludes.some((e) => e.test(r))) continue;
      if (isDir) visit(abs, local);
      else files.push({ abs, rel: r });
    }
  };
  const rel = (p: string): string => relative(root, p).split(sep).join('/');
  visit(root, []);
  return { files, notes };
}

export type ReadResult = { text: string } | { skip: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a file as UTF-8 text, or says why it is skipped. */
export function readSource(abs: string, maxBytes = MAX_FILE_BYTES): ReadResult {
  let buf: Buffer;
  try {
    const size = statSync(abs).size;
    if (size > maxBytes) return { skip: `larger than ${maxBytes / 1024 / 1024} MiB (${size} bytes)` };
    buf = readFileSync(abs);
  } catch (err) {
    return { skip: `unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  if (buf.subarray(0, 8192).includes(0)) return { skip: 'binary' };
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    return { skip: 'not valid UTF-8' };
  }
  return { text };
}

/** A minified bundle: long lines and little whitespace. */
export function isMinified(text: string): boolean {
  if (text.length < 2000) return false;
  const lines = text.split('\n');
  const longest = lines.reduce((m, l) => Math.max(m, l.length), 0);
  return longest > 1000 && text.length / lines.length > 300;
}
