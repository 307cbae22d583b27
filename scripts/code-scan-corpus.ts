/**
 * Generates a corpus of API handler code (default 50,000 lines) in varied styles that the
 * fixture does not use — other handler parameter names, routers, destructuring with
 * renames, other client libraries — with known plants and safe twins, scans it with
 * `rampart code`'s engine and prints detection, false positives and the time taken.
 *
 *   node --import tsx scripts/code-scan-corpus.ts [LINES]
 *
 * Figures are in docs/code-scan.md. Seeded, so runs are comparable.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanTree } from '../src/code/scan.ts';

const target = Number(process.argv[2] ?? 50_000);
let seed = 17;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return (seed >>> 16) % n;
};
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;

interface Variant {
  rule: string;
  /** Lines of a handler body; the line holding `@@` is the sink (the marker is removed). */
  bad: (i: string) => string[];
  good: (i: string) => string[];
}
const V: Variant[] = [
  {
    rule: 'sql-injection',
    bad: (i) => [
      `const ${i} = ${'IN'}.id;`,
      `return pool.query("SELECT * FROM accounts WHERE id = '" + ${i} + "'"); @@`,
    ],
    good: (i) => [
      `const ${i} = IN.id;`,
      `return pool.query('SELECT * FROM accounts WHERE id = $1', [${i}]);`,
    ],
  },
  {
    rule: 'sql-injection',
    bad: (i) => [
      `const { name: ${i} } = IN;`,
      'const sql = `DELETE FROM carts WHERE owner = ${' + i + '}`;',
      'await connection.query(sql); @@',
    ],
    good: (i) => [
      `const { name: ${i} } = IN;`,
      "await connection.query('DELETE FROM carts WHERE owner = ?', [" + i + ']);',
    ],
  },
  {
    rule: 'sql-injection',
    bad: (i) => [`const ${i} = IN.sort;`, 'return knex.raw(`select * from t order by ${' + i + '}`); @@'],
    good: (i) => [
      `const ${i} = IN.sort === 'asc' ? 'asc' : 'desc';`,
      "return knex('t').orderBy('id', " + i + ');',
    ],
  },
  {
    rule: 'sql-injection',
    bad: (i) => [
      `const ${i} = IN.q;`,
      'return prisma.$executeRawUnsafe(`UPDATE "User" SET bio = \'${' + i + "}'`); @@",
    ],
    good: (i) => [`const ${i} = IN.q;`, 'return prisma.$executeRaw`UPDATE "User" SET bio = ${' + i + '}`;'],
  },
  {
    rule: 'command-injection',
    bad: (i) => [`const ${i} = IN.file;`, 'child_process.execSync(`gzip ${' + i + '}`); @@'],
    good: (i) => [`const ${i} = IN.file;`, "child_process.execFileSync('gzip', ['--', String(" + i + ')]);'],
  },
  {
    rule: 'path-traversal',
    bad: (i) => [`const ${i} = path.resolve(UPLOADS, IN.name);`, `return fs.promises.readFile(${i}); @@`],
    good: (i) => [
      `const ${i} = path.resolve(UPLOADS, path.basename(IN.name));`,
      `return fs.promises.readFile(${i});`,
    ],
  },
  {
    rule: 'ssrf',
    bad: (i) => [`const ${i} = IN.callback;`, `await axios.post(${i}, { ok: true }); @@`],
    good: (i) => [`const ${i} = HOOKS.get(IN.callback);`, `await axios.post(${i}, { ok: true });`],
  },
  {
    rule: 'ssrf',
    bad: (i) => [`const ${i} = new URL(IN.image);`, `const img = await got(${i}.href); @@`],
    good: (i) => [
      `const ${i} = new URL('https://cdn.example.com/' + encodeURIComponent(IN.image));`,
      `const img = await got(${i}.href);`,
    ],
  },
  {
    rule: 'open-redirect',
    bad: (i) => [`const ${i} = IN.returnUrl || '/';`, `return RES.redirect(302, ${i}); @@`],
    good: (i) => [`const ${i} = ROUTES[IN.returnUrl] || '/';`, `return RES.redirect(302, ${i});`],
  },
  {
    rule: 'code-injection',
    bad: (i) => [`const ${i} = IN.formula;`, `const fn = new Function('x', 'return ' + ${i}); @@`],
    good: (i) => [`const ${i} = Number(IN.formula);`, `const fn = (x) => x * ${i};`],
  },
  {
    rule: 'insecure-random',
    bad: (i) => [`const ${i}Token = Math.floor(Math.random() * 1e9).toString(16); @@`],
    good: (i) => [`const ${i}Token = crypto.randomUUID();`],
  },
  {
    rule: 'cookie-insecure',
    bad: (i) => [`RES.cookie('${i}', 'v', { maxAge: 3600 }); @@`],
    good: (i) => [`RES.cookie('${i}', 'v', { maxAge: 3600, httpOnly: true, secure: true });`],
  },
  {
    rule: 'jwt-verify-no-algorithms',
    bad: (i) => [`const ${i} = jwt.verify(IN.token, PUBLIC_KEY, { audience: 'api' }); @@`],
    good: (i) => [
      `const ${i} = jwt.verify(IN.token, PUBLIC_KEY, { audience: 'api', algorithms: ['ES256'] });`,
    ],
  },
  // Styles the rules do not know (counted as misses, honestly): pg-promise's db.any, a helper wrapping the request.
  {
    rule: 'sql-injection',
    bad: (i) => [
      `const ${i} = IN.tag;`,
      "return db.any(`SELECT * FROM posts WHERE tag = '${" + i + "}'`); @@",
    ],
    good: (i) => [
      `const ${i} = IN.tag;`,
      "return db.any('SELECT * FROM posts WHERE tag = $1', [" + i + ']);',
    ],
  },
  {
    rule: 'ssrf',
    bad: (i) => [`const ${i} = input(REQ, 'url');`, `return fetch(${i}); @@`],
    good: (i) => [`const ${i} = input(REQ, 'url');`, `return fetch(ALLOWED.get(${i}));`],
  },
];

