/**
 * Pattern rules, table-driven over test/fixtures/code/: every `// plant: <rule>` line of a
 * vulnerable file yields exactly that rule there, and each fixed twin yields nothing.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { patternHits } from '../scan.ts';
import { analyzePatterns, catastrophic } from './analyze.ts';
import { PATTERN_RULES } from './rules.ts';

const fixture = (p: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/code/${p}`, import.meta.url)), 'utf8');
const PAIRS = [
  ['express/vulnerable.js', 'express/fixed.js'],
  ['fastify/vulnerable.ts', 'fastify/fixed.ts'],
  ['koa-hono/vulnerable.js', 'koa-hono/fixed.js'],
] as const;

function plants(text: string): Array<{ line: number; rule: string }> {
  return text
    .split('\n')
    .map((l, i) => ({ line: i + 1, rule: /\/\/ plant: ([\w-]+)/.exec(l)?.[1] }))
    .filter((p): p is { line: number; rule: string } => p.rule !== undefined);
}

describe('pattern rules on the fixture', () => {
  const planted = new Set<string>();
  for (const [vulnerable, fixed] of PAIRS) {
    const text = fixture(vulnerable);
    const { hits } = patternHits(vulnerable, text);
    for (const p of plants(text)) {
      planted.add(p.rule);
      it(`${vulnerable}:${p.line} fires code/${p.rule}`, () => {
        const here = hits.filter((h) => h.line === p.line);
        expect(here.map((h) => h.rule.id)).toEqual([`code/${p.rule}`]);
        expect(here[0]!.column).toBeGreaterThan(0);
      });
    }
    it(`${vulnerable} has no finding off its plants`, () => {
      const lines = new Set(plants(text).map((p) => p.line));
      expect(hits.filter((h) => !lines.has(h.line)).map((h) => `${h.line} ${h.rule.id}`)).toEqual([]);
    });
    it(`${fixed} (the fixed twin) is silent`, () => {
      const r = patternHits(fixed, fixture(fixed));
      expect(r.note).toBeUndefined();
      expect(r.hits.map((h) => `${h.line} ${h.rule.id} ${h.message}`)).toEqual([]);
    });
  }
  it('every pattern rule is planted at least once', () => {
    expect([...planted].sort()).toEqual(Object.keys(PATTERN_RULES).sort());
  });
  it('the flow rules are planted in more than one framework style', () => {
    for (const rule of [
      'sql-injection',
      'command-injection',
      'path-traversal',
      'ssrf',
      'open-redirect',
      'code-injection',
    ]) {
      const styles = PAIRS.filter(([v]) => plants(fixture(v)).some((p) => p.rule === rule));
      expect(styles.length, rule).toBeGreaterThan(1);
    }
  });
});

describe('data flow', () => {
  it('records the path from the request input to the sink', () => {
    const text = fixture('express/vulnerable.js');
    const h = patternHits('v.js', text).hits.find(
      (x) => x.rule.id === 'code/path-traversal' && /readFile/.test(x.message),
    )!;
    expect(h.details?.flow).toEqual([
      'req.query',
      'req.query.name',
      "path.join('/srv/files', req.query.name)",
      'file',
      'fs.readFile()',
    ]);
  });
  it('follows destructuring, reassignment and template literals; stops at converting functions', () => {
    const src = `app.get('/a', async (rq, rs) => {
      const { id } = rq.params;
      let sql;
      sql = \`SELECT * FROM t WHERE id = \${id}\`;
      await db.query(sql);
      await db.query('SELECT * FROM t WHERE id = ' + Number(id));
    });`;
    const { hits } = analyzePatterns('a.js', src);
    expect(hits.map((h) => h.rule)).toEqual(['sql-injection']);
    expect(hits[0]!.flow).toEqual([
      'rq.params',
      'id',
      '`SELECT * FROM t WHERE id = ${id}`',
      'sql',
      'db.query()',
    ]);
  });
  it('does not treat a constant query with bound parameters as injection', () => {
    const src = `app.post('/u', (req, res) => pool.query('UPDATE u SET name = $1 WHERE id = $2', [req.body.name, req.params.id]));`;
    // Not SQL injection; the unvalidated body it stores is its own rule.
    expect(analyzePatterns('b.js', src).hits.map((h) => h.rule)).toEqual(['unvalidated-body']);
    const checked = `app.post('/u', (req, res) => { const b = Body.parse(req.body); return pool.query('UPDATE u SET name = $1 WHERE id = $2', [b.name, req.params.id]); });`;
    expect(analyzePatterns('b.js', checked).hits).toEqual([]);
  });
  it('a Map or cache get with request input is not SQL', () => {
    const src = `app.get('/c', (req, res) => res.json(cache.get('user:' + req.query.id)));`;
    expect(analyzePatterns('c.js', src).hits).toEqual([]);
  });
});

describe('bad source', () => {
  it('a syntax error yields a note with the position, not a crash or a guess', () => {
    const r = patternHits('broken.js', 'const a = {\n  eval(req.body.x\n');
    expect(r.hits).toEqual([]);
    expect(r.note).toMatch(/^broken\.js:\d+:\d+: patterns not analysed, syntax error/);
  });
});

describe('catastrophic backtracking', () => {
  it.each([
    ['(a+)+$', true],
    ['^([a-z0-9._%+-]+)+@', true],
    ['(\\w+\\s?)*$', true],
    ['(a|a)*b', true],
    ['(.*a){2,}', true],
    ['^[a-z]+(?:[_-][a-z]+)*$', false],
    ['(\\.[A-Za-z0-9-]+)+$', false],
    ['^(a|b)*$', false],
    ['^\\d{1,3}(\\.\\d{1,3}){3}$', false],
  ])('%s → %s', (re, expected) => {
    expect(catastrophic(re)).toBe(expected);
  });
});
