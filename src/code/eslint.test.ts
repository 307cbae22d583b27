/**
 * The ESLint plugin: every pattern rule through ESLint's RuleTester (valid and invalid
 * code), the package export `rampart/eslint` loaded the way a user's config loads it,
 * and the same findings as `rampart code` on the fixture (one source of truth).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import plugin from './eslint.ts';
import { PATTERN_RULES } from './patterns/rules.ts';
import { patternHits } from './scan.ts';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;
const tester = new RuleTester({ languageOptions: { ecmaVersion: 'latest', sourceType: 'module' } });

const H = (body: string): string => `app.post('/x', async (req, res) => {\n${body}\n});`;
const CASES: Record<keyof typeof PATTERN_RULES, { valid: string[]; invalid: string[] }> = {
  'sql-injection': {
    valid: [H("await db.query('SELECT * FROM t WHERE id = $1', [req.body.id]);")],
    invalid: [H('await db.query(`SELECT * FROM t WHERE id = ${req.body.id}`);')],
  },
  'code-injection': {
    valid: [H('res.json(JSON.parse(req.body.data));')],
    invalid: [H('res.json(eval(req.body.data));')],
  },
  'command-injection': {
    valid: [H("execFile('ls', ['-l', req.query.dir]);")],
    invalid: [H("exec('ls ' + req.query.dir);")],
  },
  'path-traversal': {
    valid: [H("fs.readFileSync(path.join('/srv', path.basename(req.query.f)));")],
    invalid: [H("fs.readFileSync('/srv/' + req.query.f);")],
  },
  ssrf: {
    valid: [H("await fetch('https://api.example.com/x?q=' + encodeURIComponent(req.query.q));")],
    invalid: [H('await fetch(req.query.url);')],
  },
  'open-redirect': { valid: [H("res.redirect('/home');")], invalid: [H('res.redirect(req.query.to);')] },
  'jwt-verify-no-algorithms': {
    valid: ["jwt.verify(t, k, { algorithms: ['RS256'] });"],
    invalid: ['jwt.verify(t, k);'],
  },
  'jwt-decode': {
    valid: ["jwt.verify(t, k, { algorithms: ['RS256'] });"],
    invalid: ['const c = jwt.decode(t);'],
  },
  'tls-verification-disabled': {
    valid: ['new https.Agent({ rejectUnauthorized: true });'],
    invalid: ['new https.Agent({ rejectUnauthorized: false });'],
  },
  'weak-hash': {
    valid: ["const tokenHash = crypto.createHash('sha256').update(t).digest('hex');"],
    invalid: ["const tokenHash = crypto.createHash('md5').update(t).digest('hex');"],
  },
  'insecure-random': {
    valid: [
      'const resetToken = crypto.randomBytes(32).toString("hex");',
      'const jitter = Math.random() * 100;',
    ],
    invalid: ['const resetToken = Math.random().toString(36);'],
  },
  redos: { valid: ['const re = /^[a-z]+(?:-[a-z]+)*$/;'], invalid: ['const re = /^(a+)+$/;'] },
  'cors-permissive': {
    valid: ["app.use(cors({ origin: ['https://a.example'], credentials: true }));"],
    invalid: ["app.use(cors({ origin: '*', credentials: true }));"],
  },
  'error-disclosure': {
    valid: ["app.use((err, req, res, next) => res.status(500).json({ title: 'error' }));"],
    invalid: ['app.use((err, req, res, next) => res.status(500).send(err.stack));'],
  },
  'cookie-insecure': {
    valid: ["res.cookie('s', v, { httpOnly: true, secure: true });"],
    invalid: ["res.cookie('s', v, { httpOnly: true });"],
  },
  'unvalidated-body': {
    valid: [
      H('const data = UserInput.parse(req.body);\nawait User.create(data);'),
      "app.post('/x', validate(userSchema), async (req, res) => { await User.create(req.body); });",
      "fastify.post('/x', { schema: { body: S } }, async (request) => { await db.insert(request.body); });",
    ],
    invalid: [
      H('await User.create(req.body);'),
      H('const { name, role } = req.body;\nawait db.query("INSERT INTO u VALUES ($1, $2)", [name, role]);'),
    ],
  },
  'hardcoded-credentials': {
    valid: ['new Pool({ password: process.env.PGPASSWORD });'],
    invalid: ["new Pool({ password: 'S3cr3t-pa55' });"],
  },
};

describe('RuleTester', () => {
  for (const [name, c] of Object.entries(CASES)) {
    tester.run(name, plugin.rules[name as keyof typeof PATTERN_RULES]!, {
      valid: c.valid,
      invalid: c.invalid.map((code) => ({ code, errors: [{ messageId: 'found' }] })),
    });
  }
  it('every pattern rule is an ESLint rule and has cases', () => {
    expect(Object.keys(plugin.rules).sort()).toEqual(Object.keys(PATTERN_RULES).sort());
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(PATTERN_RULES).sort());
  });
});

describe('rampart/eslint as users load it', () => {
  it('the package export gives the flat recommended config; it reports what rampart code reports', async () => {
    const mod = (await import('rampart/eslint')) as { default: typeof plugin };
    const file = fileURLToPath(new URL('../../test/fixtures/code/fastify/vulnerable.ts', import.meta.url));
    const eslint = new ESLint({
      overrideConfigFile: true,
      overrideConfig: [
        { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
        mod.default.configs.recommended!,
      ],
      ignore: false,
    });
    const [result] = await eslint.lintFiles([file]);
    const fromEslint = result!.messages.map((m) => `${m.line}:${m.column} ${m.ruleId}`).sort();
    const fromScan = patternHits(file, readFileSync(file, 'utf8'))
      .hits.map((h) => `${h.line}:${h.column} ${h.rule.id.replace('code/', 'rampart/')}`)
      .sort();
    expect(fromEslint.length).toBeGreaterThan(10);
    expect(fromEslint).toEqual(fromScan);
  });
});
