/**
 * `--suggest-policies` hands out x-rampart "ready to paste": every snippet the audit
 * suggests on the lab's vulnerable contract must pass the gateway policies' own x-rampart
 * schemas (what `rampart check` and the gateway accept), and the audit's x-rampart rule
 * must judge a value by those schemas, not by a list of its own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { X_RAMPART_KEYS } from '../../src/cli/app.ts';
import { parseYamlSource, validateAt } from '../../src/core/config-loader.ts';
import { xRampartSchema } from '../../src/core/openapi-loader.ts';
import type { Finding } from '../../src/core/findings.ts';

const lab = fileURLToPath(new URL('../../src/lab/openapi/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rampart-suggest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--suggest-policies', () => {
  it('suggests only x-rampart the gateway accepts', async () => {
    const out = join(dir, 'audit.json');
    const code = await main(
      [
        'audit',
        join(lab, 'vulnerable/lab-v2.yaml'),
        '--suggest-policies',
        '--format',
        'json',
        '--output',
        out,
      ],
      { out: () => {}, err: () => {} },
    );
    expect(code).toBe(1);
    const findings = (JSON.parse(readFileSync(out, 'utf8')) as { findings: Finding[] }).findings;
    const snippets = findings.map((f) => f.remediation.xRampart).filter((x): x is string => !!x);
    expect(snippets.length).toBeGreaterThan(5);
    const keys = new Set<string>();
    for (const text of snippets) {
      const value = (parse(text) as { 'x-rampart': Record<string, unknown> })['x-rampart'];
      Object.keys(value).forEach((k) => keys.add(k));
      const errors = validateAt(
        structuredClone(value),
        xRampartSchema(X_RAMPART_KEYS) as Record<string, unknown>,
        parseYamlSource(text, 'snippet.yaml'),
        ['x-rampart'],
      );
      expect(
        errors.map((e) => `${e.path}: ${e.message}`),
        text,
      ).toEqual([]);
    }
    // The lab's flaws call for these policies at least.
    for (const k of ['owner', 'roles', 'ssrf', 'bruteForce', 'pii']) expect([...keys]).toContain(k);
  });
});
