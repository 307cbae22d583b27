/**
 * A generated 500-operation document: the audit completes with one finding at most per
 * rule and operation. The time is printed, not asserted (the machine is shared);
 * scripts/audit-large.ts measures it properly (docs/audit.md).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { audit, loadAuditDocument } from '../../src/audit/index.ts';
import { generateLargeDocument } from '../fixtures/audit/generate.ts';

const dir = mkdtempSync(join(tmpdir(), 'rampart-audit-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('audits a generated 500-operation document', () => {
  const file = join(dir, 'large.yaml');
  writeFileSync(file, generateLargeDocument(100));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const doc = loadAuditDocument(file);
  const result = audit([doc]);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `500-operation audit: ${ms.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ${result.findings.length} findings`,
  );
  expect(doc.doc.operations).toHaveLength(500);
  const keys = result.findings.map((f) => `${f.check} ${f.operation}`);
  expect(new Set(keys).size).toBe(keys.length);
  // Every third resource is planted with flaws: 34 of them × (list, create, read, update, delete).
  expect(result.findings.filter((f) => f.check === 'audit/object-id-without-owner')).toHaveLength(34 * 3);
  expect(
    result.findings.filter((f) => f.check === 'audit/mass-assignment' && f.severity === 'high'),
  ).toHaveLength(34 * 2);
  expect(result.findings.every((f) => (f.evidence.location?.line ?? 0) > 0)).toBe(true);
});
