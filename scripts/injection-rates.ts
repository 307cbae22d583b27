/**
 * Detection and false-positive rates of the injection guard on the committed corpus
 * (test/fixtures/injection/*.jsonl). `node --import tsx scripts/injection-rates.ts [--misses]`
 * prints one line per kind; docs/injection.md quotes its output.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { detectInjection } from '../src/gateway/contract/injection.ts';

export interface CorpusEntry {
  kind: string;
  value: string;
}

const DIR = resolve(import.meta.dirname, '../test/fixtures/injection');

export function readCorpus(name: 'attacks' | 'benign' | 'holdout-attacks' | 'holdout-benign'): CorpusEntry[] {
  return readFileSync(resolve(DIR, `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CorpusEntry);
}

export interface Rates {
  attacks: { total: number; detected: number; byKind: Record<string, { total: number; detected: number }> };
  benign: { total: number; flagged: number; byKind: Record<string, { total: number; flagged: number }> };
  misses: CorpusEntry[];
  falsePositives: Array<CorpusEntry & { rule: string }>;
}

/** Runs the detector over both corpora. `code` snippets are counted apart (they need the per-field opt-out). */
export function measure(): Rates {
  const rates: Rates = {
    attacks: { total: 0, detected: 0, byKind: {} },
    benign: { total: 0, flagged: 0, byKind: {} },
    misses: [],
    falsePositives: [],
  };
  for (const e of readCorpus('attacks')) {
    const k = (rates.attacks.byKind[e.kind] ??= { total: 0, detected: 0 });
    k.total++;
    rates.attacks.total++;
    if (detectInjection(e.value)) {
      k.detected++;
      rates.attacks.detected++;
    } else rates.misses.push(e);
  }
  for (const e of readCorpus('benign')) {
    const k = (rates.benign.byKind[e.kind] ??= { total: 0, flagged: 0 });
    k.total++;
    const f = detectInjection(e.value);
    if (e.kind !== 'code') rates.benign.total++;
    if (f) {
      k.flagged++;
      if (e.kind !== 'code') {
        rates.benign.flagged++;
        rates.falsePositives.push({ ...e, rule: f.rule });
      }
    }
  }
  return rates;
}

/**
 * The hold-out set: written after the rules were tuned on the main corpus and never tuned
 * against, so its rates are the honest estimate for unseen input.
 */
export function measureHoldout(): { attacks: number; detected: number; benign: number; flagged: number } {
  const a = readCorpus('holdout-attacks');
  const b = readCorpus('holdout-benign');
  return {
    attacks: a.length,
    detected: a.filter((e) => detectInjection(e.value)).length,
    benign: b.length,
    flagged: b.filter((e) => detectInjection(e.value)).length,
  };
}

const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(1)} %`;

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const r = measure();
  console.log(
    `attacks: ${r.attacks.detected}/${r.attacks.total} detected (${pct(r.attacks.detected, r.attacks.total)})`,
  );
  for (const [k, v] of Object.entries(r.attacks.byKind))
    console.log(`  ${k.padEnd(15)} ${v.detected}/${v.total} (${pct(v.detected, v.total)})`);
  console.log(
    `benign (without code): ${r.benign.flagged}/${r.benign.total} flagged (${pct(r.benign.flagged, r.benign.total)} false positives)`,
  );
  for (const [k, v] of Object.entries(r.benign.byKind))
    console.log(`  ${k.padEnd(15)} ${v.flagged}/${v.total} flagged`);
  const h = measureHoldout();
  console.log(
    `hold-out: ${h.detected}/${h.attacks} attacks detected (${pct(h.detected, h.attacks)}), ${h.flagged}/${h.benign} benign flagged (${pct(h.flagged, h.benign)})`,
  );
  if (process.argv.includes('--misses')) {
    for (const m of r.misses) console.log('MISS', m.kind, JSON.stringify(m.value));
    for (const m of r.falsePositives) console.log('FP', m.kind, m.rule, JSON.stringify(m.value));
  }
}
