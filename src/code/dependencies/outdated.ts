/**
 * Outdated majors (info): a direct dependency whose installed major is behind the latest
 * major of its package. There is no registry access at scan time (CI and the tests must
 * not depend on it), so "latest" comes from {@link LATEST_MAJORS}, a small table shipped
 * with Rampart and dated: a finding says "as of <date>". Refresh it by hand with
 * `npm view <name> version` where the registry answers (docs/code-scan.md).
 */
import { parse as parseYaml } from 'yaml';
import type { Finding } from '../../core/findings.ts';
import { toFinding, type CodeRule } from '../rules.ts';
import { LOCKFILES } from './lockfile.ts';

export const LATEST_MAJORS = {
  asOf: '2026-12-02',
  majors: {
    axios: 1,
    express: 5,
    fastify: 5,
    helmet: 8,
    joi: 18,
    jsonwebtoken: 9,
    koa: 3,
    lodash: 4,
    mongoose: 9,
    mysql2: 3,
    pg: 8,
    sequelize: 6,
  } as Readonly<Record<string, number>>,
};

export const OUTDATED_RULE: CodeRule = {
  id: 'code/outdated-major',
  title: 'Dependency a major version behind',
  owasp: 'API8:2023',
  cwe: 1104,
  severity: 'info',
  description:
    'A direct dependency is one or more major versions behind: older majors stop receiving security fixes first.',
  fix: 'Plan the upgrade to the current major (read its migration guide); until then watch its advisories.',
  references: ['https://docs.npmjs.com/about-semantic-versioning'],
};

/** Direct dependencies (name → installed version) a lockfile records for its root project. */
export function directDependencies(file: string, text: string): Map<string, string> {
  const out = new Map<string, string>();
  const base = file.split('/').pop() ?? '';
  if (base === 'package-lock.json' || base === 'npm-shrinkwrap.json') {
    const lock = JSON.parse(text) as {
      packages?: Record<string, { version?: string; [k: string]: unknown }>;
    };
    const root = lock.packages?.[''] as Record<string, Record<string, string> | undefined> | undefined;
    if (!root || !lock.packages) return out;
    for (const k of ['dependencies', 'devDependencies', 'optionalDependencies'])
      for (const name of Object.keys(root[k] ?? {})) {
        const v = lock.packages[`node_modules/${name}`]?.version;
        if (typeof v === 'string') out.set(name, v);
      }
  } else if (base === 'pnpm-lock.yaml') {
    const doc = parseYaml(text) as {
      importers?: Record<string, Record<string, Record<string, { version?: string } | string>>>;
      dependencies?: Record<string, string | { version?: string }>;
      devDependencies?: Record<string, string | { version?: string }>;
    } | null;
    const root = doc?.importers?.['.'] ?? doc ?? {};
    for (const k of ['dependencies', 'devDependencies', 'optionalDependencies'] as const)
      for (const [name, v] of Object.entries((root as Record<string, Record<string, unknown>>)[k] ?? {})) {
        const version = typeof v === 'string' ? v : (v as { version?: string }).version;
        if (typeof version === 'string') out.set(name, version.replace(/\(.*$/, ''));
      }
  }
  return out;
}

/** `code/outdated-major` findings for one lockfile (yarn.lock records no direct dependencies: none). */
export function outdatedMajors(rel: string, text: string): Finding[] {
  if (!((rel.split('/').pop() ?? '') in LOCKFILES)) return [];
  let direct: Map<string, string>;
  try {
    direct = directDependencies(rel, text);
  } catch {
    return []; // the vulnerable-dependency scan reports the unparseable lockfile
  }
  const out: Finding[] = [];
  for (const [name, version] of direct) {
    const latest = LATEST_MAJORS.majors[name];
    const major = Number(/^(\d+)\./.exec(version)?.[1]);
    if (latest === undefined || !Number.isInteger(major) || major >= latest) continue;
    const at = text.indexOf(JSON.stringify(`node_modules/${name}`) + ':');
    const line = at === -1 ? 1 : text.slice(0, at).split('\n').length;
    out.push(
      toFinding({
        rule: OUTDATED_RULE,
        file: rel,
        line,
        column: 1,
        confidence: 'firm',
        message: `${name}@${version} is on major ${major}; the latest major is ${latest} (as of ${LATEST_MAJORS.asOf})`,
        snippet: `${name}@${version}`,
        key: `${name}@${major}`,
        details: { package: name, version, major, latestMajor: latest, asOf: LATEST_MAJORS.asOf },
      }),
    );
  }
  return out;
}
