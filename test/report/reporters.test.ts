/* eslint-disable no-control-regex -- the tests look for ANSI and control bytes on purpose */
/**
 * The shared reporters: SARIF against the official 2.1.0 JSON schema (ajv), JSON stable
 * and readable back, text with colour only on request and terminal controls defused,
 * Markdown escaped. JUnit and HTML are checked in a real browser: report-browser.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  REPORT_FORMATS,
  parseJsonReport,
  render,
  reportOptions,
  ReportOptionError,
} from '../../src/report/index.ts';
import { shouldColor } from '../../src/report/text.ts';
import { escapeMarkdown } from '../../src/report/markdown.ts';
import { XSS, sampleFindings, sampleMeta } from './sample.ts';

/**
 * test/fixtures/sarif/sarif-2.1.0-rtm.5.json: the SARIF 2.1.0 JSON schema (OASIS SARIF TC,
 * as published on schemastore.org), taken unchanged from the npm package
 * @microsoft/jest-sarif 1.0.0-beta.0 (lib/schemas/, MIT licence). It is draft-04; ajv 8
 * reads it once `id` is `$id` and the draft-04 meta-schema reference is dropped — the
 * constraints themselves are untouched. Its `language` pattern has a stray `]` that only
 * non-unicode regular expressions accept, hence `unicodeRegExp: false`.
 */