const STYLES = [
  {
    open: (p: string) => `router.get('${p}', async (rq, rs) => {`,
    req: 'rq',
    res: 'rs',
    close: '});',
    src: ['rq.query', 'rq.params', 'rq.body'],
  },
  {
    open: (p: string) => `app.route('${p}').post(async function (incoming, out) {`,
    req: 'incoming',
    res: 'out',
    close: '});',
    src: ['incoming.body', 'incoming.query'],
  },
  {
    open: (p: string) => `fastify.post('${p}', async (request, reply) => {`,
    req: 'request',
    res: 'reply',
    close: '});',
    src: ['request.body', 'request.query'],
  },
  {
    open: (p: string) => `router.get('${p}', async (ctx) => {`,
    req: 'ctx',
    res: 'ctx',
    close: '});',
    src: ['ctx.request.body', 'ctx.query'],
  },
];

const FILLER = [
  'function clamp(n, lo, hi) {\n  return Math.min(hi, Math.max(lo, n));\n}',
  'const DATE = /^\\d{4}-\\d{2}-\\d{2}$/;',
  'const config = { host: process.env.HOST, password: process.env.DB_PASSWORD, retries: 3 };',
  'export function toDto(row) {\n  return { id: row.id, name: row.name, createdAt: row.created_at };\n}',
  'const jitter = Math.random() * 250;',
  "logger.info({ path: '/health' }, 'ok');",
  "const hash = crypto.createHash('sha256');",
];

