import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { directDependencies, LATEST_MAJORS, outdatedMajors } from './outdated.ts';

const fx = (p: string) =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/code/lockfiles/${p}`, import.meta.url)), 'utf8');

describe('outdated majors (info)', () => {
  it('reads the direct dependencies and their installed versions from the lockfile root', () => {
    expect(
      Object.fromEntries(directDependencies('package-lock.json', fx('package-lock.json'))),
    ).toMatchObject({
      express: '4.19.2',
      jsonwebtoken: '8.5.1',
    });
    expect(Object.fromEntries(directDependencies('pnpm-lock.yaml', fx('pnpm-lock.yaml')))).toEqual({
      lodash: '4.17.21',
    });
    expect(directDependencies('yarn.lock', fx('yarn.lock')).size).toBe(0); // yarn.lock records none
  });

  it('reports a direct dependency behind the latest major, dated, at its lockfile line', () => {
    const text = fx('package-lock.json');
    const found = outdatedMajors('package-lock.json', text);
    expect(found.map((f) => f.evidence.details!.package).sort()).toEqual(['express', 'jsonwebtoken']);
    const express = found.find((f) => f.evidence.details!.package === 'express')!;
    expect(express).toMatchObject({ check: 'code/outdated-major', severity: 'info', source: 'code' });
    expect(express.description).toMatch(
      new RegExp(
        `^express@4\\.19\\.2 is on major 4; the latest major is 5 \\(as of ${LATEST_MAJORS.asOf}\\)`,
      ),
    );
    expect(express.evidence.location!.line).toBe(
      text.split('\n').findIndex((l) => l.includes('"node_modules/express"')) + 1,
    );
    // lodash 4 is the latest major: nothing.
    expect(outdatedMajors('pnpm-lock.yaml', fx('pnpm-lock.yaml'))).toEqual([]);
  });

  it('ignores packages the table does not know, current majors and unparseable lockfiles', () => {
    const lock = JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { dependencies: { express: '^5.0.0', 'left-pad': '1.0.0' } },
        'node_modules/express': { version: '5.1.0' },
        'node_modules/left-pad': { version: '1.0.0' },
      },
    });
    expect(outdatedMajors('package-lock.json', lock)).toEqual([]);
    expect(outdatedMajors('package-lock.json', '{ not json')).toEqual([]);
  });

  it('the table is dated and plausible', () => {
    expect(LATEST_MAJORS.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [name, major] of Object.entries(LATEST_MAJORS.majors)) {
      expect(name).toMatch(/^[a-z0-9@/._-]+$/);
      expect(Number.isInteger(major) && major >= 1).toBe(true);
    }
  });
});
