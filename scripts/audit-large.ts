/**
 * Measures the audit on a generated 500-operation document (docs/audit.md):
 *   node --import tsx scripts/audit-large.ts [resources=100] [runs=5]
 * Prints load (parse + $ref resolution + checks) and audit times per run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audit, loadAuditDocument } from '../src/audit/index.ts';
import { generateLargeDocument } from '../test/fixtures/audit/generate.ts';

const resources = Number(process.argv[2] ?? 100);
const runs = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'rampart-audit-large-'));
try {
  const file = join(dir, 'large.yaml');
  const text = generateLargeDocument(resources);
  writeFileSync(file, text);
  for (let i = 0; i < runs; i++) {
    // Wall time and CPU time: on a shared machine the CPU time is the fair figure.
    const cpu = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const [t0, c0] = [performance.now(), cpu()];
    const doc = loadAuditDocument(file);
    const [t1, c1] = [performance.now(), cpu()];
    const r = audit([doc]);
    const [t2, c2] = [performance.now(), cpu()];
    console.log(
      `run ${i + 1}: ${doc.doc.operations.length} operations, ${(text.length / 1024).toFixed(0)} KiB — ` +
        `load ${(t1 - t0).toFixed(0)} ms (cpu ${(c1 - c0).toFixed(0)}), audit ${(t2 - t1).toFixed(0)} ms (cpu ${(c2 - c1).toFixed(0)}), ` +
        `total ${(t2 - t0).toFixed(0)} ms (cpu ${(c2 - c0).toFixed(0)}); ${r.findings.length} findings, score ${r.score.overall}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
