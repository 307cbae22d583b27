/**
 * `rampart posture` on real configurations: the built-in demo and fixture configs whose
 * documents differ in coverage (the chains are compiled by the gateway's own code), with
 * evidence produced by the real tools — `rampart audit` and `rampart scan` of the lab
 * writing their JSON reports — and a CI definition. The score moves when a rate limit or
 * MFA is added; the HTML report renders in Chromium with no console error, no request
 * and a hostile value shown as text.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CommandIO } from '../../src/cli/command.ts';
import { LAB_SPECS, startLab } from '../../src/lab/index.ts';
import type { PostureReport } from '../../src/posture/types.ts';
import { parseJsonReport, render } from '../../src/report/index.ts';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CommandIO = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const code = await main(argv, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

async function report(...argv: string[]): Promise<PostureReport> {
  const r = await run('posture', '--format', 'json', ...argv);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const json = JSON.parse(r.out) as PostureReport & { format: string };
  expect(json.format).toBe('rampart-posture');
  return json;
}

const item = (r: PostureReport, id: string) =>
  [...r.checklist, ...r.owasp].find((i) => i.id === id) ?? expect.fail(`no item ${id}`);

const SPEC = (xDoc: string, xWrite: string) => `openapi: 3.1.0
info: { title: Shop, version: 1.0.0 }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer }
security:
  - bearer: []
${xDoc}
paths:
  /items:
    get:
      responses:
        '200':
          description: ok
          content: { application/json: { schema: { type: array, items: { type: object, properties: { id: { type: string } } } } } }
    post:
      ${xWrite}
      requestBody:
        content: { application/json: { schema: { type: object, properties: { name: { type: string } } } } }
      responses: { '201': { description: created } }
  /items/{itemId}:
    parameters:
      - { name: itemId, in: path, required: true, schema: { type: string } }
    get:
      responses: { '200': { description: ok } }
  /admin/items:
    delete:
      x-rampart: { roles: [admin] }
      responses: { '204': { description: gone } }
`;

const CONFIG = (extra = '') => `listen: { tls: { enabled: false } }
policies:
  roles: { hierarchy: { admin: [], user: [] } }
${extra}
apis:
  - name: shop
    upstream: http://127.0.0.1:9
    versions:
      - { base: /v1, spec: shop.yaml }
`;

let tmp: string;
let saved: string | undefined;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rampart-posture-'));
  // The demo is chosen only when no config is named: keep the environment's out of it.
  saved = process.env.RAMPART_CONFIG;
  delete process.env.RAMPART_CONFIG;
});
afterAll(() => {
  if (saved !== undefined) process.env.RAMPART_CONFIG = saved;
  rmSync(tmp, { recursive: true, force: true });
});

function fixture(name: string, spec: string, config: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'shop.yaml'), spec);
  writeFileSync(join(dir, 'rampart.yaml'), config);
  return join(dir, 'rampart.yaml');
}

describe('rampart posture', () => {
  it('judges the built-in demo without a config, records the run and shows the trend on the next', async () => {
    const data = join(tmp, 'demo');
    const first = await report('--data', data);
    expect(first.source).toMatch(/built-in demo/);
    expect(first.checklist).toHaveLength(10);
    expect(first.owasp.map((i) => i.id)).toEqual([
      'API1:2023',
      'API2:2023',
      'API3:2023',
      'API4:2023',
      'API5:2023',
      'API6:2023',
      'API7:2023',
      'API8:2023',
      'API9:2023',
      'API10:2023',
    ]);
    // The demo's compiled chains: owner on the lab's record operations, the flow limit on coupons,
    // MFA off (the lab's tokens carry no amr), a deprecated v1 with a sunset.
    const ev = (id: string) =>
      item(first, id)
        .criteria.map((c) => c.evidence)
        .join('\n');
    expect(ev('API6:2023')).toContain('POST /v2/invoices/{invoiceId}/coupons');
    expect(item(first, 'mfa').criteria.find((c) => c.id === 'mfa-admin')!.value).toBe(0);
    expect(first.actions[0]!.gain).toBeGreaterThan(0);
    expect(first.trend.runs).toEqual([]);
    const history = JSON.parse(readFileSync(join(data, 'posture-history.json'), 'utf8')) as {
      runs: Array<{ score: number }>;
    };
    expect(history.runs.map((r) => r.score)).toEqual([first.score]);
    const second = await report('--data', data);
    expect(second.trend.runs).toHaveLength(1);
    expect(second.trend.delta).toBe(second.score - first.score);
    const text = await run('posture', '--data', data, '--no-record');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^Rampart posture — built-in demo/);
    expect(text.out).toMatch(/Overall score \d+\/100 {3}trend: \d+ → \d+ → \d+/);
    expect(JSON.parse(readFileSync(join(data, 'posture-history.json'), 'utf8')).runs).toHaveLength(2);
  });

  it('the score moves when the document adds a rate limit, and again with MFA on the writes', async () => {
    const bare = await report('-c', fixture('bare', SPEC('', ''), CONFIG()), '--no-record', '--no-traffic');
    const limited = await report(
      '-c',
      fixture(
        'limited',
        SPEC('x-rampart:\n  rateLimit: { per: user, limit: 100, window: 60 }', ''),
        CONFIG(),
      ),
      '--no-record',
      '--no-traffic',
    );
    const rl = (r: PostureReport) => item(r, 'rate-limiting').criteria.find((c) => c.id === 'rate-limit')!;
    expect(rl(bare).value).toBe(0);
    expect(rl(bare).action).toContain('x-rampart: { rateLimit:');
    expect(rl(limited).value).toBe(1);
    expect(item(limited, 'rate-limiting').score).toBeGreaterThan(item(bare, 'rate-limiting').score);
    expect(item(limited, 'API4:2023').score).toBeGreaterThan(item(bare, 'API4:2023').score);
    expect(limited.score).toBeGreaterThan(bare.score);
    const predicted = bare.actions.find((a) => a.action === rl(bare).action)!.gain;
    expect(predicted).toBeGreaterThan(0);

    const mfa = await report(
      '-c',
      fixture(
        'mfa',
        SPEC(
          'x-rampart:\n  rateLimit: { per: user, limit: 100, window: 60 }',
          'x-rampart: { mfa: required }',
        ),
        CONFIG(),
      ),
      '--no-record',
      '--no-traffic',
    );
    const sensitive = (r: PostureReport) => item(r, 'mfa').criteria.find((c) => c.id === 'mfa-sensitive')!;
    // POST /items and the admin DELETE are the sensitive operations; the DELETE's admin role needs MFA.
    expect(sensitive(limited).value).toBe(0.5);
    expect(sensitive(limited).action).toContain('x-rampart: { mfa: required } on POST /v1/items');
    expect(sensitive(mfa).value).toBe(1);
    expect(item(mfa, 'mfa').score).toBeGreaterThan(item(limited, 'mfa').score);
    expect(mfa.score).toBeGreaterThan(limited.score);

    const off = await report(
      '-c',
      fixture('mfa-off', SPEC('', ''), CONFIG('  mfa: { enabled: false }')),
      '--no-record',
      '--no-traffic',
    );
    expect(item(off, 'mfa').criteria.find((c) => c.id === 'mfa-admin')!.value).toBe(0);
    expect(item(bare, 'mfa').criteria.find((c) => c.id === 'mfa-admin')!.value).toBe(1);
  });

  it('reads the evidence the real tools stored: rampart scan --history, rampart audit JSON, CI on push', async () => {
    const config = fixture(
      'evidence',
      SPEC('', ''),
      CONFIG(`posture:
  evidence:
    scans: scans
    audits: [reports/audit.json]
    ci: [.github/workflows]`),
    );
    const dir = join(tmp, 'evidence');
    const before = await report('-c', config, '--no-record', '--no-traffic');
    expect(item(before, 'scans').score).toBe(0);
    expect(item(before, 'pentest').score).toBe(0);

    mkdirSync(join(dir, 'reports'));
    const audit = await run(
      'audit',
      join(dir, 'shop.yaml'),
      '--format',
      'json',
      '--output',
      join(dir, 'reports/audit.json'),
    );
    expect(audit.code).toBe(0);
    const lab = await startLab({ mode: 'vulnerable' });
    try {
      const scan = await run(
        'scan',
        '--spec',
        LAB_SPECS.v2,
        '--target',
        lab.url,
        '--history',
        join(dir, 'scans'),
        '--name',
        'lab',
        '--checks',
        'security-headers,verbose-errors,inventory',
      );
      expect(scan.err).toMatch(/stored .*scans\/lab\/.*\.json/);
    } finally {
      await lab.close();
    }
    mkdirSync(join(dir, '.github/workflows'), { recursive: true });
    writeFileSync(
      join(dir, '.github/workflows/api-scan.yml'),
      'name: scan\non:\n  push:\n    branches: [main]\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npx rampart scan --spec openapi.yaml --target http://127.0.0.1:8080\n',
    );

    const after = await report('-c', config, '--no-record', '--no-traffic');
    const crit = (r: PostureReport, i: string, c: string) => item(r, i).criteria.find((x) => x.id === c)!;
    expect(crit(after, 'scans', 'scans-push').value).toBe(1);
    expect(crit(after, 'scans', 'scans-push').evidence).toContain('.github/workflows/api-scan.yml');
    expect(crit(after, 'scans', 'scans-latest').value).toBe(1);
    expect(crit(after, 'pentest', 'pentest-recent').value).toBe(1);
    // The scan ran no identity: the cross-identity checks did not run.
    expect(crit(after, 'pentest', 'pentest-identities').value).toBe(0);
    // API8 and API9 were covered by the scan's checks; the audit's open findings lower what they cover.
    const stored = parseJsonReport(readFileSync(join(dir, 'reports/audit.json'), 'utf8'));
    const auditCats = new Set(
      stored.findings.filter((f) => f.severity !== 'info' && f.severity !== 'low').map((f) => f.owasp),
    );
    for (const c of ['API9:2023'] as const) {
      const d = crit(after, c, `detected-${c}`);
      expect(d.value).toBeGreaterThan(0);
      expect(d.evidence).toMatch(/scan lab today/);
    }
    expect(auditCats.size).toBeGreaterThan(0);
    for (const c of auditCats) {
      const d = crit(after, c!, `detected-${c}`);
      expect(d.evidence).toMatch(/audit .*shop\.yaml today: [1-9]\d* open medium\+ finding/);
      expect(d.value).toBeLessThan(1);
    }
    expect(after.score).toBeGreaterThan(before.score);
  });

  it('a cron scan schedule counts by its longest gap: weekdays at 03:00 is weekly, the first of the month is not', async () => {
    const cadence = async (name: string, cron: string) => {
      const config = fixture(
        name,
        SPEC('', ''),
        CONFIG(`scans:
  jobs:
    - { name: shop, spec: [shop.yaml], target: 'http://127.0.0.1:9', cron: '${cron}' }`),
      );
      const r = await report('-c', config, '--no-record', '--no-traffic');
      return item(r, 'scans').criteria.find((c) => c.id === 'scans-schedule')!;
    };
    const weekdays = await cadence('cron-weekdays', '0 3 * * 1-5');
    expect(weekdays.value).toBe(1);
    expect(weekdays.evidence).toBe('scans: shop at most 72 h apart');
    const monthly = await cadence('cron-monthly', '0 3 1 * *');
    expect(monthly.value).toBeGreaterThan(0);
    expect(monthly.value).toBeLessThan(0.25);
  });

  it('--fail-under: exit 1 below it, 0 at or above; bad flags exit 2 with a precise message', async () => {
    const config = fixture('gate', SPEC('', ''), CONFIG());
    const r = await report('-c', config, '--no-record', '--no-traffic');
    const below = await run(
      'posture',
      '-c',
      config,
      '--no-record',
      '--no-traffic',
      '--fail-under',
      String(r.score + 1),
    );
    expect(below.code).toBe(1);
    expect(below.err).toBe(`rampart posture: score ${r.score} is below --fail-under ${r.score + 1}`);
    const at = await run(
      'posture',
      '-c',
      config,
      '--no-record',
      '--no-traffic',
      '--fail-under',
      String(r.score),
    );
    expect(at.code).toBe(0);
    for (const [args, message] of [
      [['--fail-under', '101'], "--fail-under expects a whole number 0-100, got '101'"],
      [['--fail-under', 'high'], "--fail-under expects a whole number 0-100, got 'high'"],
      [['--format', 'pdf'], "--format must be one of text, json, markdown, html, got 'pdf'"],
      [['--frob'], "unknown option '--frob'"],
      [['-c', join(tmp, 'nope.yaml')], `no configuration at ${join(tmp, 'nope.yaml')} (from -c)`],
      [
        ['-c', config, '--data', tmp],
        `--data is for the built-in demo; ${config} names its own paths under posture:`,
      ],
    ] as const) {
      const bad = await run('posture', ...args);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(
        new RegExp(
          `^rampart posture: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n\nUsage: rampart posture`,
        ),
      );
    }
    // A history that is not one is an error naming the file, never overwritten.
    const history = join(tmp, 'gate', 'data', 'posture-history.json');
    mkdirSync(join(tmp, 'gate', 'data'), { recursive: true });
    writeFileSync(history, '{"runs": "nope"}');
    const h = await run('posture', '-c', config, '--no-traffic');
    expect(h.code).toBe(3);
    expect(h.err).toBe(`rampart posture: ${history}: not a posture history (expected { runs: [...] })`);
    expect(readFileSync(history, 'utf8')).toBe('{"runs": "nope"}');
    const broken = fixture('broken', SPEC('', ''), CONFIG().replace('upstream:', 'upstreem:'));
    const b = await run('posture', '-c', broken);
    expect(b.code).toBe(3);
    expect(b.err).toMatch(/rampart posture: the configuration has \d+ error\(s\):\n.*rampart\.yaml:\d+:\d+/);
  });

  it('markdown: the tables, the next actions and the evidence', async () => {
    const config = fixture('md', SPEC('', ''), CONFIG());
    const file = join(tmp, 'md', 'posture.md');
    const r = await run(
      'posture',
      '-c',
      config,
      '--no-record',
      '--no-traffic',
      '--format',
      'markdown',
      '--out',
      file,
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const md = readFileSync(file, 'utf8');
    expect(md).toMatch(/^# Rampart posture: \d+\/100/);
    expect(md).toContain('| Item | Score | Prevented | Detected | Monitored |');
    expect(md).toMatch(/## Next actions\n\n1\. \*\*\+\d+\.\d\*\* /);
    expect(md).toContain('### API4:2023 — Unrestricted Resource Consumption');
  });
});

describe('the HTML report in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('self-contained, no console error, no request, the score and a hostile value shown as text', async () => {
    const XSS = '<img src=x onerror="document.title=\'pwned\'">';
    const config = fixture(
      'html',
      SPEC('', ''),
      CONFIG(`posture:
  evidence:
    audits: [audit.json]`),
    );
    const dir = join(tmp, 'html');
    // A stored audit report whose target is hostile (the report format carries free text).
    const audit = await run(
      'audit',
      join(dir, 'shop.yaml'),
      '--format',
      'json',
      '--output',
      join(dir, 'audit.json'),
    );
    expect(audit.code).toBe(0);
    const stored = parseJsonReport(readFileSync(join(dir, 'audit.json'), 'utf8'));
    writeFileSync(join(dir, 'audit.json'), render('json', stored.findings, { ...stored.meta, target: XSS }));
    const json = await report('-c', config, '--no-record', '--no-traffic');
    const file = join(dir, 'posture.html');
    expect(
      (await run('posture', '-c', config, '--no-record', '--no-traffic', '--format', 'html', '--out', file))
        .code,
    ).toBe(0);

    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });
    expect(problems).toEqual([]);
    expect(requests.filter((u) => u !== url)).toEqual([]);
    expect(await page.title()).toBe(`Rampart posture ${json.score}/100`);
    expect(await page.locator('#score').textContent()).toBe(String(json.score));
    expect(await page.locator('#checklist + table tbody tr').count()).toBe(10);
    expect(await page.locator('#owasp + table tbody tr').count()).toBe(10);
    expect(await page.locator('#actions li').count()).toBe(json.actions.length);
    // The hostile target is text inside the API8 evidence, not an element.
    expect(await page.locator('main img').count()).toBe(0);
    const api1 = page.locator('details[data-item="API1:2023"]');
    expect(await api1.locator('li').first().isVisible()).toBe(false);
    await api1.locator('summary').click();
    expect(await api1.locator('li').first().isVisible()).toBe(true);
    expect(await page.locator('main').textContent()).toContain(XSS);
    await page.close();
  });
});
