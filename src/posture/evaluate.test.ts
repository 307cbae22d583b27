import { describe, expect, it } from 'vitest';
import type { Finding } from '../core/findings.ts';
import {
  CATEGORIES,
  DIMENSION_SHARE,
  evaluatePosture,
  findingsFactor,
  freshness,
  isAdminOp,
  mfaDeclared,
  ruleCategories,
} from './evaluate.ts';
import type { ItemResult, OperationInput, PostureInputs, PostureReport, ResultInput } from './types.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const DAY = 86_400_000;
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();

const BASE_CHAIN = [
  'security-headers',
  'request-id',
  'transport',
  'request-limits',
  'versions',
  'authenticate',
  'roles',
];

function op(method: string, template: string, extra: Partial<OperationInput> = {}): OperationInput {
  return {
    api: 'shop',
    base: '/v1',
    method,
    template,
    operation: `${method} /v1${template}`,
    policies: BASE_CHAIN,
    rampart: {},
    security: [{ bearer: [] }],
    ownSecurityEmpty: false,
    pathParams: [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
    ...extra,
  };
}

const OPS: OperationInput[] = [
  op('GET', '/items'),
  op('POST', '/items'),
  op('GET', '/items/{itemId}'),
  op('DELETE', '/admin/items/{itemId}', { rampart: { roles: ['admin'] } }),
  op('POST', '/login', { ownSecurityEmpty: true, security: [] }),
];

function inputs(o: Partial<PostureInputs> = {}): PostureInputs {
  return {
    source: 'test',
    operations: OPS,
    enabledPolicies: [...new Set(OPS.flatMap((x) => x.policies))],
    mfa: undefined,
    piiMasks: [],
    flows: 0,
    adminRoles: ['admin'],
    versions: [{ api: 'shop', base: '/v1' }],
    tls: { enabled: true, http: { mode: 'off' }, trustedProxies: 0, adminHost: '127.0.0.1' },
    egressThirdParties: 0,
    schedules: [],
    results: [],
    ci: [],
    monitor: {
      enabled: true,
      auditLog: true,
      notifiers: 0,
      rules: [
        { id: 'failed-logins', enabled: true, match: [{ type: 'auth', outcome: 'failure' }], groupBy: [] },
        {
          id: 'rate-limit-flood',
          enabled: true,
          match: [{ type: 'request', status: 429 }],
          groupBy: ['consumer'],
        },
      ],
    },
    simulations: [],
    scenarios: { 'brute-force': ['failed-logins'] },
    paths: {
      scans: 'data/scans',
      audits: [],
      code: [],
      simulations: 'data/simulations',
      config: 'rampart.yaml',
    },
    history: [],
    notes: [],
    ...o,
  };
}

const itemOf = (r: PostureReport, id: string): ItemResult =>
  [...r.checklist, ...r.owasp].find((i) => i.id === id) ?? expect.fail(`no item ${id}`);
const critOf = (r: PostureReport, item: string, id: string) =>
  itemOf(r, item).criteria.find((c) => c.id === id) ?? expect.fail(`no criterion ${id} in ${item}`);

const finding = (f: Partial<Finding>): Finding =>
  ({
    id: 'f1',
    source: 'scan',
    check: 'bola-identity-swap',
    severity: 'high',
    confidence: 'confirmed',
    title: 'x',
    description: 'x',
    evidence: {},
    remediation: { summary: 'add an owner rule', xRampart: "{ owner: { lookup: 'GET /items/{itemId}' } }" },
    ...f,
  }) as Finding;

const scan = (days: number, findings: Finding[] = [], identities = 2): ResultInput => ({
  kind: 'scan',
  file: 'data/scans/shop/x.json',
  name: 'shop',
  finishedAt: ago(days),
  findings,
  checks: CATEGORIES.map((c, i) => ({ id: `check-${i}`, owasp: c })),
  identities,
  partial: false,
});

describe('the formula', () => {
  it('an item is the share-weighted mean of its dimensions; overall is half checklist, half OWASP', () => {
    const r = evaluatePosture(inputs(), NOW);
    for (const i of [...r.checklist, ...r.owasp]) {
      let num = 0;
      let den = 0;
      for (const d of ['prevented', 'detected', 'monitored'] as const) {
        const cs = i.criteria.filter((c) => c.dimension === d);
        if (!cs.length) {
          expect(i.dimensions[d]).toBeNull();
          continue;
        }
        const w = cs.reduce((a, c) => a + c.weight, 0);
        const v = cs.reduce((a, c) => a + c.weight * c.value, 0) / w;
        expect(i.dimensions[d]).toBe(Math.round(v * 100));
        num += DIMENSION_SHARE[d] * v;
        den += DIMENSION_SHARE[d];
      }
      expect(i.score).toBe(Math.round((100 * num) / den));
    }
    const mean = (xs: ItemResult[]) => xs.reduce((a, i) => a + i.score, 0) / xs.length;
    expect(r.score).toBe(Math.round(0.5 * mean(r.checklist) + 0.5 * mean(r.owasp)));
    expect(r.checklist.map((i) => i.id)).toEqual([
      'mfa',
      'versioning',
      'scans',
      'monitoring',
      'secure-coding',
      'data-exposure',
      'pentest',
      'tls',
      'rate-limiting',
      'rbac',
    ]);
    expect(r.owasp.map((i) => i.id)).toEqual(CATEGORIES);
  });

  it('freshness: full for a week, nothing after 90 days, linear between', () => {
    expect(freshness(0)).toBe(1);
    expect(freshness(7)).toBe(1);
    expect(freshness(48.5)).toBeCloseTo(0.5, 5);
    expect(freshness(90)).toBe(0);
    expect(freshness(400)).toBe(0);
  });

  it('open findings: high or critical 0.25, medium 0.6, low only 1', () => {
    expect(findingsFactor([finding({ severity: 'critical' })])).toBe(0.25);
    expect(findingsFactor([finding({ severity: 'medium' })])).toBe(0.6);
    expect(findingsFactor([finding({ severity: 'low' })])).toBe(1);
    expect(findingsFactor([])).toBe(1);
  });

  it('trend: the change since the previous run', () => {
    const r = evaluatePosture(inputs({ history: [{ at: ago(1), score: 10, items: {} }] }), NOW);
    expect(r.trend.delta).toBe(r.score - 10);
    expect(evaluatePosture(inputs(), NOW).trend.delta).toBeUndefined();
  });
});

describe('prevented: from the compiled chains', () => {
  it('MFA: admin operations count once mfa is in their chain and their roles need it', () => {
    const before = evaluatePosture(inputs(), NOW);
    expect(critOf(before, 'mfa', 'mfa-admin').value).toBe(0);
    expect(critOf(before, 'mfa', 'mfa-admin').action).toMatch(/policies\.mfa\.enabled: true/);
    const withMfa = OPS.map((o) => ({ ...o, policies: [...o.policies, 'mfa'] }));
    const after = evaluatePosture(
      inputs({
        operations: withMfa,
        enabledPolicies: [...BASE_CHAIN, 'mfa'],
        mfa: { requireFor: { roles: ['admin'], apis: [], all: false } },
      }),
      NOW,
    );
    expect(critOf(after, 'mfa', 'mfa-admin').value).toBe(1);
    // Role-based MFA does not cover the other sensitive operations: they need x-rampart.mfa.
    expect(critOf(after, 'mfa', 'mfa-sensitive').value).toBe(0.5); // the admin DELETE is one of two
    expect(critOf(after, 'mfa', 'mfa-sensitive').action).toContain(
      'x-rampart: { mfa: required } on POST /v1/items',
    );
    expect(itemOf(after, 'mfa').score).toBeGreaterThan(itemOf(before, 'mfa').score);
    expect(after.score).toBeGreaterThan(before.score);
    // requireFor.all covers every sensitive operation.
    const all = evaluatePosture(
      inputs({
        operations: withMfa,
        enabledPolicies: [...BASE_CHAIN, 'mfa'],
        mfa: { requireFor: { roles: [], apis: [], all: true } },
      }),
      NOW,
    );
    expect(critOf(all, 'mfa', 'mfa-sensitive').value).toBe(1);
  });

  it('an mfa entry in the chain alone proves nothing: the operation must ask for it', () => {
    expect(mfaDeclared({ mfa: 'required' })).toBe(true);
    expect(mfaDeclared({ mfa: true })).toBe(true);
    expect(mfaDeclared({ mfa: { stepUp: { maxAge: 300 } } })).toBe(true);
    expect(mfaDeclared({ mfa: { required: false } })).toBe(false);
    expect(mfaDeclared({ mfa: 'optional' })).toBe(false);
    expect(mfaDeclared({})).toBe(false);
    expect(isAdminOp(op('GET', '/admin/users'), ['admin'])).toBe(true);
    expect(isAdminOp(op('GET', '/x', { rampart: { roles: ['admin', 'user'] } }), ['admin'])).toBe(false);
  });

  it('rate limiting: the share of operations whose chain has rate-limit, and brute-force on sign-in', () => {
    const before = evaluatePosture(inputs(), NOW);
    expect(critOf(before, 'rate-limiting', 'rate-limit').value).toBe(0);
    expect(critOf(before, 'rate-limiting', 'rate-limit').action).toMatch(
      /policies\.rate-limit\.enabled: true/,
    );
    const half = OPS.map((o, i) => (i < 2 ? { ...o, policies: [...o.policies, 'rate-limit'] } : o));
    const mid = evaluatePosture(
      inputs({ operations: half, enabledPolicies: [...BASE_CHAIN, 'rate-limit'] }),
      NOW,
    );
    expect(critOf(mid, 'rate-limiting', 'rate-limit').value).toBeCloseTo(2 / 5, 5);
    expect(critOf(mid, 'rate-limiting', 'rate-limit').action).toContain('x-rampart: { rateLimit:');
    expect(critOf(mid, 'rate-limiting', 'brute-force').value).toBe(0);
    expect(critOf(mid, 'rate-limiting', 'brute-force').action).toContain('POST /v1/login');
    expect(itemOf(mid, 'API4:2023').score).toBeGreaterThan(itemOf(before, 'API4:2023').score);
  });

  it('RBAC: roles declared on authenticated operations, owner rules on object ids, anonymous writes', () => {
    const r = evaluatePosture(inputs(), NOW);
    // 4 authenticated operations, one with roles.
    expect(critOf(r, 'rbac', 'roles').value).toBeCloseTo(1 / 4, 5);
    expect(critOf(r, 'rbac', 'owner').value).toBe(0);
    expect(critOf(r, 'rbac', 'rbac-anonymous-writes').value).toBe(1); // the login is exempt
    const open = [...OPS, op('PUT', '/items/{itemId}', { ownSecurityEmpty: true })];
    const r2 = evaluatePosture(inputs({ operations: open }), NOW);
    expect(critOf(r2, 'rbac', 'rbac-anonymous-writes').value).toBeCloseTo(1 - 1 / 4, 5);
    expect(critOf(r2, 'rbac', 'rbac-anonymous-writes').evidence).toContain('PUT /v1/items/{itemId}');
  });

  it('TLS: a generated development certificate is not a valid one; an expired one is worth nothing', () => {
    const cert = {
      source: 'c.pem',
      subject: 'CN=api',
      issuer: 'CN=ca',
      notAfter: ago(-200),
      daysLeft: 200,
      generated: false,
    };
    const tls = (c: object | undefined) =>
      critOf(
        evaluatePosture(inputs({ tls: { ...inputs().tls, certificate: c as never } }), NOW),
        'tls',
        'tls-certificate',
      ).value;
    expect(tls(cert)).toBe(1);
    expect(tls({ ...cert, generated: true })).toBe(0.3);
    expect(tls({ ...cert, issuer: 'CN=api' })).toBe(0.5);
    expect(tls({ ...cert, daysLeft: -1 })).toBe(0);
    const off = evaluatePosture(inputs({ tls: { ...inputs().tls, enabled: false } }), NOW);
    expect(critOf(off, 'tls', 'tls-on').value).toBe(0);
    expect(critOf(off, 'API8:2023', 'tls').value).toBe(0);
  });

  it('versioning: superseded versions need a deprecation and sunset date within 12 months, and a notice', () => {
    const r = evaluatePosture(
      inputs({
        versions: [
          { api: 'shop', base: '/v2' },
          { api: 'shop', base: '/v1', deprecated: '2026-01-01', sunset: '2027-06-30' },
        ],
      }),
      NOW,
    );
    expect(critOf(r, 'versioning', 'versions-schedule').value).toBe(1);
    expect(critOf(r, 'versioning', 'versions-window').value).toBe(0);
    expect(critOf(r, 'versioning', 'versions-notice').action).toContain('deprecationLink');
    const undated = evaluatePosture(
      inputs({
        versions: [
          { api: 'shop', base: '/v2' },
          { api: 'shop', base: '/v1' },
        ],
      }),
      NOW,
    );
    expect(critOf(undated, 'versioning', 'versions-schedule').value).toBe(0);
    expect(critOf(undated, 'versioning', 'versions-schedule').action).toMatch(/deprecated: and sunset:/);
  });
});

describe('detected: stored results and their age', () => {
  it('no result: nothing detected, and the action names the scan to run', () => {
    const r = evaluatePosture(inputs(), NOW);
    const c = critOf(r, 'API1:2023', 'detected-API1:2023');
    expect(c.value).toBe(0);
    expect(c.action).toBe('run rampart scan --history data/scans (or a scans: job)');
  });

  it('a fresh clean scan counts fully; an old one less; an open high finding a quarter', () => {
    const fresh = evaluatePosture(inputs({ results: [scan(2)] }), NOW);
    expect(critOf(fresh, 'API1:2023', 'detected-API1:2023').value).toBe(1);
    expect(critOf(fresh, 'pentest', 'pentest-identities').value).toBe(1);
    expect(critOf(fresh, 'pentest', 'pentest-coverage').value).toBe(1);
    const old = evaluatePosture(inputs({ results: [scan(48.5)] }), NOW);
    expect(critOf(old, 'API1:2023', 'detected-API1:2023').value).toBeCloseTo(0.5, 5);
    const bad = evaluatePosture(
      inputs({ results: [scan(1, [finding({ owasp: 'API1:2023', operation: 'GET /v1/items/{itemId}' })])] }),
      NOW,
    );
    const c = critOf(bad, 'API1:2023', 'detected-API1:2023');
    expect(c.value).toBe(0.25);
    expect(c.action).toContain(
      "x-rampart { owner: { lookup: 'GET /items/{itemId}' } } on GET /v1/items/{itemId}",
    );
    // The finding is API1: other categories are untouched.
    expect(critOf(bad, 'API2:2023', 'detected-API2:2023').value).toBe(1);
  });

  it('scans weekly and on every push: the schedule and the CI triggers', () => {
    const none = evaluatePosture(inputs(), NOW);
    expect(itemOf(none, 'scans').score).toBe(0);
    const r = evaluatePosture(
      inputs({
        schedules: [{ name: 'shop', intervalSeconds: 14 * 86_400, target: 'http://x' }],
        ci: [{ file: '.github/workflows/scan.yml', tools: ['scan'], onPush: true, scheduled: false }],
        results: [scan(1)],
      }),
      NOW,
    );
    expect(critOf(r, 'scans', 'scans-schedule').value).toBe(0.5); // fortnightly is half of weekly
    expect(critOf(r, 'scans', 'scans-push').value).toBe(1);
    expect(critOf(r, 'scans', 'scans-latest').value).toBe(1);
  });

  it('secure coding: a code-scan report and its open findings', () => {
    const code: ResultInput = {
      ...scan(3, [finding({ source: 'code', severity: 'medium', check: 'code/sql-injection' })]),
      kind: 'code',
      name: 'src',
    };
    const r = evaluatePosture(inputs({ results: [code] }), NOW);
    expect(critOf(r, 'secure-coding', 'code-latest').value).toBe(1);
    expect(critOf(r, 'secure-coding', 'code-findings').value).toBe(0.6);
    expect(critOf(r, 'secure-coding', 'code-findings').action).toContain('code/sql-injection');
  });
});

describe('monitored: alert rules and recorded simulations', () => {
  it('rules watch categories by the events they match', () => {
    const cat = (match: Array<Record<string, unknown>>) =>
      ruleCategories({ id: 'x', enabled: true, match, groupBy: [] });
    expect(cat([{ type: 'auth' }])).toEqual(['API2:2023']);
    expect(cat([{ type: 'request', objectId: { present: true } }])).toEqual(['API1:2023']);
    expect(cat([{ type: 'denied', policy: 'roles' }])).toEqual(['API5:2023']);
    expect(cat([{ type: 'denied' }])).toEqual(CATEGORIES);
    expect(cat([{ type: 'shadow-endpoint' }])).toEqual(['API9:2023']);
    expect(cat([{ type: 'contract-violation', direction: 'egress' }])).toEqual(['API10:2023']);
    expect(cat([{ type: 'request', status: 429 }])).toEqual(['API4:2023']);
  });

  it('watched: half; fired by a recorded simulation within 90 days: full; older or unexpected: half', () => {
    const watched = evaluatePosture(inputs(), NOW);
    expect(critOf(watched, 'API2:2023', 'monitored-API2:2023').value).toBe(0.5);
    expect(critOf(watched, 'API2:2023', 'monitored-API2:2023').action).toBe(
      'rampart simulate brute-force --target URL --record data/simulations (fires failed-logins)',
    );
    expect(critOf(watched, 'API1:2023', 'monitored-API1:2023').value).toBe(0);
    expect(critOf(watched, 'API1:2023', 'monitored-API1:2023').action).toMatch(
      /^add to monitor\.rules: \{ id: object-enumeration/,
    );
    const sim = (at: string, expected = ['failed-logins']) => ({
      file: 's.json',
      scenario: 'brute-force',
      at,
      expected,
      fired: ['failed-logins'],
    });
    const tested = evaluatePosture(inputs({ simulations: [sim(ago(3))] }), NOW);
    expect(critOf(tested, 'API2:2023', 'monitored-API2:2023').value).toBe(1);
    expect(critOf(tested, 'monitoring', 'monitor-tested').value).toBe(1);
    expect(
      critOf(
        evaluatePosture(inputs({ simulations: [sim(ago(91))] }), NOW),
        'API2:2023',
        'monitored-API2:2023',
      ).value,
    ).toBe(0.5);
    expect(
      critOf(
        evaluatePosture(inputs({ simulations: [sim(ago(1), [])] }), NOW),
        'API2:2023',
        'monitored-API2:2023',
      ).value,
    ).toBe(0.5);
    const off = evaluatePosture(inputs({ monitor: { ...inputs().monitor, enabled: false } }), NOW);
    expect(critOf(off, 'API2:2023', 'monitored-API2:2023').value).toBe(0);
    expect(itemOf(off, 'monitoring').score).toBeLessThan(itemOf(watched, 'monitoring').score);
  });
});

describe('next actions', () => {
  it('ranked by gain, merged across items, and each gain is what the change adds to the overall score', () => {
    const r = evaluatePosture(inputs(), NOW);
    const gains = r.actions.map((a) => a.gain);
    expect(gains).toEqual([...gains].sort((a, b) => b - a));
    expect(new Set(r.actions.map((a) => a.action)).size).toBe(r.actions.length);
    const scanAction = r.actions.find((a) => a.action.startsWith('run rampart scan'))!;
    expect(scanAction.items).toEqual(expect.arrayContaining(['pentest', 'scans', 'API1:2023', 'API10:2023']));
    // Apply the rate-limit action: rate-limit on every operation. The score rises by its gain (± rounding).
    const rl = r.actions.find((a) => a.action === 'set policies.rate-limit.enabled: true')!;
    expect(rl.items).toEqual(['rate-limiting', 'API4:2023']);
    const applied = evaluatePosture(
      inputs({
        operations: OPS.map((o) => ({ ...o, policies: [...o.policies, 'rate-limit'] })),
        enabledPolicies: [...BASE_CHAIN, 'rate-limit'],
      }),
      NOW,
    );
    const unrounded = (x: PostureReport) =>
      0.5 * (x.checklist.reduce((a, i) => a + i.score, 0) / 10) +
      0.5 * (x.owasp.reduce((a, i) => a + i.score, 0) / 10);
    expect(Math.abs(unrounded(applied) - unrounded(r) - rl.gain)).toBeLessThanOrEqual(0.2);
    expect(applied.actions.find((a) => a.action === rl.action)).toBeUndefined();
  });

  it('a met criterion proposes nothing', () => {
    const r = evaluatePosture(inputs({ results: [scan(0)] }), NOW);
    for (const i of [...r.checklist, ...r.owasp])
      for (const c of i.criteria) if (c.value >= 1) expect(c.action).toBeUndefined();
  });
});
