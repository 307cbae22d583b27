import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atOrAbove } from '../../src/core/findings.ts';
import { parseIdentityFlag } from '../../src/scanner/identities.ts';
import { runScan, type ScanResult } from '../../src/scanner/runner.ts';
import {
  PROJECTS_FLAWS,
  PROJECTS_SPEC,
  PROJECTS_TOKENS,
  startProjects,
  type Projects,
} from '../fixtures/scanner/projects.ts';

// Object-level authorization on operations with several path parameters
// (/projects/{projectId}/tasks/{taskId}): the scan creates projects, then tasks under each
// identity's own project, and swaps identities both on the owner's full path and with the
// attacker's own project id in front of the owner's task id.

let vulnerable: Projects;
let fixed: Projects;
let vuln: ScanResult;
let twin: ScanResult;

const identities = () => [
  parseIdentityFlag(`ada:user=Authorization: Bearer ${PROJECTS_TOKENS.ada}`),
  parseIdentityFlag(`bob:user=Authorization: Bearer ${PROJECTS_TOKENS.bob}`),
];

beforeAll(async () => {
  [vulnerable, fixed] = await Promise.all([startProjects(false), startProjects(true)]);
  [vuln, twin] = await Promise.all([
    runScan({ specs: [PROJECTS_SPEC], target: vulnerable.url, identities: identities() }),
    runScan({ specs: [PROJECTS_SPEC], target: fixed.url, identities: identities() }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all([vulnerable?.close(), fixed?.close()]);
});

const list = (r: ScanResult) => r.findings.map((f) => `${f.check} ${f.severity} ${f.operation}`).join('\n');

describe('BOLA on nested objects', () => {
  it.each(PROJECTS_FLAWS.map((f) => [f.id, f] as const))('finds the planted %s', (_id, flaw) => {
    const hit = vuln.findings.find(
      (f) => f.check === 'bola-identity-swap' && f.operation === flaw.operation && f.owasp === flaw.owasp,
    );
    expect(hit, list(vuln)).toBeDefined();
  });

  it('proves the read on the owner path and the write through the attacker’s own project', () => {
    const read = vuln.findings.find((f) => f.operation === PROJECTS_FLAWS[0].operation)!;
    const write = vuln.findings.find((f) => f.operation === PROJECTS_FLAWS[1].operation)!;
    const details = (f: typeof read) => f.evidence.details as Record<string, unknown>;
    expect(details(read)).toMatchObject({ owner: expect.any(String), viaOwnParent: false });
    expect(details(write)).toMatchObject({ viaOwnParent: true });
    // The attacker's request: its own project id, the owner's task id.
    const [control, attack] = write.evidence.exchanges!;
    const ownerPath = new URL(control!.request.url).pathname;
    const attackPath = new URL(attack!.request.url).pathname;
    const [, , , ownerProject, , task] = ownerPath.split('/');
    const [, , , attackerProject, , attackTask] = attackPath.split('/');
    expect(attackTask).toBe(task);
    expect(attackerProject).not.toBe(ownerProject);
    expect(attack!.as).not.toBe(control!.as);
    expect(write.description).toMatch(/checks that the enclosing object is the caller's/);
    expect(write.remediation.summary).toMatch(/belongs to the enclosing projectId/);
  });

  it('reports nothing of medium or above on the fixed twin', () => {
    expect(
      twin.findings.filter((f) => atOrAbove(f, 'medium')).map((f) => `${f.check} ${f.operation}`),
    ).toEqual([]);
    expect(twin.meta.notes!.join('\n')).not.toMatch(/bola-identity-swap: not tested/);
  });

  it('masks the bearer tokens in the evidence', () => {
    const text = JSON.stringify(vuln);
    for (const t of Object.values(PROJECTS_TOKENS)) expect(text).not.toContain(t);
  });
});