const root = mkdtempSync(join(tmpdir(), 'rampart-corpus-'));
const planted: Array<{ file: string; line: number; rule: string }> = [];
let lines = 0;
let n = 0;
let safeHandlers = 0;
while (lines < target) {
  const dir = join(root, `svc${n % 20}`);
  mkdirSync(dir, { recursive: true });
  const file = `svc${n % 20}/routes${n}.js`;
  const out: string[] = [
    "import fs from 'node:fs';",
    "import path from 'node:path';",
    "import crypto from 'node:crypto';",
    '',
  ];
  for (let h = 0; h < 12; h++) {
    const style = pick(STYLES);
    const v = pick(V);
    const bad = rnd(2) === 0;
    const ident = pick(['value', 'input', 'term', 'target', 'item', 'sel']) + h;
    out.push(style.open(`/r${n}/${h}`));
    for (const raw of (bad ? v.bad : v.good)(ident)) {
      const line =
        '  ' + raw.replace(/IN/g, pick(style.src)).replace(/RES/g, style.res).replace(/REQ/g, style.req);
      if (line.includes('@@')) {
        planted.push({ file, line: out.length + 1, rule: `code/${v.rule}` });
        out.push(line.replace(' @@', ''));
      } else out.push(line);
    }
    if (!bad) safeHandlers++;
    out.push(style.close, '');
    for (let f = 0; f < 4; f++) out.push(...FILLER[(h + f) % FILLER.length]!.split('\n'));
    out.push('');
  }
  writeFileSync(join(root, file), out.join('\n') + '\n');
  lines += out.length + 1;
  n++;
}

const started = process.hrtime.bigint();
const tty = process.stderr.isTTY === true;
const result = scanTree(
  root,
  tty ? { progress: (d, t) => process.stderr.write(`\rscanning ${d}/${t} files${d === t ? '\n' : ''}`) } : {},
);
const ms = Number(process.hrtime.bigint() - started) / 1e6;

const key = (f: string, l: number, r: string): string => `${f}:${l}:${r}`;
const found = new Set(
  result.findings.map((f) => key(f.evidence.location!.file, f.evidence.location!.line!, f.check)),
);
const plantedKeys = new Set(planted.map((p) => key(p.file, p.line, p.rule)));
const byRule = new Map<string, { planted: number; found: number }>();
for (const p of planted) {
  const s = byRule.get(p.rule) ?? { planted: 0, found: 0 };
  s.planted++;
  if (found.has(key(p.file, p.line, p.rule))) s.found++;
  byRule.set(p.rule, s);
}
// Rules the generator models (plants and guards against). Findings of other rules are not
// false positives of this measure: e.g. code/unvalidated-body fires where a generated handler
// stores a request body without a schema validation call — which is what that rule means;
// the generator never validates bodies. They are counted apart.
const modelled = new Set(V.map((v) => `code/${v.rule}`));
const unplanted = result.findings.filter(
  (f) => !plantedKeys.has(key(f.evidence.location!.file, f.evidence.location!.line!, f.check)),
);
const fps = unplanted.filter((f) => modelled.has(f.check));
const outside = unplanted.filter((f) => !modelled.has(f.check));
const tp = planted.filter((p) => found.has(key(p.file, p.line, p.rule))).length;
console.log(
  `corpus: ${result.stats.files} files, ${result.stats.lines} lines, ${planted.length} plants, ${safeHandlers} safe handlers`,
);
console.log(`scan: ${(ms / 1000).toFixed(2)} s (${Math.round(result.stats.lines / (ms / 1000))} lines/s)`);
console.log(
  `detected ${tp}/${planted.length} plants (${((100 * tp) / planted.length).toFixed(1)}%), ${fps.length} false positives`,
);
for (const [rule, s] of [...byRule].sort()) console.log(`  ${rule.padEnd(32)} ${s.found}/${s.planted}`);
const fpRules = new Map<string, number>();
for (const f of fps) fpRules.set(f.check, (fpRules.get(f.check) ?? 0) + 1);
for (const [rule, c] of fpRules) console.log(`  false positive ${rule}: ${c}`);
const outsideRules = new Map<string, number>();
for (const f of outside) outsideRules.set(f.check, (outsideRules.get(f.check) ?? 0) + 1);
for (const [rule, c] of outsideRules) console.log(`  not modelled by the generator: ${rule}: ${c}`);
if (result.notes.length) console.log('notes:', result.notes.slice(0, 3));
rmSync(root, { recursive: true, force: true });
