/**
 * `rampart code` end to end: bad input is skipped with notes (never a crash), .gitignore,
 * --exclude and node_modules are honoured, SARIF validates against the 2.1.0 schema,
 * exit codes follow --fail-on, and --history finds a secret deleted from the tree.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJsonReport } from '../../report/index.ts';
import { main } from '../main.ts';

const PLANT = "app.post('/calc', (req, res) => res.json(eval(req.body.expr)));\n";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['code', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'rampart-code-'));
  const w = (p: string, data: string | Buffer): void => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), data);
  };
  w('src/app.js', "import express from 'express';\nconst app = express();\n" + PLANT);
  w('src/logo.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), randomBytes(64)]));
  w('src/huge.js', '// big\n' + 'x'.repeat(1024 * 1024 + 10));
  w('src/bundle.min.js', Array.from({ length: 3 }, () => 'var a=1;'.repeat(400) + PLANT.trim()).join('\n'));
  w('src/latin1.js', Buffer.from([0x2f, 0x2f, 0x20, 0xe9, 0xff, 0x0a]));
  w('src/broken.ts', 'export function f( {\n');
  w('node_modules/dep/index.js', PLANT);
  w('generated/out.js', PLANT);
  w('vendor/lib.js', PLANT);
  w('.gitignore', 'generated/\n');
  symlinkSync('..', join(root, 'src', 'loop'));
  symlinkSync(join(root, 'nowhere.js'), join(root, 'src', 'dangling.js'));
});

describe('rampart code on a tree with bad input', () => {
  it('reports the plant only, and a note for each skipped file', async () => {
    const { code, out } = await run([
      root,
      '--format',
      'json',
      '--fail-on',
      'none',
      '--exclude',
      'vendor/**',
    ]);
    expect(code).toBe(0);
    const report = parseJsonReport(out);
    expect(
      report.findings.map((f) => `${f.check} ${f.evidence.location?.file}:${f.evidence.location?.line}`),
    ).toEqual(['code/code-injection src/app.js:3']);
    const notes = report.meta.notes!.join('\n');
    expect(notes).toContain('src/logo.png: skipped, binary');
    expect(notes).toMatch(/src\/huge\.js: skipped, larger than 1 MiB/);
    expect(notes).toContain('src/bundle.min.js: skipped, minified bundle');
    expect(notes).toContain('src/latin1.js: skipped, not valid UTF-8');
    expect(notes).toMatch(/src\/broken\.ts:\d+:\d+: patterns not analysed, syntax error/);
    expect(notes).toContain('src/loop: skipped, symlink loop');
    expect(notes).toMatch(/src\/dangling\.js: skipped, unreadable/);
    expect(notes).not.toMatch(/node_modules|generated|vendor/);
    expect(report.meta.stats).toMatchObject({ jsFiles: 3 });
  });
  it('without --exclude the vendored plant counts, and the default --fail-on high exits 1', async () => {
    const { code, out } = await run([root, '--format', 'json']);
    expect(code).toBe(1);
    const files = parseJsonReport(out).findings.map((f) => f.evidence.location?.file);
    expect(files.sort()).toEqual(['src/app.js', 'vendor/lib.js']);
  });
  it('SARIF validates against the 2.1.0 schema and carries the data-flow path', async () => {
    const { out } = await run([root, '--format', 'sarif', '--fail-on', 'none']);
    const schema = JSON.parse(
      readFileSync(
        fileURLToPath(new URL('../../../test/fixtures/sarif/sarif-2.1.0-rtm.5.json', import.meta.url)),
        'utf8',
      ),
    ) as Record<string, unknown>;
    schema.$id = schema.id;
    delete schema.id;
    delete schema.$schema;
    const ajv = new Ajv.default({ strict: false, allErrors: true, unicodeRegExp: false });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const sarif = JSON.parse(out) as {
      runs: Array<{
        results: Array<{ ruleId: string; locations: unknown[] }>;
        tool: { driver: { rules: unknown[] } };
      }>;
    };
    expect(validate(sarif), JSON.stringify(validate.errors)).toBe(true);
    expect(sarif.runs[0]!.results.map((r) => r.ruleId)).toContain('code/code-injection');
    expect(sarif.runs[0]!.tool.driver.rules.length).toBeGreaterThan(20);
    expect(out).toContain('req.body.expr');
  });
  it('bad options are usage errors (exit 2); a missing path exits 1 with its name', async () => {
    expect((await run([root, '--format', 'pdf'])).code).toBe(2);
    expect((await run([root, '--update-advisories', 'ftp://x/y.zip'])).code).toBe(2);
    const missing = await run([join(root, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('nope: no such file or directory');
  });
  it('lockfiles without --advisories are a note, not silence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-code-'));
    writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}');
    const { out } = await run([dir, '--format', 'json']);
    expect(parseJsonReport(out).meta.notes).toContain(
      'dependencies: lockfiles found but not checked (no --advisories database given)',
    );
  });
});

describe('--history', () => {
  it('finds a secret that was committed and later deleted, naming the commit that added it', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'rampart-hist-'));
    const git = (...a: string[]): string =>
      execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...a], {
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    const token =
      'ghp_' +
      randomBytes(27)
        .toString('base64')
        .replace(/[^A-Za-z0-9]/g, 'q')
        .slice(0, 36);
    writeFileSync(join(repo, 'config.js'), `export const gh = '${token}';\n`);
    git('add', '.');
    git('commit', '-qm', 'add config');
    const added = git('rev-parse', 'HEAD');
    writeFileSync(join(repo, 'config.js'), 'export const gh = process.env.GH_TOKEN;\n');
    git('commit', '-qam', 'use env');
    const now = parseJsonReport((await run([repo, '--format', 'json', '--fail-on', 'none'])).out);
    expect(now.findings).toEqual([]);
    const { out } = await run([repo, '--history', '--format', 'json', '--fail-on', 'none']);
    expect(out).not.toContain(token);
    const f = parseJsonReport(out).findings;
    expect(
      f.map((x) => [
        x.check,
        x.evidence.location?.file,
        x.evidence.location?.line,
        x.evidence.location?.commit,
      ]),
    ).toEqual([['code/secret-github-token', 'config.js', 1, added]]);
  });
});

describe('finding ids', () => {
  it('stay the same when lines are added above a finding (baselines keep working), and differ per occurrence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-ids-'));
    writeFileSync(join(dir, 'a.js'), PLANT + PLANT);
    const before = parseJsonReport(
      (await run([dir, '--format', 'json', '--fail-on', 'none'])).out,
    ).findings.map((f) => f.id);
    writeFileSync(join(dir, 'a.js'), '// a comment\n\n' + PLANT + PLANT);
    const after = parseJsonReport((await run([dir, '--format', 'json', '--fail-on', 'none'])).out).findings;
    expect(before).toHaveLength(2);
    expect(new Set(before).size).toBe(2);
    expect(after.map((f) => f.id)).toEqual(before);
    expect(after.map((f) => f.evidence.location?.line)).toEqual([3, 4]);
  });
});
