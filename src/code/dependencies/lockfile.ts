/**
 * Installed packages from lockfiles: package-lock.json / npm-shrinkwrap.json (v1, v2, v3),
 * pnpm-lock.yaml (v5–v9) and yarn.lock (classic v1 and berry).
 */
import { parse as parseYaml } from 'yaml';

export interface LockedPackage {
  name: string;
  version: string;
  /** Where it sits (`node_modules/a/node_modules/b`, a pnpm key, a yarn descriptor). */
  path: string;
  dev: boolean;
  /** 1-based line of its entry in the lockfile. */
  line: number;
}

function lineOf(text: string, needle: string): number {
  const i = text.indexOf(needle);
  return i === -1 ? 1 : text.slice(0, i).split('\n').length;
}

export function parseNpmLock(text: string): LockedPackage[] {
  const lock = JSON.parse(text) as {
    lockfileVersion?: number;
    packages?: Record<string, { version?: string; name?: string; dev?: boolean; link?: boolean }>;
    dependencies?: Record<string, NpmV1Dep>;
  };
  const out: LockedPackage[] = [];
  if (lock.packages) {
    for (const [path, p] of Object.entries(lock.packages)) {
      if (!path || p.link || !p.version) continue;
      const i = path.lastIndexOf('node_modules/');
      const name = p.name ?? (i === -1 ? path : path.slice(i + 'node_modules/'.length));
      out.push({
        name,
        version: p.version,
        path,
        dev: p.dev === true,
        line: lineOf(text, JSON.stringify(path) + ':'),
      });
    }
    return out;
  }
  const walkV1 = (deps: Record<string, NpmV1Dep>, prefix: string): void => {
    for (const [name, d] of Object.entries(deps)) {
      if (!d.version || d.version.startsWith('file:')) continue;
      const path = `${prefix}node_modules/${name}`;
      out.push({
        name,
        version: d.version,
        path,
        dev: d.dev === true,
        line: lineOf(text, JSON.stringify(name) + ': {'),
      });
      if (d.dependencies) walkV1(d.dependencies, path + '/');
    }
  };
  if (lock.dependencies) walkV1(lock.dependencies, '');
  return out;
}
interface NpmV1Dep {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, NpmV1Dep>;
}

export function parsePnpmLock(text: string): LockedPackage[] {
  const doc = parseYaml(text) as { packages?: Record<string, { dev?: boolean; version?: string }> } | null;
  const out: LockedPackage[] = [];
  for (const [key, p] of Object.entries(doc?.packages ?? {})) {
    // v5/v6: /name/1.2.3 or /name@1.2.3(peer…); v9: name@1.2.3
    const k = key.replace(/^\//, '').replace(/\(.*$/, '');
    let m = /^(@?[^@/]+(?:\/[^@/]+)?)@([^@]+)$/.exec(k);
    if (!m) m = /^(@?[^/]+(?:\/[^/]+)?)\/(\d[^/]*)$/.exec(k);
    if (!m) continue;
    out.push({
      name: m[1]!,
      version: p?.version ?? m[2]!,
      path: key,
      dev: p?.dev === true,
      line: lineOf(text, key),
    });
  }
  return out;
}

export function parseYarnLock(text: string): LockedPackage[] {
  const out: LockedPackage[] = [];
  const lines = text.split('\n');
  let descriptor: string | undefined;
  let startLine = 0;
  lines.forEach((l, i) => {
    if (/^\S.*:$/.test(l) && !l.startsWith('#') && !l.startsWith('__metadata')) {
      descriptor = l.slice(0, -1);
      startLine = i + 1;
    } else if (descriptor) {
      const m = /^\s+version:?\s+"?([^"\s]+)"?/.exec(l);
      if (m) {
        const first = descriptor.split(',')[0]!.trim().replace(/^"|"$/g, '');
        const at = first.indexOf('@', 1);
        const name = at === -1 ? first : first.slice(0, at);
        out.push({ name, version: m[1]!, path: descriptor, dev: false, line: startLine });
        descriptor = undefined;
      }
    }
  });
  return out;
}

export const LOCKFILES: Record<string, (text: string) => LockedPackage[]> = {
  'package-lock.json': parseNpmLock,
  'npm-shrinkwrap.json': parseNpmLock,
  'pnpm-lock.yaml': parsePnpmLock,
  'yarn.lock': parseYarnLock,
};
