/**
 * The quality bar on the lab: the vulnerable twin's as-built contract
 * (src/lab/openapi/vulnerable/) flags every planted flaw a document can reveal, on the
 * flaw's operation; the secure twin's contract (src/lab/openapi/) scores higher, has no
 * high finding and none of those rule/operation pairs at medium or above.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { audit, loadAuditDocument } from '../../src/audit/index.ts';
import { atOrAbove } from '../../src/core/findings.ts';
import { LAB_FLAW_MAP } from './lab-flaws.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const flaws = JSON.parse(readFileSync(here('../../src/lab/flaws.json'), 'utf8')) as Array<{
  id: string;
  owasp: string;
  operation: { method: string; path: string };
}>;

const vulnerable = audit([
  loadAuditDocument(here('../../src/lab/openapi/vulnerable/lab-v2.yaml')),
  loadAuditDocument(here('../../src/lab/openapi/vulnerable/lab-v1.yaml')),
]);
const secure = audit([
  loadAuditDocument(here('../../src/lab/openapi/lab-v2.yaml')),
  loadAuditDocument(here('../../src/lab/openapi/lab-v1.yaml')),
]);

const revealable = flaws.filter((f) => 'rule' in LAB_FLAW_MAP[f.id]!);

describe('the lab', () => {
  it('every flaw in flaws.json is mapped (revealable by a document, or why not)', () => {
    expect(Object.keys(LAB_FLAW_MAP).sort()).toEqual(flaws.map((f) => f.id).sort());
    expect(revealable.length).toBe(18);
  });

  it.each(revealable.map((f) => [f.id, f] as const))(
    'vulnerable contract: %s is flagged on its operation',
    (_id, f) => {
      const rule = (LAB_FLAW_MAP[f.id] as { rule: string }).rule;
      const op = `${f.operation.method} ${f.operation.path}`;
      const hit = vulnerable.findings.find((x) => x.check === rule && x.operation === op);
      expect(hit, `${rule} on ${op}`).toBeDefined();
      expect(atOrAbove(hit!, 'medium')).toBe(true);
    },
  );

  it('secure contract: higher score, no high finding, none of the flaws at medium or above', () => {
    console.log(
      `lab audit — vulnerable: score ${vulnerable.score.overall}, ${vulnerable.findings.length} findings; ` +
        `secure: score ${secure.score.overall}, ${secure.findings.length} findings`,
    );
    expect(secure.score.overall).toBeGreaterThan(vulnerable.score.overall + 30);
    expect(secure.findings.filter((f) => atOrAbove(f, 'high'))).toEqual([]);
    for (const f of revealable) {
      const rule = (LAB_FLAW_MAP[f.id] as { rule: string }).rule;
      const op = `${f.operation.method} ${f.operation.path}`;
      expect(
        secure.findings.filter((x) => x.check === rule && x.operation === op && atOrAbove(x, 'medium')),
      ).toEqual([]);
    }
  });

  it('noise: at most one finding per rule per operation', () => {
    for (const r of [vulnerable, secure]) {
      const keys = r.findings.filter((f) => f.operation).map((f) => `${f.check} ${f.operation}`);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('the score is per category and top fixes are ranked', () => {
    expect(vulnerable.score.byCategory['API1:2023']).toBeLessThan(50);
    expect(secure.score.byCategory['API1:2023']).toBe(100);
    expect(vulnerable.topFixes).toHaveLength(5);
    const impacts = vulnerable.topFixes.map((t) => t.impact);
    expect([...impacts].sort((a, b) => b - a)).toEqual(impacts);
    expect(vulnerable.topFixes[0]!.title).toMatch(/audit\/object-id-without-owner: 6 places/);
  });
});