function sarifValidator() {
  const schema = JSON.parse(
    readFileSync(fileURLToPath(new URL('../fixtures/sarif/sarif-2.1.0-rtm.5.json', import.meta.url)), 'utf8'),
  ) as Record<string, unknown>;
  schema.$id = schema.id;
  delete schema.id;
  delete schema.$schema;
  const ajv = new Ajv.default({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats.default(ajv);
  return ajv.compile(schema);
}

describe('SARIF 2.1.0', () => {
  const validate = sarifValidator();

  it('validates against the official schema, with physical, logical and web evidence', () => {
    const log = JSON.parse(render('sarif', sampleFindings, sampleMeta)) as {
      version: string;
      runs: Array<{
        tool: { driver: { rules: Array<{ id: string; properties: Record<string, unknown> }> } };
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking the SARIF tree
        results: Array<Record<string, any>>;
      }>;
    };
    const ok = validate(log);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(log.version).toBe('2.1.0');
    const run = log.runs[0]!;
    // Rules: the declared check plus one per other check that found something.
    expect(run.tool.driver.rules.map((r) => r.id).sort()).toEqual([
      'audit/http-server',
      'audit/privileged-property-writable',
      'bola-identity-swap',
      'code/hardcoded-secret',
    ]);
    const bola = run.results.find((r) => r.ruleId === 'bola-identity-swap')!;
    expect(bola.level).toBe('error');
    expect(bola.fingerprints).toEqual({ 'rampart/v1': '0a1b2c3d4e5f6071' });
    expect(bola.locations[0].logicalLocations[0].fullyQualifiedName).toBe('GET /v2/records/{recordId}');
    expect(bola.webRequest.method).toBe('GET');
    expect(bola.webResponse.statusCode).toBe(200);
    expect(bola.properties.owasp).toMatch(/^API1:2023 /);
    expect(run.tool.driver.rules[bola.ruleIndex]!.id).toBe('bola-identity-swap');
    const audit = run.results.find((r) => r.ruleId === 'audit/privileged-property-writable')!;
    expect(audit.level).toBe('warning');
    // Relative to the working directory, percent-encoded.
    expect(audit.locations[0].physicalLocation.artifactLocation.uri).toBe('specs/my%20api.yaml');
    expect(audit.locations[0].physicalLocation.region).toEqual({ startLine: 120, startColumn: 9 });
    expect(audit.properties.pointer).toBe('/paths/~1users~1me/patch');
    const code = run.results.find((r) => r.ruleId === 'code/hardcoded-secret')!;
    expect(code.locations[0].physicalLocation.region.snippet.text).toContain('(masked)');
    expect(run.results.find((r) => r.ruleId === 'audit/http-server')!.level).toBe('note');
    const rule = run.tool.driver.rules.find((r) => r.id === 'bola-identity-swap')!;
    expect(rule.properties.tags).toEqual(['security', 'owasp-api-top10-2023/API1', 'external/cwe/cwe-639']);
    expect(rule.properties['security-severity']).toBe('8.0');
  });

  it('an empty run is valid too', () => {
    const log = JSON.parse(render('sarif', [], { ...sampleMeta, checks: [], notes: [] }));
    expect(validate(log)).toBe(true);
    expect(log.runs[0].results).toEqual([]);
  });
});

describe('JSON', () => {
  it('is stable (sorted, same bytes for shuffled input) and reads back', () => {
    const a = render('json', sampleFindings, sampleMeta);
    const b = render('json', [...sampleFindings].reverse(), sampleMeta);
    expect(a).toBe(b);
    const report = parseJsonReport(a);
    expect(report.findings.map((f) => f.severity)).toEqual(['critical', 'high', 'medium', 'info']);
    expect(report.summary.bySeverity).toEqual({ info: 1, low: 0, medium: 1, high: 1, critical: 1 });
    expect(report.summary.byCategory).toEqual({ 'API1:2023': 1, 'API3:2023': 1, 'API8:2023': 1, other: 1 });
    expect(Object.keys(report.findings[1]!)).toEqual([
      'id',
      'source',
      'check',
      'owasp',
      'cwe',
      'severity',
      'confidence',
      'operation',
      'title',
      'description',
      'evidence',
      'remediation',
    ]);
  });

  it('refuses what is not a version-1 Rampart report', () => {
    expect(() => parseJsonReport('{"format":"other"}', 'x.json')).toThrow(
      /x.json: not a Rampart JSON report/,
    );
    expect(() => parseJsonReport('{"format":"rampart-findings","version":2,"findings":[]}')).toThrow(
      /version 2/,
    );
    expect(() => parseJsonReport('{', 'y.json')).toThrow(/y.json: not JSON/);
  });
});

describe('text', () => {
  it('has no ANSI codes unless colour is asked for, and never passes terminal controls through', () => {
    const plain = render('text', sampleFindings, sampleMeta);
    expect(plain).not.toMatch(/\x1b/);
    expect(plain).toContain('HIGH    bola-identity-swap  GET /v2/records/{recordId}');
    expect(plain).toContain('Score 62/100  (API1 40 · API3 75)');
    expect(plain).toContain('4 findings: 1 critical, 1 high, 1 medium, 1 info');
    expect(plain).toContain('note: POST /v2/labels could not be tested');
    const coloured = render('text', sampleFindings, sampleMeta, { color: true });
    expect(coloured).toMatch(/\x1b\[1;31mHIGH/);
    // The response body's ESC and BEL bytes are not in the output, coloured or not.
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).not.toMatch(/[\x07\x1b]/);
  });

  it('shouldColor: a TTY without NO_COLOR or TERM=dumb', () => {
    expect(shouldColor({ isTTY: true }, {})).toBe(true);
    expect(shouldColor({ isTTY: false }, {})).toBe(false);
    expect(shouldColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
});

describe('Markdown', () => {
  it('escapes HTML and Markdown syntax from findings', () => {
    const md = render('markdown', sampleFindings, sampleMeta);
    // Outside fenced code blocks (whose content Markdown renders literally) no raw HTML survives.
    const prose = md.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '');
    expect(prose).not.toBe(md);
    expect(prose).not.toContain('<img');
    expect(prose).not.toContain('<script');
    expect(md).toContain('&lt;img src=x onerror="window.\\_\\_pwned=1"&gt;');
    expect(md).toContain('accepts \\`role\\` \\| pipes \\| and \\*stars\\*');
    expect(md).toContain('| API1:2023 Broken Object Level Authorization |  | 1 |');
    expect(escapeMarkdown('a|b')).toBe('a\\|b');
  });
});

describe('every format', () => {
  it('renders the sample and an empty run without throwing', () => {
    for (const f of REPORT_FORMATS) {
      expect(render(f, sampleFindings, sampleMeta).length).toBeGreaterThan(50);
      expect(render(f, [], { ...sampleMeta, notes: [] }).length).toBeGreaterThan(20);
    }
    expect(XSS).toContain('<script>');
  });

  it('reportOptions: defaults and precise errors', () => {
    expect(reportOptions({})).toEqual({ format: 'text', failOn: 'high' });
    expect(reportOptions({ format: 'sarif', 'fail-on': 'MEDIUM', output: 'r.sarif' })).toEqual({
      format: 'sarif',
      failOn: 'medium',
      output: 'r.sarif',
    });
    expect(() => reportOptions({ format: 'pdf' })).toThrow(ReportOptionError);
    expect(() => reportOptions({ format: 'pdf' })).toThrow(
      /--format expects one of text, json, sarif, junit, html, markdown, got 'pdf'/,
    );
    expect(() => reportOptions({ 'fail-on': 'severe' })).toThrow(/--fail-on expects/);
  });
});
