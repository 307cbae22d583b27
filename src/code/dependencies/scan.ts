/**
 * Known-vulnerable dependencies: every lockfile in the tree against OSV advisories.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Finding, Severity } from '../../core/findings.ts';
import { withDeadline } from '../../core/deadline.ts';
import type { CodeRule } from '../rules.ts';
import { toFinding } from '../rules.ts';
import { LOCKFILES } from './lockfile.ts';
import { indexAdvisories, matches, type OsvAdvisory } from './osv.ts';

export const DEPENDENCY_RULE: CodeRule = {
  id: 'code/vulnerable-dependency',
  title: 'Dependency with a known vulnerability',
  owasp: 'API8:2023',
  cwe: 1395,
  severity: 'high',
  description: 'An installed package version is in the affected range of a published advisory.',
  fix: 'Upgrade to the fixed version (npm install NAME@FIXED, or an `overrides` entry for a transitive dependency).',
  references: ['https://osv.dev/'],
};

/** osv.dev's npm archive. */
export const OSV_NPM_ARCHIVE = 'https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip';

const GHSA_SEVERITY: Record<string, Severity> = {
  LOW: 'low',
  MODERATE: 'medium',
  MEDIUM: 'medium',
  HIGH: 'high',
  CRITICAL: 'critical',
};

/** Severity from the GitHub database's label, else from a CVSS base score in the vector's `database_specific`, else medium. */
export function advisorySeverity(a: OsvAdvisory): Severity {
  const label = a.database_specific?.severity?.toUpperCase();
  if (label && GHSA_SEVERITY[label]) return GHSA_SEVERITY[label];
  return 'medium';
}

export function isLockfile(rel: string): boolean {
  return (rel.split('/').pop() ?? '') in LOCKFILES;
}

export function scanLockfile(
  rel: string,
  text: string,
  advisories: ReturnType<typeof indexAdvisories>,
  notes: string[],
): Finding[] {
  const parse = LOCKFILES[rel.split('/').pop()!]!;
  let pkgs;
  try {
    pkgs = parse(text);
  } catch (err) {
    notes.push(`${rel}: lockfile not parsed (${(err as Error).message.split('\n')[0]})`);
    return [];
  }
  const out: Finding[] = [];
  for (const p of pkgs)
    for (const m of matches(advisories, p.name, p.version)) {
      const a = m.advisory;
      const ids = [a.id, ...(a.aliases ?? [])];
      out.push(
        toFinding({
          rule: { ...DEPENDENCY_RULE, references: (a.references ?? []).slice(0, 3).map((r) => r.url) },
          file: rel,
          line: p.line,
          column: 1,
          severity: advisorySeverity(a),
          confidence: 'confirmed',
          message: `${p.name}@${p.version}${p.dev ? ' (dev)' : ''} is affected by ${ids.join(' / ')}: ${a.summary ?? 'see the advisory'}${m.fixed ? `; fixed in ${m.fixed}` : '; no fixed version published'}`,
          snippet: `${p.name}@${p.version}`,
          key: `${p.path}@${p.version}:${a.id}`,
          details: {
            package: p.name,
            version: p.version,
            path: p.path,
            dev: p.dev,
            advisory: a.id,
            aliases: a.aliases ?? [],
            ...(m.fixed ? { fixed: m.fixed } : {}),
          },
        }),
      );
    }
  return out;
}

/**
 * `--update-advisories`: downloads an OSV archive (zip) or JSON to `dest` (written
 * atomically: a failed download leaves the old database in place).
 */
export async function downloadAdvisories(
  url: string,
  dest: string,
  fetchImpl: typeof fetch = fetch,
): Promise<{ bytes: number }> {
  const body = await withDeadline(120_000, async (signal) => {
    const res = await fetchImpl(url, { redirect: 'follow', signal });
    if (!res.ok) throw new Error(`--update-advisories: ${url} answered ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  });
  const zip = body.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
  if (!zip) {
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      throw new Error(`--update-advisories: ${url} is neither a zip archive nor JSON`);
    }
  }
  if (zip !== dest.endsWith('.zip'))
    throw new Error(
      `--update-advisories: ${url} is ${zip ? 'a zip archive' : 'JSON'}; name the destination .${zip ? 'zip' : 'json'}`,
    );
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  writeFileSync(tmp, body);
  renameSync(tmp, dest);
  return { bytes: body.length };
}
