import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { Finding } from '../../src/core/findings.ts';
import { parseJsonReport } from '../../src/report/index.ts';
import { focusFromAudit } from '../../src/scanner/focus.ts';
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

describe('--focus-audit: the operations an audit flagged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-focus-'));
  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('tests only the flagged operations with the checks the audit names, and still finds both flaws', async () => {
    const report = join(dir, 'audit.json');
    await cli('audit', PROJECTS_SPEC, '--format', 'json', '--output', report, '--fail-on', 'none');
    const audit = JSON.parse(readFileSync(report, 'utf8')) as { findings: Finding[] };
    const flagged = new Set(audit.findings.map((f) => f.operation).filter(Boolean));
    const named = new Set(audit.findings.flatMap((f) => f.related ?? []));
    const focus = focusFromAudit(parseJsonReport(readFileSync(report, 'utf8')), report, true);
    // Most severe first: the high BOLA-surface operations lead.
    expect(
      focus.operations
        .slice(0, 5)
        .every((k) => audit.findings.some((f) => f.operation === k && f.severity === 'high')),
    ).toBe(true);
    const r = await runScan({
      specs: [PROJECTS_SPEC],
      target: vulnerable.url,
      identities: identities(),
      focus,
    });
    expect(r.meta.checks!.map((c) => c.id).every((id) => named.has(id))).toBe(true);
    expect(r.findings.length).toBeGreaterThan(0);
    for (const f of r.findings) expect(flagged.has(f.operation!), `${f.check} ${f.operation}`).toBe(true);
    for (const flaw of PROJECTS_FLAWS)
      expect(r.findings.some((f) => f.check === 'bola-identity-swap' && f.operation === flaw.operation)).toBe(
        true,
      );
    expect(r.meta.notes!.join('\n')).toMatch(/focus: \d+ operation\(s\) the audit flagged tested alone/);
    // Without --focus-only every operation is scanned, the flagged ones first.
    const first = await runScan({
      specs: [PROJECTS_SPEC],
      target: vulnerable.url,
      identities: identities(),
      checks: ['bola-identity-swap'],
      focus: { ...focus, only: false },
    });
    expect(first.meta.targets!.slice(0, focus.operations.length)).toEqual(
      focus.operations.filter((k) => first.meta.targets!.includes(k)),
    );
    expect(first.meta.targets).toContain('POST /api/projects');
  }, 60_000);

  it('refuses a scan report, an unreadable file and --focus-only alone', async () => {
    const scanReport = join(dir, 'scan.json');
    writeFileSync(
      scanReport,
      JSON.stringify({ format: 'rampart-findings', version: 1, meta: { tool: 'scan' }, findings: [] }),
    );
    const base = ['scan', '--spec', PROJECTS_SPEC, '--target', vulnerable.url];
    const wrong = await cli(...base, '--focus-audit', scanReport);
    expect(wrong.code).toBe(3);
    expect(wrong.err).toContain(`--focus-audit ${scanReport}: a scan report, not an audit report`);
    const missing = await cli(...base, '--focus-audit', join(dir, 'nope.json'));
    expect([missing.code, missing.err]).toEqual([3, expect.stringContaining('cannot read --focus-audit')]);
    const alone = await cli(...base, '--focus-only');
    expect([alone.code, alone.err]).toEqual([
      2,
      expect.stringContaining('--focus-only needs --focus-audit REPORT'),
    ]);
  });
});
