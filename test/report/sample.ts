/** Findings of all three producers (scan, audit, code), with hostile text, for reporter tests. */
import type { Finding, RunMeta } from '../../src/core/findings.ts';

export const XSS = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

export const sampleFindings: Finding[] = [
  {
    id: '0a1b2c3d4e5f6071',
    source: 'scan',
    check: 'bola-identity-swap',
    owasp: 'API1:2023',
    cwe: 639,
    severity: 'high',
    confidence: 'confirmed',
    operation: 'GET /v2/records/{recordId}',
    title: `Another user's record is readable ${XSS}`,
    description: 'As bob, GET /v2/records/1 answered 200 with alice\'s record. "quoted" & <b>bold</b>',
    evidence: {
      exchanges: [
        {
          request: {
            method: 'GET',
            url: 'http://127.0.0.1:9000/v2/records/1',
            headers: { authorization: 'Bearer eyJ…(masked)' },
          },
          response: {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: `{"id":1,"title":"${XSS}","notes":"\u0007bell\u001b[31mred"}`,
            durationMs: 4,
          },
          note: "as bob: 200 with alice's record",
        },
        { request: { method: 'GET', url: 'http://127.0.0.1:9000/v2/records/2' }, response: { status: 200 } },
      ],
    },
    remediation: {
      summary: 'Check ownership before serving a record.',
      policy: 'owner',
      xRampart: "owner: { lookup: 'GET /records/{recordId}', field: patientId, claim: sub }",
      references: ['https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/'],
    },
  },
  {
    id: '1111222233334444',
    source: 'audit',
    check: 'audit/privileged-property-writable',
    owasp: 'API3:2023',
    cwe: 915,
    severity: 'medium',
    confidence: 'firm',
    operation: 'PATCH /v2/users/me',
    title: 'Request body accepts `role` | pipes | and *stars*',
    description: 'The body schema lets a client set role.',
    evidence: {
      location: {
        file: `${process.cwd()}/specs/my api.yaml`,
        line: 120,
        column: 9,
        pointer: '/paths/~1users~1me/patch',
      },
      details: { properties: ['role'] },
    },
    remediation: { summary: 'Mark role readOnly.' },
    related: ['mass-assignment'],
  },
  {
    id: '5555666677778888',
    source: 'code',
    check: 'code/hardcoded-secret',
    cwe: 798,
    severity: 'critical',
    confidence: 'firm',
    title: 'A secret in the source',
    description: 'An AWS access key id.',
    evidence: {
      location: { file: 'src/config.ts', line: 3, column: 14, snippet: 'const key = "AKIA…(masked)"' },
    },
    remediation: { summary: 'Move it to the environment and rotate it.' },
  },
  {
    id: '9999aaaabbbbcccc',
    source: 'audit',
    check: 'audit/http-server',
    owasp: 'API8:2023',
    severity: 'info',
    confidence: 'firm',
    title: 'Plain http server',
    description: 'servers[0] is http://.',
    evidence: {},
    remediation: { summary: 'Use https.' },
  },
];

export const sampleMeta: RunMeta = {
  tool: 'scan',
  target: 'http://127.0.0.1:9000',
  startedAt: '2026-12-01T20:00:00.000Z',
  finishedAt: '2026-12-01T20:00:12.500Z',
  version: '0.1.0',
  notes: ['POST /v2/labels could not be tested: no example body'],
  score: { overall: 62, byCategory: { 'API1:2023': 40, 'API3:2023': 75 } },
  checks: [
    {
      id: 'bola-identity-swap',
      title: 'Object-level authorization (identity swap)',
      owasp: 'API1:2023',
      cwe: 639,
      severity: 'high',
      description: 'Reads and writes objects of one identity as another.',
      remediation: 'Enforce ownership.',
      appliesTo: ['GET /v2/records/{recordId}', 'PATCH /v2/records/{recordId}'],
    },
  ],
  topFixes: [{ title: `Add an owner rule ${XSS}`, impact: 12, findings: ['0a1b2c3d4e5f6071'] }],
};
