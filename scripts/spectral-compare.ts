/**
 * Rampart's audit against Spectral's OWASP ruleset on the same documents, counts side by
 * side (docs/audit.md). Spectral is not a project dependency; install it anywhere:
 *
 *   npm install --prefix /tmp/spectral @stoplight/spectral-cli @stoplight/spectral-owasp-ruleset
 *   SPECTRAL_DIR=/tmp/spectral node --import tsx scripts/spectral-compare.ts [DOC…]
 *
 * Without DOC arguments: the lab's contracts (vulnerable as built, secure) and a generated
 * 500-operation document. Prints a Markdown table.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { audit, loadAuditDocument } from '../src/audit/index.ts';
import { generateLargeDocument } from '../test/fixtures/audit/generate.ts';

const spectralDir = process.env.SPECTRAL_DIR ?? '/tmp/spectral';
const bin = join(spectralDir, 'node_modules', '.bin', 'spectral');
if (!existsSync(bin)) {
  console.error(`spectral not found at ${bin}; install it as shown at the top of this script`);
  process.exit(2);
}
const ruleset = join(spectralDir, '.spectral-owasp.yaml');
writeFileSync(ruleset, "extends: ['@stoplight/spectral-owasp-ruleset']\n");

const tmp = mkdtempSync(join(tmpdir(), 'rampart-spectral-'));
const docs = process.argv.slice(2);
if (!docs.length) {
  docs.push(
    'src/lab/openapi/vulnerable/lab-v2.yaml',
    'src/lab/openapi/vulnerable/lab-v1.yaml',
    'src/lab/openapi/lab-v2.yaml',
    'src/lab/openapi/lab-v1.yaml',
  );
  const large = join(tmp, 'generated-500.yaml');
  writeFileSync(large, generateLargeDocument(100));
  docs.push(large);
}

const SPECTRAL_SEVERITY = ['error', 'warn', 'info', 'hint'];

function spectral(doc: string): { counts: Record<string, number>; total: number; rules: number; ms: number } {
  const t0 = performance.now();
  let out: string;
  try {
    out = execFileSync(bin, ['lint', '--ruleset', ruleset, '--format', 'json', '--quiet', doc], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    // Spectral exits 1 when it finds errors; the JSON is still on stdout.
    out = (err as { stdout?: string }).stdout ?? '[]';
  }
  const ms = performance.now() - t0;
  const results = JSON.parse(out || '[]') as Array<{ code: string; severity: number }>;
  const counts: Record<string, number> = { error: 0, warn: 0, info: 0, hint: 0 };
  for (const r of results) counts[SPECTRAL_SEVERITY[r.severity] ?? 'hint']!++;
  return { counts, total: results.length, rules: new Set(results.map((r) => r.code)).size, ms };
}

function rampart(doc: string): {
  counts: Record<string, number>;
  total: number;
  rules: number;
  score: number;
  ms: number;
} {
  const t0 = performance.now();
  const r = audit([loadAuditDocument(doc)]);
  const ms = performance.now() - t0;
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of r.findings) counts[f.severity]!++;
  return {
    counts,
    total: r.findings.length,
    rules: new Set(r.findings.map((f) => f.check)).size,
    score: r.score.overall,
    ms,
  };
}

console.log(
  '| document | Spectral OWASP: total (error/warn/info/hint), rules | Rampart: total (high/medium/low/info), rules, score |',
);
console.log('| --- | --- | --- |');
try {
  for (const doc of docs) {
    const s = spectral(doc);
    const r = rampart(doc);
    const name = doc.startsWith(tmp) ? 'generated, 500 operations' : relative(process.cwd(), doc);
    console.log(
      `| ${name} | ${s.total} (${s.counts.error}/${s.counts.warn}/${s.counts.info}/${s.counts.hint}), ${s.rules} rules, ${(s.ms / 1000).toFixed(1)} s | ` +
        `${r.total} (${r.counts.high! + r.counts.critical!}/${r.counts.medium}/${r.counts.low}/${r.counts.info}), ${r.rules} rules, score ${r.score}, ${(r.ms / 1000).toFixed(1)} s |`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
