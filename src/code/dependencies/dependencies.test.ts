/**
 * The dependency check: lockfiles (npm v1/v3, pnpm, yarn) against real npm advisories
 * transcribed in OSV format (test/fixtures/code/advisories/) and exact range evaluation.
 * `--update-advisories` and the zip reader: src/cli/commands/code-advisories.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNpmLock, parsePnpmLock, parseYarnLock } from './lockfile.ts';
import { inRange, indexAdvisories, loadAdvisories } from './osv.ts';
import { scanLockfile } from './scan.ts';

const fx = (p: string): string => fileURLToPath(new URL(`../../../test/fixtures/code/${p}`, import.meta.url));
const notes: string[] = [];
const advisories = loadAdvisories(fx('advisories'), notes);
const idx = indexAdvisories(advisories);

describe('OSV ranges', () => {
  it.each([
    ['4.17.20', [{ introduced: '0' }, { fixed: '4.17.21' }], true],
    ['4.17.21', [{ introduced: '0' }, { fixed: '4.17.21' }], false],
    ['3.6.9', [{ introduced: '3.7.0' }, { fixed: '4.17.19' }], false],
    ['3.7.0', [{ introduced: '3.7.0' }, { fixed: '4.17.19' }], true],
    ['8.5.1', [{ introduced: '0' }, { last_affected: '8.5.1' }], true],
    ['9.0.0', [{ introduced: '0' }, { last_affected: '8.5.1' }], false],
    ['5.0.0-beta.2', [{ introduced: '5.0.0-alpha.1' }, { fixed: '5.0.0-beta.3' }], true],
    ['5.0.0', [{ introduced: '5.0.0-alpha.1' }, { fixed: '5.0.0-beta.3' }], false],
    ['1.2.5', [{ introduced: '0' }, { fixed: '0.2.4' }, { introduced: '1.0.0' }, { fixed: '1.2.6' }], true],
    ['0.3.0', [{ introduced: '0' }, { fixed: '0.2.4' }, { introduced: '1.0.0' }, { fixed: '1.2.6' }], false],
  ])('%s in %j → %s', (v, events, expected) => {
    expect(inRange(v, events)).toBe(expected);
  });
});

describe('lockfiles against the advisories', () => {
  it('loads the six advisories without notes', () => {
    expect(advisories.map((a) => a.id).sort()).toHaveLength(6);
    expect(notes).toEqual([]);
  });
  it('package-lock.json v3: affected versions with ids, severity and the fixed version; boundaries exact', () => {
    const rel = 'lockfiles/package-lock.json';
    const found = scanLockfile(rel, readFileSync(fx(rel), 'utf8'), idx, []);
    const got = found.map((f) => [
      f.evidence.details!.package,
      f.evidence.details!.version,
      f.evidence.details!.advisory,
      f.severity,
      f.evidence.details!.fixed ?? null,
    ]);
    expect(got.sort()).toEqual(
      [
        ['jsonwebtoken', '8.5.1', 'GHSA-hjrf-2m68-5959', 'medium', null],
        ['lodash', '4.17.20', 'GHSA-35jh-r3h4-6jhm', 'high', '4.17.21'],
        ['minimist', '1.2.5', 'GHSA-xvch-5gv4-984h', 'critical', '1.2.6'],
        ['semver', '5.7.1', 'GHSA-c2qf-rxjj-qqgw', 'medium', '5.7.2'],
      ].sort(),
    );
    const lodash = found.find((f) => f.evidence.details!.package === 'lodash')!;
    expect(lodash.check).toBe('code/vulnerable-dependency');
    expect(lodash.evidence.location!.line).toBe(
      readFileSync(fx(rel), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('"node_modules/lodash"')) + 1,
    );
    expect(lodash.description).toContain('CVE-2021-23337');
    expect(found.find((f) => f.evidence.details!.package === 'minimist')!.evidence.details!.dev).toBe(true);
  });
  it('package-lock v1 (nested dependencies)', () => {
    const v1 = JSON.stringify({
      lockfileVersion: 1,
      dependencies: { a: { version: '1.0.0', dependencies: { lodash: { version: '4.17.15' } } } },
    });
    expect(parseNpmLock(v1).map((p) => `${p.path}@${p.version}`)).toEqual([
      'node_modules/a@1.0.0',
      'node_modules/a/node_modules/lodash@4.17.15',
    ]);
  });
  it('pnpm-lock.yaml v9 and yarn.lock v1', () => {
    const pnpm = parsePnpmLock(readFileSync(fx('lockfiles/pnpm-lock.yaml'), 'utf8'));
    expect(pnpm.map((p) => `${p.name}@${p.version}`)).toEqual([
      'lodash@4.17.21',
      'minimist@0.2.1',
      '@scope/pkg@1.0.0',
    ]);
    const yarn = parseYarnLock(readFileSync(fx('lockfiles/yarn.lock'), 'utf8'));
    expect(yarn.map((p) => `${p.name}@${p.version}`)).toEqual(['express@4.18.2', 'semver@6.3.0']);
    const ids = [
      ...scanLockfile('pnpm-lock.yaml', readFileSync(fx('lockfiles/pnpm-lock.yaml'), 'utf8'), idx, []),
      ...scanLockfile('yarn.lock', readFileSync(fx('lockfiles/yarn.lock'), 'utf8'), idx, []),
    ].map(
      (f) => `${f.evidence.details!.package}:${f.evidence.details!.advisory}:${f.evidence.details!.fixed}`,
    );
    expect(ids.sort()).toEqual([
      'express:GHSA-rv95-896h-c2vc:4.19.2',
      'minimist:GHSA-xvch-5gv4-984h:0.2.4',
      'semver:GHSA-c2qf-rxjj-qqgw:6.3.1',
    ]);
  });
  it('a corrupt lockfile is a note', () => {
    const n: string[] = [];
    expect(scanLockfile('package-lock.json', '{ not json', idx, n)).toEqual([]);
    expect(n[0]).toMatch(/^package-lock\.json: lockfile not parsed/);
  });
});
