import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atOrAbove } from '../../src/core/findings.ts';
import { flaws } from '../../src/lab/flaws.ts';
import { parseJsonReport, render } from '../../src/report/index.ts';
import { runScan, type ScanResult } from '../../src/scanner/runner.ts';
import type { Identity } from '../../src/scanner/identities.ts';
import { labIdentities, startScannableLab, type ScannableLab } from './helpers.ts';

// The quality bar of docs/scanner.md, measured: a full scan of the vulnerable lab finds
// every planted flaw of src/lab/flaws.json on its operation and OWASP category; the same
// scan of the secure twin reports nothing of medium severity or above.

let vulnerable: ScannableLab;
let secure: ScannableLab;
let vuln: ScanResult;
let twin: ScanResult;
let vulnIds: Identity[];

beforeAll(async () => {
  [vulnerable, secure] = await Promise.all([startScannableLab('vulnerable'), startScannableLab('secure')]);
  vulnIds = labIdentities();
  const scan = (l: ScannableLab, identities: Identity[]) =>
    runScan({
      specs: [l.lab.specs.v2, l.lab.specs.v1],
      target: l.lab.url,
      identities,
      unsafe: true,
      relays: [l.relay],
    });
  [vuln, twin] = await Promise.all([scan(vulnerable, vulnIds), scan(secure, labIdentities())]);
}, 120_000);

afterAll(async () => {
  await Promise.all([vulnerable?.close(), secure?.close()]);
});

describe('scanner against the vulnerable lab', () => {
  it.each(flaws.map((f) => [f.id, f] as const))('detects %s on its operation and category', (_id, flaw) => {
    const op = `${flaw.operation.method} ${flaw.operation.path}`;
    const hits = vuln.findings.filter((f) => f.operation === op && f.owasp === flaw.owasp);
    expect(
      hits.map((f) => f.check),
      `findings on ${op}: ${vuln.findings
        .filter((f) => f.operation === op)
        .map((f) => `${f.check}/${f.owasp}`)
        .join(', ')}`,
    ).not.toEqual([]);
  });

  it('finishes a full scan in under 60 s and says how many requests it sent', () => {
    expect(vuln.partial).toBe(false);
    expect(vuln.meta.stats!.requests).toBeGreaterThan(100);
    expect(vuln.meta.stats!.durationMs).toBeLessThan(60_000);
  });

  it('proves every finding with evidence and a fix naming a policy', () => {
    for (const f of vuln.findings) {
      expect(f.id, f.title).toMatch(/^[0-9a-f]{16}$/);
      expect(f.source).toBe('scan');
      expect(f.remediation.summary.length, f.id).toBeGreaterThan(10);
      expect(f.remediation.policy, `${f.check} ${f.operation}`).toBeTruthy();
      if (f.check !== 'auth-jwt' || f.evidence.exchanges?.length)
        expect(f.evidence.exchanges?.length, `${f.check} ${f.operation}`).toBeGreaterThan(0);
    }
    expect(new Set(vuln.findings.map((f) => f.id)).size).toBe(vuln.findings.length);
  });

  it('never puts a token or password into a finding', () => {
    const text = JSON.stringify(vuln);
    for (const id of vulnIds) expect(text).not.toContain(id.token!);
    expect(text).not.toContain('alice-demo-pass');
    expect(text).not.toMatch(/Bearer eyJ[A-Za-z0-9_-]{8}/);
  });
});

describe('reports of a real scan', () => {
  it('render in every shared format', () => {
    const sarif = JSON.parse(render('sarif', vuln.findings, vuln.meta)) as {
      runs: Array<{ results: unknown[] }>;
    };
    expect(sarif.runs[0]!.results).toHaveLength(vuln.findings.length);
    expect(render('junit', vuln.findings, vuln.meta)).toMatch(/<testsuites/);
    expect(render('html', vuln.findings, vuln.meta)).toMatch(/<html/i);
    expect(parseJsonReport(render('json', vuln.findings, vuln.meta)).findings).toHaveLength(
      vuln.findings.length,
    );
  });
});

describe('scanner against the secure twin', () => {
  it('reports no finding of medium severity or above', () => {
    const loud = twin.findings.filter((f) => atOrAbove(f, 'medium'));
    expect(loud.map((f) => `${f.severity} ${f.check} ${f.operation}: ${f.title}`)).toEqual([]);
    expect(twin.partial).toBe(false);
  });
});
