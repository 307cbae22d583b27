/**
 * The ESLint plugin (`rampart/eslint`): the pattern rules of `rampart code` as ESLint
 * rules, so the editor flags them as the code is written. One implementation: each rule
 * reports the hits of `analyzePatterns` (src/code/patterns/analyze.ts) for its id; the
 * analysis runs once per file text, whichever rule asks first.
 *
 * @example
 * // eslint.config.js
 * import rampart from 'rampart/eslint';
 * export default [rampart.configs.recommended];
 */
import type { ESLint, Linter, Rule } from 'eslint';
import { analyzePatterns, type PatternHit } from './patterns/analyze.ts';
import { PATTERN_RULES, type PatternRuleName } from './patterns/rules.ts';
import { lineStarts, position } from './scan.ts';

let last: { file: string; text: string; hits: PatternHit[]; starts: number[] } | undefined;
function analysis(file: string, text: string): NonNullable<typeof last> {
  if (!last || last.file !== file || last.text !== text) {
    // A file that does not parse gets no pattern report (ESLint reports the syntax error itself).
    last = { file, text, hits: analyzePatterns(file, text).hits, starts: lineStarts(text) };
  }
  return last;
}

function eslintRule(name: PatternRuleName): Rule.RuleModule {
  const rule = PATTERN_RULES[name];
  return {
    meta: {
      type: 'problem',
      docs: { description: rule.title, url: rule.references?.[0] },
      messages: { found: '{{message}} [{{owasp}}, CWE-{{cwe}}]. {{fix}}' },
      schema: [],
    },
    create(context) {
      return {
        'Program:exit'() {
          const a = analysis(context.filename, context.sourceCode.text);
          for (const h of a.hits) {
            if (h.rule !== name) continue;
            const s = position(a.starts, h.start);
            const e = position(a.starts, h.end);
            const flow = h.flow ? ` (flow: ${h.flow.join(' → ')})` : '';
            context.report({
              loc: {
                start: { line: s.line, column: s.column - 1 },
                end: { line: e.line, column: e.column - 1 },
              },
              messageId: 'found',
              data: { message: h.message + flow, owasp: rule.owasp, cwe: String(rule.cwe), fix: rule.fix },
            });
          }
        },
      };
    },
  };
}

const names = Object.keys(PATTERN_RULES) as PatternRuleName[];
const plugin = {
  meta: { name: 'rampart', version: '0.1.0' },
  rules: Object.fromEntries(names.map((n) => [n, eslintRule(n)])),
  configs: {} as Record<string, Linter.Config>,
} satisfies ESLint.Plugin;

plugin.configs.recommended = {
  name: 'rampart/recommended',
  plugins: { rampart: plugin },
  rules: Object.fromEntries(names.map((n) => [`rampart/${n}`, 'error'])),
};

export default plugin;
