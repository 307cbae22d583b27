import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { policyDefinitions } from '../src/gateway/policies/index.ts';

// Every policy and each of its options is documented (docs/policies.md or its own page).
describe('policy documentation', () => {
  const main = readFileSync(new URL('../docs/policies.md', import.meta.url), 'utf8');
  for (const definition of policyDefinitions) {
    const name = definition.name;
    it(`documents ${name}`, () => {
      let doc = main;
      try {
        doc += readFileSync(new URL(`../docs/policies/${name}.md`, import.meta.url), 'utf8');
      } catch {
        /* documented in policies.md only */
      }
      expect(main).toContain(`\`${name}\``);
      const props = Object.keys(
        (definition.schema as { properties?: Record<string, unknown> }).properties ?? {},
      );
      for (const p of props) expect(doc, `option ${name}.${p}`).toContain(`\`${p}\``);
    });
  }
});
