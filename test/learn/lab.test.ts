/**
 * The proof of learn mode on the lab: a real learning proxy in front of the vulnerable lab,
 * driven by the lab's legitimate flows (test/lab/flows.ts), its malformed-input cases and
 * `rampart simulate`'s normal mix; the learned document is measured against the lab's own
 * documents (v2 + v1). Figures: docs/learn.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_LAB } from '../../src/cli/demo.ts';
import {
  DEMO_USERS,
  LAB_SPECS,
  WEAK_JWT_SECRET,
  startImageStub,
  startLab,
  type LabServer,
  type StubServer,
} from '../../src/lab/index.ts';
import type { DemoUsername } from '../../src/lab/seed.ts';
import { simulate } from '../../src/monitor/simulate.ts';
import { badInput, flow, PASSWORDS } from '../lab/flows.ts';
import { figures, learningProxy } from './measure.ts';

type Result = Awaited<ReturnType<Awaited<ReturnType<typeof learningProxy>>['finish']>>;
const servers: Array<LabServer | StubServer> = [];
const tokens: string[] = [];
let secure: Result;
let vulnerable: Result;

/** Runs the traffic through a learning proxy in front of one twin and measures the result. */
async function learnLab(mode: 'secure' | 'vulnerable'): Promise<Result> {
  const image = await startImageStub();
  servers.push(image);
  const avatarHosts = [new URL(image.url).host];
  const lab = await startLab(mode === 'vulnerable' ? { ...DEMO_LAB, avatarHosts } : { mode, avatarHosts });
  servers.push(lab);
  const run = await learningProxy(lab.url);
  const byUser = new Map<DemoUsername, string>();
  const tokenFor = async (who: DemoUsername): Promise<string> => {
    if (!byUser.has(who)) {
      const r = await run.send('POST', '/v2/auth/login', {
        body: { username: who, password: PASSWORDS[who] },
      });
      byUser.set(who, (JSON.parse(r.text) as { token: string }).token);
      tokens.push(byUser.get(who)!);
    }
    return byUser.get(who)!;
  };
  for (const s of flow(image.url)) {
    const headers = s.as ? { authorization: `Bearer ${await tokenFor(s.as)}` } : undefined;
    const r = await run.send(s.method, s.path, {
      ...(headers ? { headers } : {}),
      ...(s.body !== undefined ? { body: s.body } : {}),
    });
    expect(r.status, `${s.name}: ${r.text}`).toBe(s.status);
  }
  // A second leaflet: a legitimate call the flows do not make (file names fold from two).
  const bob = { authorization: `Bearer ${await tokenFor('bob')}` };
  expect((await run.send('GET', '/v2/documents/flu-vaccine.txt', { headers: bob })).status).toBe(200);
  for (const b of badInput) {
    const token = b.token ?? (b.as ? await tokenFor(b.as) : undefined);
    const headers: Record<string, string> = {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(b.contentType ? { 'content-type': b.contentType } : {}),
    };
    const r = await run.send(b.method, b.path, {
      headers,
      ...(b.raw !== undefined ? { raw: b.raw } : b.body !== undefined ? { body: b.body } : {}),
    });
    expect(r.status, b.name).toBe(b.status);
  }
  const normal = await simulate('normal', { target: run.proxy.url, requests: 120, maxMs: 60_000, waitMs: 0 });
  expect(normal.errors).toBe(0);
  // The planted, undocumented debug endpoint (API9): 200 in the vulnerable twin, 404 in the secure one.
  expect((await run.send('GET', '/debug/vars')).status).toBe(mode === 'vulnerable' ? 200 : 404);
  const result = await run.finish([{ spec: LAB_SPECS.v2 }, { spec: LAB_SPECS.v1 }]);
  console.log(`lab (${mode}):\n${figures(result.comparison)}`);
  return result;
}

beforeAll(async () => {
  secure = await learnLab('secure');
  vulnerable = await learnLab('vulnerable');
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('learn mode in front of the lab', () => {
  it('finds the documented operations with exact templates (precision and recall, secure twin)', () => {
    const m = secure.comparison.metrics;
    expect(m.operationRecall.value).toBeGreaterThanOrEqual(0.95);
    expect(m.operationPrecision.value).toBe(1);
    // In the vulnerable twin, the one learned operation the documents lack is the planted shadow endpoint.
    const v = vulnerable.comparison.metrics;
    expect(v.operationPrecision.of - v.operationPrecision.matched).toBe(1);
    expect(v.operationRecall.value).toBe(m.operationRecall.value);
    expect(m.templatesExact.value).toBe(1);
    expect(m.parameterNames.value).toBeGreaterThanOrEqual(0.9);
  });

  it('matches property names and types, and security requirements (secure twin)', () => {
    const m = secure.comparison.metrics;
    expect(m.propertyPrecision.value).toBeGreaterThanOrEqual(0.95);
    expect(m.propertyRecall.value).toBeGreaterThanOrEqual(0.95);
    expect(m.propertyTypes.value).toBeGreaterThanOrEqual(0.95);
    expect(m.security.value).toBe(1);
    expect(m.security.of).toBe(m.operationRecall.matched);
  });

  it('reports /debug/vars as a shadow endpoint finding (API9, high: answered without credentials)', () => {
    expect(vulnerable.comparison.shadow.map((s) => s.operation)).toEqual(['GET /debug/vars']);
    expect(secure.comparison.shadow).toEqual([]);
    const f = vulnerable.findings.filter((x) => x.check === 'learn/shadow-endpoint');
    expect(f).toEqual([
      expect.objectContaining({
        source: 'learn',
        owasp: 'API9:2023',
        severity: 'high',
        operation: 'GET /debug/vars',
      }),
    ]);
  });

  it('reports the vulnerable twin’s excessive exposure as undeclared properties (API3), none in the secure twin', () => {
    const undeclared = vulnerable.findings.filter((x) => x.check === 'learn/undeclared-property');
    const where = undeclared.map((f) => `${f.operation} ${String(f.evidence.details?.property)}`);
    expect(where).toEqual(
      expect.arrayContaining([
        'GET /v2/users/me /passwordHash',
        'GET /v2/users/me /nationalId',
        'GET /v2/doctors /items/*/email',
        'GET /v1/users/{userId} /passwordHash',
      ]),
    );
    expect(undeclared.find((f) => f.evidence.details?.property === '/passwordHash')?.severity).toBe('high');
    expect(secure.findings.filter((x) => x.check === 'learn/undeclared-property')).toEqual([]);
  });

  it('keeps no token, password, secret or personal value of the traffic', () => {
    for (const { text } of [secure, vulnerable]) {
      for (const t of tokens) expect(text).not.toContain(t.split('.')[1]);
      for (const u of DEMO_USERS) expect(text).not.toContain(u.password);
      expect(text).not.toContain(WEAK_JWT_SECRET);
      expect(text).not.toMatch(/@patients\.example|@clinic\.example|Alice|Moreau|\$2[aby]\$|scrypt/);
      expect(text).not.toContain('M-1001');
    }
  });

  it('does not learn the malformed and 404 requests as operations', () => {
    const paths = Object.keys(vulnerable.doc.paths as object);
    expect(paths).not.toContain('/v2/nope');
    expect(paths).not.toContain('/v2/records/abc');
    expect(
      (vulnerable.doc.paths as Record<string, Record<string, unknown>>)['/v2/users/me']!.delete,
    ).toBeUndefined();
  });
});
