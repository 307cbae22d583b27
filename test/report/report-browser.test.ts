/**
 * The HTML report opened in headless Chromium (file://, as people open it): no console
 * error (so no CSP violation either), no network request, the XSS payload inside a
 * finding shown as text and never run, evidence collapsible. The JUnit XML is parsed by
 * the browser's own XML parser (well-formed) and its structure checked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from '../../src/report/index.ts';
import { XSS, sampleFindings, sampleMeta } from './sample.ts';

/** The few browser types the page functions use (the project compiles without the DOM lib). */
type Gcs = { getComputedStyle(el: unknown): { borderLeftWidth: string } };
interface XmlEl {
  nodeName: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  getElementsByTagName(name: string): ArrayLike<XmlEl> & Iterable<XmlEl>;
}
type XmlParser = { parseFromString(text: string, type: string): { documentElement: XmlEl } & XmlEl };

describe('reports in a real browser', () => {
  let browser: Browser;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-report-'));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('HTML: self-contained, no console errors, XSS inert, evidence collapsible', async () => {
    const file = join(tmp, 'report.html');
    writeFileSync(file, render('html', sampleFindings, sampleMeta));
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
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    // The payload is text: no img or script element came from it.
    expect(await page.locator('main img, main script').count()).toBe(0);
    const heading = page.locator('article.finding.high h3');
    expect(await heading.innerText()).toContain(XSS);
    // The style applied (hash matched the CSP): the high finding has a coloured left border.
    const border = await page
      .locator('article.finding.high')
      .evaluate(
        (el) => (el.ownerDocument.defaultView as unknown as Gcs).getComputedStyle(el).borderLeftWidth,
      );
    expect(border).toBe('6px');
    // Summary by severity and OWASP category.
    expect(await page.locator('.totals .total.sev-high b').innerText()).toBe('1');
    expect(await page.locator('table tbody tr').count()).toBe(4);
    expect(await page.locator('table tbody tr').first().innerText()).toContain(
      'API1:2023 Broken Object Level Authorization',
    );
    // Evidence is collapsed until opened; the response body is inside, escaped.
    const details = page.locator('article.finding.high details');
    expect(await details.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(false);
    await details.locator('summary').click();
    expect(await details.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(true);
    expect(await details.locator('pre').first().innerText()).toContain('authorization: Bearer eyJ…(masked)');
    expect(await details.locator('pre').first().innerText()).toContain('<script>window.__pwned=2</script>');
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('JUnit XML: well-formed for the XML parser, one test case per check × operation', async () => {
    const xml = render('junit', sampleFindings, sampleMeta);
    const page = await browser.newPage();
    const result = await page.evaluate((text) => {
      const { DOMParser } = globalThis as unknown as { DOMParser: new () => XmlParser };
      const doc = new DOMParser().parseFromString(text, 'application/xml');
      const err = doc.getElementsByTagName('parsererror')[0];
      if (err) return { error: err.textContent };
      const root = doc.documentElement;
      const suites = [...doc.getElementsByTagName('testsuite')].map((s) => ({
        name: s.getAttribute('name'),
        tests: Number(s.getAttribute('tests')),
        failures: Number(s.getAttribute('failures')),
        skipped: Number(s.getAttribute('skipped')),
        cases: [...s.getElementsByTagName('testcase')].map((c) => ({
          name: c.getAttribute('name'),
          failure: c.getElementsByTagName('failure')[0]?.getAttribute('type') ?? null,
          failureText: c.getElementsByTagName('failure')[0]?.textContent ?? null,
          skipped: c.getElementsByTagName('skipped').length,
        })),
      }));
      return {
        root: root.nodeName,
        tests: Number(root.getAttribute('tests')),
        failures: Number(root.getAttribute('failures')),
        suites,
      };
    }, xml);
    await page.close();
    if ('error' in result) throw new Error(`JUnit XML not well-formed: ${result.error}`);
    expect(result.root).toBe('testsuites');
    const bola = result.suites.find((s) => s.name?.startsWith('bola-identity-swap'))!;
    // appliesTo gives a passing case for the operation without a finding.
    expect(bola.cases.map((c) => [c.name, c.failure])).toEqual([
      ['GET /v2/records/{recordId}', 'high'],
      ['PATCH /v2/records/{recordId}', null],
    ]);
    expect(bola.tests).toBe(2);
    expect(bola.failures).toBe(1);
    expect(bola.cases[0]!.failureText).toContain('Fix: Check ownership before serving a record.');
    const notes = result.suites.find((s) => s.name === 'not tested')!;
    expect(notes.skipped).toBe(1);
    const totalCases = result.suites.reduce((n, s) => n + s.cases.length, 0);
    expect(result.tests).toBe(totalCases);
    expect(result.failures).toBe(4);
  });
});
