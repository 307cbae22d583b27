import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { atOrAbove } from '../../src/core/findings.ts';
import { parseIdentityFlag } from '../../src/scanner/identities.ts';
import { runScan, type ScanResult } from '../../src/scanner/runner.ts';
import {
  LIBRARY_FLAWS,
  LIBRARY_KEYS,
  LIBRARY_SPEC,
  startLibrary,
  type Library,
} from '../fixtures/scanner/library.ts';

// Generality: the same scanner, unchanged, on an API shaped unlike the lab — API keys in
// a custom header given with --identity, snake_case, UUID ids, OpenAPI 3.0, /api/v3 —
// finds the planted flaws of the vulnerable library and nothing of medium or above on
// its fixed twin.

let vulnerable: Library;
let fixed: Library;
let vuln: ScanResult;
let twin: ScanResult;

const identities = () => [
  parseIdentityFlag(`ann:member=X-Library-Key: ${LIBRARY_KEYS.ann}`),
  parseIdentityFlag(`ben:member=X-Library-Key: ${LIBRARY_KEYS.ben}`),
  parseIdentityFlag(`lena:librarian=X-Library-Key: ${LIBRARY_KEYS.lena}`),
];

beforeAll(async () => {
  [vulnerable, fixed] = await Promise.all([startLibrary(false), startLibrary(true)]);
  [vuln, twin] = await Promise.all([
    runScan({ specs: [LIBRARY_SPEC], target: vulnerable.url, identities: identities() }),
    runScan({ specs: [LIBRARY_SPEC], target: fixed.url, identities: identities() }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all([vulnerable?.close(), fixed?.close()]);
});

describe('scanner on a differently shaped API (lending library fixture)', () => {
  it.each(LIBRARY_FLAWS.map((f) => [f.id, f] as const))('finds the planted %s', (_id, flaw) => {
    const hits = vuln.findings.filter((f) => f.operation === flaw.operation && f.owasp === flaw.owasp);
    expect(
      hits.length,
      vuln.findings.map((f) => `${f.check} ${f.owasp} ${f.operation}`).join('\n'),
    ).toBeGreaterThan(0);
  });

  it('reports nothing of medium or above on the fixed twin', () => {
    expect(
      twin.findings.filter((f) => atOrAbove(f, 'medium')).map((f) => `${f.check} ${f.operation}: ${f.title}`),
    ).toEqual([]);
  });

  it('masks the API keys in the evidence', () => {
    const text = JSON.stringify(vuln);
    for (const k of Object.values(LIBRARY_KEYS)) expect(text).not.toContain(k);
  });

  it('stops on abort (Ctrl-C) and on --max-duration with a partial result that says so', async () => {
    const stop = new AbortController();
    const aborted = await runScan({
      specs: [LIBRARY_SPEC],
      target: vulnerable.url,
      identities: identities(),
      signal: stop.signal,
      onProgress: (p) => {
        if (p.index === 3) stop.abort();
      },
    });
    expect(aborted.partial).toBe(true);
    expect(aborted.meta.notes!.join('\n')).toMatch(/stopped early \(the scan was stopped\)/);
    expect(aborted.findings.length).toBeGreaterThan(0); // what was found before the stop is kept
    const timed = await runScan({
      specs: [LIBRARY_SPEC],
      target: vulnerable.url,
      identities: identities(),
      maxDurationMs: 1,
      rate: 50,
    });
    expect(timed.partial).toBe(true);
    expect(timed.meta.notes!.join('\n')).toMatch(/--max-duration/);
  });
});
