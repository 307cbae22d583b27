/**
 * `rampart audit` end to end through the CLI entry point: formats and outputs, exit
 * codes (0 clean, 1 findings/score/bad input, 2 usage), bad input named with file and
 * line, and `-c rampart.yaml` taking the versions' lifecycle and the policies into account.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

const lab = fileURLToPath(new URL('../../src/lab/openapi/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rampart-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['audit', ...argv], { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('rampart audit: exit codes and formats', () => {
  it('vulnerable contract: findings at or above --fail-on high → 1; the secure one → 0', async () => {
    const v = await run(join(lab, 'vulnerable/lab-v2.yaml'));
    expect(v.code).toBe(1);
    expect(v.out).toMatch(/^Rampart audit — /);
    expect(v.out).toMatch(/Score \d+\/100/);
    expect(v.out).toContain('Top fixes');
    const s = await run(join(lab, 'lab-v2.yaml'), join(lab, 'lab-v1.yaml'));
    expect(s.code).toBe(0);
    expect(await run(join(lab, 'lab-v2.yaml'), '--fail-on', 'info').then((r) => r.code)).toBe(1);
    expect(await run(join(lab, 'vulnerable/lab-v2.yaml'), '--fail-on', 'none').then((r) => r.code)).toBe(0);
  });

  it('--min-score fails a run whose score is lower', async () => {
    const r = await run(join(lab, 'vulnerable/lab-v2.yaml'), '--min-score', '80', '--fail-on', 'none');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/score \d+ is below --min-score 80/);
    expect((await run(join(lab, 'lab-v2.yaml'), '--min-score', '90')).code).toBe(0);
  });

  it('writes SARIF and JSON to --output, with the score and every rule', async () => {
    const sarif = join(dir, 'out.sarif');
    expect(
      (await run(join(lab, 'vulnerable/lab-v2.yaml'), '--format', 'sarif', '-o', sarif, '--fail-on', 'none'))
        .code,
    ).toBe(0);
    const log = JSON.parse(readFileSync(sarif, 'utf8'));
    expect(log.runs[0].tool.driver.rules.length).toBe(22);
    expect(log.runs[0].results[0].locations[0].physicalLocation.region.startLine).toBeGreaterThan(0);
    const json = join(dir, 'out.json');
    await run(join(lab, 'vulnerable/lab-v2.yaml'), '--format', 'json', '--output', json);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.meta.tool).toBe('audit');
    expect(report.meta.score.overall).toBeLessThan(60);
    expect(report.meta.topFixes.length).toBe(5);
    expect(report.findings.every((f: { related?: string[] }) => Array.isArray(f.related))).toBe(true);
  });

  it('--suggest-policies adds x-rampart to findings and prints one paths fragment', async () => {
    const r = await run(join(lab, 'vulnerable/lab-v2.yaml'), '--suggest-policies', '--fail-on', 'none');
    expect(r.out).toContain('# x-rampart that would close');
    expect(r.out).toMatch(/paths:\n {2}\/auth\/login:\n {4}post:\n {6}x-rampart:\n {8}bruteForce:/);
    expect(r.out).toMatch(
      / {2}\/records\/\{recordId\}:\n {4}get:\n {6}x-rampart:\n {8}owner:\n {10}lookup: GET \/records\/\{recordId\}\n {10}field: patientId/,
    );
  });

  it('a baseline suppresses accepted findings and they stop counting against the score', async () => {
    const json = join(dir, 'base.json');
    await run(join(lab, 'vulnerable/lab-v2.yaml'), '--format', 'json', '-o', json);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    const highs = report.findings.filter((f: { severity: string }) => f.severity === 'high');
    const baseline = file(
      'baseline.yaml',
      'version: 1\naccepted:\n' +
        highs
          .map(
            (f: { id: string }) =>
              `  - id: '${f.id}'\n    reason: accepted in review\n    expires: 2999-12-31\n`,
          )
          .join(''),
    );
    const r = await run(
      join(lab, 'vulnerable/lab-v2.yaml'),
      '--baseline',
      baseline,
      '--format',
      'json',
      '-o',
      join(dir, 'b2.json'),
    );
    expect(r.code).toBe(0);
    const after = JSON.parse(readFileSync(join(dir, 'b2.json'), 'utf8'));
    expect(after.meta.suppressed).toHaveLength(highs.length);
    expect(after.meta.score.overall).toBeGreaterThan(report.meta.score.overall);
    // Top fixes are ranked over what still counts, titled from the rules.
    expect(after.meta.topFixes[0].title).toMatch(/\(audit\/[a-z-]+: \d+ places?\)$/);
  });
});

describe('rampart audit: bad input', () => {
  it.each([
    ['usage: nothing to audit', [], /name at least one OpenAPI document/],
    ['usage: unknown format', ['x.yaml', '--format', 'pdf'], /--format expects one of/],
    ['usage: bad --min-score', ['x.yaml', '--min-score', '101'], /--min-score expects an integer 0-100/],
    ['usage: unknown flag', ['x.yaml', '--nope'], /unknown option '--nope'/i],
  ])('%s → exit 2 with usage', async (_n, argv, message) => {
    const r = await run(...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain('Usage: rampart audit');
  });

  it.each([
    ['invalid YAML', 'bad.yaml', 'openapi: 3.1.0\ninfo:\n  title: [unclosed\n', /bad\.yaml:\d+:\d+ /],
    [
      'an unresolved $ref',
      'ref.yaml',
      "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths:\n  /a:\n    get:\n      responses:\n        '200': { $ref: '#/components/responses/Nope' }\n",
      /ref\.yaml:7:\d+ +\/paths\/~1a\/get\/responses\/200\/\$ref +invalid \$ref '#\/components\/responses\/Nope'/,
    ],
    [
      'a circular $ref',
      'cycle.yaml',
      "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths:\n  /a:\n    get:\n      responses:\n        '200': { $ref: '#/components/responses/A' }\ncomponents:\n  responses:\n    A: { $ref: '#/components/responses/B' }\n    B: { $ref: '#/components/responses/A' }\n",
      /cycle\.yaml:\d+:\d+ .*circular \$ref/,
    ],
    [
      'Swagger 2.0',
      'swagger.yaml',
      "swagger: '2.0'\ninfo: { title: t, version: '1' }\npaths: {}\n",
      /swagger\.yaml:1:\d+ .*Swagger 2\.0 is not supported; convert it to OpenAPI 3 first \(e\.g\. `npx swagger2openapi/,
    ],
    ['JSON syntax', 'bad.json', '{"openapi": "3.1.0",,}', /bad\.json:1:\d+ /],
  ])('%s → exit 1, file and position', async (_n, name, text, message) => {
    const r = await run(file(name, text));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/nothing audited/);
    expect(r.out).toBe('');
  });

  it('a missing file and a document over --max-size → exit 1, named', async () => {
    const missing = await run(join(dir, 'nope.yaml'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.yaml +\/ +no such file/);
    const big = file(
      'big.yaml',
      `openapi: 3.1.0\ninfo: { title: t, version: '1', description: '${'x'.repeat(1_200_000)}' }\npaths: {}\n`,
    );
    const r = await run(big, '--max-size', '1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /big\.yaml +\/ +document is 1\.1 MiB; the audit reads documents up to 1 MiB \(--max-size\)/,
    );
  });
});

describe('rampart audit -c rampart.yaml', () => {
  it('audits every document the config names, under its base, with the version lifecycle and policies', async () => {
    const config = file(
      'rampart.yaml',
      `apis:
  - name: clinic
    upstream: http://127.0.0.1:9000
    versions:
      - { base: /v2, spec: ${join(lab, 'lab-v2.yaml')} }
      - { base: /v1, spec: ${join(lab, 'vulnerable/lab-v1.yaml')}, deprecated: 2026-01-01, sunset: 2027-06-30, successor: /v2 }
policies:
  brute-force: { enabled: true }
`,
    );
    const out = join(dir, 'config.json');
    const r = await run('-c', config, '--format', 'json', '-o', out, '--fail-on', 'none');
    // With -c the run is recorded in the config's store (the default one, made under data/).
    expect(r.err).toMatch(/^rampart audit: run [0-9a-f-]{36} recorded in the store \(sqlite\)$/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.meta.stats.documents).toBe(2);
    const checks = report.findings.map(
      (f: { check: string; operation?: string }) => `${f.check} ${f.operation ?? ''}`,
    );
    // The lifecycle in rampart.yaml is a sunset plan; the brute-force policy covers the login.
    expect(checks.some((c: string) => c.startsWith('audit/deprecated-without-sunset'))).toBe(false);
    expect(checks).not.toContain('audit/auth-flow-unthrottled POST /v1/login');
    // Still open in v1: the unauthenticated object read.
    expect(checks).toContain('audit/no-security GET /v1/users/{userId}');
    expect(checks).toContain('audit/object-id-without-owner GET /v1/users/{userId}');
    // v2's owner rules (x-rampart) keep its object ids out of the BOLA findings.
    expect(checks.filter((c: string) => c.startsWith('audit/object-id-without-owner GET /v2'))).toEqual([]);
  });

  it('an invalid config is reported with its position, exit 1', async () => {
    const config = file('bad-rampart.yaml', 'apis:\n  - name: Clinic!\n    upstream: nope\n');
    const r = await run('-c', config);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad-rampart\.yaml:2:\d+ +\/apis\/0\/name/);
  });
});
