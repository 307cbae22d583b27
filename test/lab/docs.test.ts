import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flaws } from '../../src/lab/flaws.ts';

const catalogue = readFileSync(new URL('../../docs/lab.md', import.meta.url), 'utf8');
const workshop = readFileSync(new URL('../../docs/workshop.md', import.meta.url), 'utf8');

describe('docs/lab.md', () => {
  it('lists every flaw of flaws.json with its category, CWE and operation', () => {
    for (const f of flaws) {
      const row = catalogue.split('\n').find((l) => new RegExp(`^\\| \`${f.id}\` +\\|`).test(l));
      expect(row, f.id).toBeDefined();
      expect(row).toContain(f.owasp);
      expect(row).toContain(f.cwe);
      expect(row).toContain(`${f.operation.method} ${f.operation.path}`);
    }
  });
});

describe('docs/workshop.md', () => {
  it('walks through flaws that exist and marks the gateway steps as coming later', () => {
    for (const id of ['bola-read-record', 'sqli-record-search', 'ssrf-avatar']) {
      expect(flaws.some((f) => f.id === id)).toBe(true);
      expect(workshop).toContain(id);
    }
    expect(workshop).toContain('Coming with the gateway policies');
  });
});
