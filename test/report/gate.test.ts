/** --fail-on and baselines: parsing with positions, expiry against an injected instant, exit codes. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigErrors } from '../../src/core/config-loader.ts';
import {
  applyBaseline,
  baselineFor,
  failsOn,
  findingId,
  parseBaseline,
  parseFailOn,
  reportOptions,
  runReport,
} from '../../src/report/index.ts';
import { sampleFindings, sampleMeta } from './sample.ts';

const tmp = mkdtempSync(join(tmpdir(), 'rampart-gate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('--fail-on', () => {
  it.each([
    ['critical', true],
    ['high', true],
    ['info', true],
    ['none', false],
  ] as const)('%s', (level, fails) => {
    expect(failsOn(sampleFindings, parseFailOn(level)!)).toBe(fails);
  });

  it('a threshold above every finding passes; unknown values are refused', () => {
    expect(
      failsOn(
        sampleFindings.filter((f) => f.severity !== 'critical'),
        'critical',
      ),
    ).toBe(false);
    expect(parseFailOn('severe')).toBeUndefined();
    expect(parseFailOn(' HIGH ')).toBe('high');
  });
});

describe('baseline', () => {
  const text = `version: 1
accepted:
  - id: '0a1b2c3d4e5f6071'
    reason: Accepted until the owner rule ships
    expires: 2026-12-31
  - id: '5555666677778888'
    reason: Test key, revoked
    expires: '2026-11-30'
  - id: 'ffffffffffffffff'
    reason: Fixed long ago
    expires: 2027-01-01T00:00:00Z
`;

  it('suppresses accepted findings until the end of the expiry day (UTC), then counts them again', () => {
    const b = parseBaseline(text, 'baseline.yaml');
    const r = applyBaseline(sampleFindings, b, new Date('2026-12-01T12:00:00Z'));
    expect(r.suppressed.map((s) => s.finding.id)).toEqual(['0a1b2c3d4e5f6071']);
    // Expired yesterday: back in the list, and the report says so.
    expect(r.expired.map((e) => e.id)).toEqual(['5555666677778888']);
    expect(r.kept.map((f) => f.id)).toContain('5555666677778888');
    expect(r.unused.map((e) => e.id)).toEqual(['ffffffffffffffff']);
    expect(r.notes.join('\n')).toMatch(/5555666677778888 expired on 2026-11-30/);
    expect(r.notes.join('\n')).toMatch(/ffffffffffffffff matched no finding/);
    // The last second of the expiry day still suppresses; the next does not.
    expect(applyBaseline(sampleFindings, b, new Date('2026-12-31T23:59:59Z')).suppressed).toHaveLength(1);
    expect(applyBaseline(sampleFindings, b, new Date('2027-01-01T00:00:00Z')).suppressed).toHaveLength(0);
  });

  it('every problem is reported with its line', () => {
    const bad = `version: 1
accepted:
  - id: abc
    expires: 2026-02-30
  - id: abc
    reason: ''
    expires: soon
    until: never
  - id: 1234
    reason: r
    expires: 2027-01-01
`;
    let err: unknown;
    try {
      parseBaseline(bad, 'b.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigErrors);
    const messages = (err as ConfigErrors).errors.map((e) => `${e.line}: ${e.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        "3: missing required key 'reason'",
        "4: expected a date (YYYY-MM-DD) or ISO date-time, got '2026-02-30'",
        "5: finding 'abc' is listed twice",
        '6: expected a non-empty string',
        "7: expected a date (YYYY-MM-DD) or ISO date-time, got 'soon'",
        "8: unknown key 'until'",
        "9: expected a string, got a number: quote it ('…')",
      ]),
    );
    expect(() => parseBaseline('[]', 'c.yaml')).toThrow(/expected a mapping/);
  });

  it('baselineFor writes a file parseBaseline reads back', () => {
    const text2 = baselineFor(sampleFindings, 'accepted in review #12', '2027-03-31');
    const b = parseBaseline(text2, 'gen.yaml');
    expect(b.entries.map((e) => e.id)).toEqual(sampleFindings.map((f) => f.id));
    expect(b.entries[0]!.operation).toBe('GET /v2/records/{recordId}');
    expect(() => baselineFor([], 'x', 'tomorrow')).toThrow(/expected a date/);
    expect(parseBaseline(baselineFor([], 'x', '2027-01-01'), 'empty.yaml').entries).toEqual([]);
  });

  it('runReport: baseline applied, report written, exit code from what remains', () => {
    const file = join(tmp, 'baseline.yaml');
    writeFileSync(file, text);
    const output = join(tmp, 'out.json');
    const lines: string[] = [];
    const run = runReport(
      sampleFindings,
      sampleMeta,
      reportOptions({ format: 'json', output, baseline: file, 'fail-on': 'critical' }),
      { out: (t) => lines.push(t), now: new Date('2026-12-01T00:00:00Z') },
    );
    expect(lines).toEqual([]);
    const written = JSON.parse(readFileSync(output, 'utf8'));
    expect(written.findings.map((f: { id: string }) => f.id)).not.toContain('0a1b2c3d4e5f6071');
    expect(written.meta.suppressed).toEqual([
      {
        id: '0a1b2c3d4e5f6071',
        check: 'bola-identity-swap',
        reason: 'Accepted until the owner rule ships',
        expires: '2026-12-31',
      },
    ]);
    // The critical code finding's acceptance expired: it fails the run.
    expect(run.exitCode).toBe(1);
    const clean = runReport(sampleFindings.slice(0, 1), sampleMeta, reportOptions({ baseline: file }), {
      out: (t) => lines.push(t),
      now: new Date('2026-12-01T00:00:00Z'),
    });
    expect(clean.exitCode).toBe(0);
    expect(lines[0]).toContain('1 finding suppressed by the baseline');
  });
});

describe('findingId', () => {
  it('is stable, 16 hex digits, and separates its parts', () => {
    expect(findingId('audit', 'a', 'GET /x')).toBe(findingId('audit', 'a', 'GET /x'));
    expect(findingId('audit', 'a', 'GET /x')).toMatch(/^[0-9a-f]{16}$/);
    expect(findingId('ab', 'c')).not.toBe(findingId('a', 'bc'));
  });
});
