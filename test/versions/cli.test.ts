import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CommandIO } from '../../src/cli/command.ts';
import { LAB_SPECS } from '../../src/lab/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'rampart-versions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CommandIO = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const code = await main(argv, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

function write(name: string, doc: unknown): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(doc));
  return f;
}

const v1 = write('v1.json', {
  openapi: '3.1.0',
  info: { title: 'Shop', version: '1.4.0' },
  paths: {
    '/orders/{id}': {
      get: {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: {
          '200': {
            description: 'ok',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['id', 'total'],
                  properties: { id: { type: 'integer' }, total: { type: 'number' } },
                },
              },
            },
          },
        },
      },
    },
  },
});
const v2 = write('v2.json', {
  openapi: '3.1.0',
  info: { title: 'Shop <script>alert(1)</script>', version: '1.5.0' },
  paths: {
    '/orders/{orderId}': {
      get: {
        parameters: [
          { name: 'orderId', in: 'path', required: true, schema: { type: 'integer' } },
          { name: 'currency', in: 'query', required: true, schema: { type: 'string' } },
        ],
        responses: {
          '200': {
            description: 'ok',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } },
              },
            },
          },
        },
      },
    },
  },
});

describe('rampart diff', () => {
  it('classifies the changes, suggests the bump and fails CI on breaking changes only when asked', async () => {
    const r = await run('diff', v1, v2);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^1\.4\.0 → 1\.5\.0: 2 breaking, 0 warning, 1 info — suggested bump: major/);
    expect(r.out).toMatch(
      /warning: info\.version goes 1\.4\.0 → 1\.5\.0 \(minor\) but the changes call for a major bump/,
    );
    expect(r.out).toContain(
      "GET /orders/{orderId}: new required query parameter 'currency' [new-required-request-parameter]",
    );
    expect(r.out).toContain("property 'total' was removed [response-property-removed]");
    expect((await run('diff', v1, v2, '--fail-on', 'breaking')).code).toBe(1);
    expect((await run('diff', v1, v1, '--fail-on', 'warning')).code).toBe(0);
    const j = JSON.parse((await run('diff', v1, v2, '--format', 'json')).out) as {
      bump: string;
      counts: Record<string, number>;
    };
    expect(j).toMatchObject({ bump: 'major', counts: { breaking: 2, warning: 0, info: 1 } });
    const md = (await run('diff', v1, v2, '--format', 'markdown')).out;
    expect(md).toMatch(/^## 1\.4\.0 → 1\.5\.0\n/);
    expect(md).toContain('### Breaking changes');
  });

  it('exits 1 with the position on an invalid document and 2 on bad arguments', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'openapi: 3.1.0\ninfo: { title: x, version: 1 }\npaths:\n  /a: { get: { responses: { "200": 7 } } }\n',
    );
    const r = await run('diff', v1, bad);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.yaml:\d+:\d+/);
    const swagger = join(dir, 'swagger.yaml');
    writeFileSync(swagger, 'swagger: "2.0"\ninfo: { title: x, version: "1" }\npaths: {}\n');
    expect((await run('diff', swagger, v1)).err).toMatch(/Swagger 2\.0 is not supported; convert it/);
    expect((await run('diff', v1)).code).toBe(2);
    expect((await run('diff', v1, v2, '--format', 'xml')).code).toBe(2);
    expect((await run('diff', v1, v2, '--fail-on', 'info')).code).toBe(2);
  });
});

describe('rampart changelog and inventory', () => {
  const config = join(dir, 'rampart.yaml');
  writeFileSync(
    config,
    `store: sqlite://${join(dir, 'nothing-here.db')}
apis:
  - name: shop
    upstream: http://127.0.0.1:9000
    versions:
      - { base: /v2, spec: ${v2} }
      - { base: /v1, spec: ${v1}, deprecated: '2026-01-01', sunset: '2099-06-30', successor: /v2, deprecationLink: 'https://shop.example/changelog' }
  - name: lab
    upstream: http://127.0.0.1:9001
    versions:
      - { base: /lab/v2, spec: ${LAB_SPECS.v2} }
`,
  );

  it('renders the history newest first with lifecycle states and the diff between versions', async () => {
    const r = await run('changelog', '-c', config);
    expect(r.code).toBe(0);
    expect(r.out).toContain('| 1.5.0 | `/v2` | active | — | — | — |');
    expect(r.out).toContain('| 1.4.0 | `/v1` | deprecated | 2026-01-01 | 2099-06-30 | `/v2` |');
    expect(r.out).toMatch(/### \/v2 1\.5\.0 \(from \/v1\) — active\n\n2 breaking/);
    expect(r.out.indexOf('/v2 1.5.0')).toBeLessThan(r.out.indexOf('/v1 1.4.0'));
  });

  it('writes a self-contained HTML page that renders without errors and keeps document text inert', async () => {
    const out = join(dir, 'changelog.html');
    expect((await run('changelog', '-c', config, '--format', 'html', '--output', out)).code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script|src=|href=/i);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      let dialog = false;
      page.on('dialog', (d) => {
        dialog = true;
        void d.dismiss();
      });
      await page.goto('file://' + out);
      expect(await page.locator('h1').textContent()).toBe('API changelog');
      expect(await page.locator('td.state.deprecated').count()).toBe(1);
      expect(await page.getByText('<script>alert(1)</script>').count()).toBe(0);
      expect(errors).toEqual([]);
      expect(dialog).toBe(false);
    } finally {
      await browser.close();
    }
  });

  it('lists every operation with its protection, flags unprotected ones, and creates no store', async () => {
    const r = await run('inventory', '-c', config);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /\/v1 1\.4\.0 \[deprecated\] deprecated 2026-01-01, sunset 2099-06-30, successor \/v2/,
    );
    expect(r.out).toMatch(/! GET {4}\/v1\/orders\/\{id\} {2}NO AUTH/);
    expect(r.out).toMatch(
      /GET {4}\/lab\/v2\/records\/\{recordId\} {2}auth bearerAuth; roles patient,doctor,admin; owner patientId of GET \/records\/\{recordId\} == sub/,
    );
    expect(r.out).toContain('Traffic: not read (no store)');
    const j = JSON.parse((await run('inventory', '-c', config, '--format', 'json')).out) as {
      apis: Array<{ name: string; versions: Array<{ operations: Array<{ unprotected: boolean }> }> }>;
      traffic: boolean;
    };
    expect(j.traffic).toBe(false);
    expect(j.apis.map((a) => a.name)).toEqual(['shop', 'lab']);
    expect((await run('inventory', '-c', join(dir, 'missing.yaml'))).code).toBe(2);
    expect(readFileSync(config, 'utf8')).toContain('nothing-here.db');
    expect(() => readFileSync(join(dir, 'nothing-here.db'))).toThrow();
  });
});
