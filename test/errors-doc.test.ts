import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { problemTypes } from '../src/core/errors.ts';

// docs/errors.md documents every problem type the gateway can send (STYLE 7).
describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  it.each(Object.entries(problemTypes))('documents %s with its status', (code, def) => {
    const section = new RegExp(`^### \`${code}\` — ${def.status}\\b`, 'm');
    expect(doc).toMatch(section);
  });
  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^### `([a-z0-9-]+)`/gm)].map((m) => m[1]);
    expect(documented.filter((c) => !(c! in problemTypes))).toEqual([]);
  });
});
