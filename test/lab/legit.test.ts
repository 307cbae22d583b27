import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '../../src/core/clock.ts';
import { LAB_SPECS, startImageStub, startLab, type LabServer, type StubServer } from '../../src/lab/index.ts';
import type { DemoUsername } from '../../src/lab/seed.ts';
import { badInput, flow, PASSWORDS, type Step } from './flows.ts';
import { configFromObject, startEgress } from '../../src/cli/app.ts';
import { DEMO_POLICIES, demoApis, demoEgress, startDemoLab } from '../../src/cli/demo.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { startTestGateway } from '../helpers/gateway.ts';

// Legitimate use behaves identically in both twins: same paths, same status codes and
// the same values for every documented field. The secure twin's answers also match
// the documented schemas exactly (no undeclared property); malformed input gets a
// clean 4xx in both, RFC 9457 problem+json in the secure twin.

type Obj = Record<string, unknown>;

const v2 = parse(readFileSync(LAB_SPECS.v2, 'utf8')) as Obj;
const schemas = (v2.components as Obj).schemas as Record<string, Obj>;
const defs = JSON.parse(JSON.stringify(schemas).replaceAll('#/components/schemas/', '#/$defs/')) as Record<
  string,
  Obj
>;
const addFormats =
  (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: 'lab', $defs: defs });

/** Keeps only the properties a schema documents (recursively), to compare twins on the contract. */
function documented(value: unknown, schema: Obj | undefined): unknown {
  if (!schema) return value;
  if (typeof schema.$ref === 'string') return documented(value, defs[schema.$ref.replace('#/$defs/', '')]);
  if (Array.isArray(value)) return value.map((v) => documented(v, schema.items as Obj | undefined));
  if (value && typeof value === 'object' && schema.properties) {
    const props = schema.properties as Record<string, Obj>;
    return Object.fromEntries(
      Object.entries(value as Obj)
        .filter(([k]) => k in props)
        .map(([k, v]) => [k, documented(v, props[k])]),
    );
  }
  return value;
}

const login = (lab: LabServer, username: string, password: string): Promise<Response> =>
  fetch(`${lab.url}/v2/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });

let labs: Record<'vulnerable' | 'secure', LabServer>;
let image: StubServer;

beforeAll(async () => {
  image = await startImageStub();
  const avatarHosts = [new URL(image.url).host];
  const start = (mode: 'vulnerable' | 'secure'): Promise<LabServer> =>
    startLab({ mode, clock: new ManualClock(Date.parse('2026-03-01T08:00:00Z')), avatarHosts });
  const [vulnerable, secure] = await Promise.all([start('vulnerable'), start('secure')]);
  labs = { vulnerable, secure };
});

afterAll(async () => {
  await Promise.all([labs?.vulnerable.close(), labs?.secure.close(), image?.close()]);
});

const tokens = new Map<string, string>();
async function tokenFor(lab: LabServer, who: DemoUsername): Promise<string> {
  const key = lab.url + who;
  if (!tokens.has(key)) {
    const res = await login(lab, who, PASSWORDS[who]);
    tokens.set(key, ((await res.json()) as { token: string }).token);
  }
  return tokens.get(key)!;
}

async function send(
  lab: LabServer,
  s: Step & { raw?: string; contentType?: string; token?: string },
): Promise<{ status: number; type: string; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  const token = s.token ?? (s.as ? await tokenFor(lab, s.as) : undefined);
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (s.raw !== undefined || s.body !== undefined) {
    headers['content-type'] = s.contentType ?? 'application/json';
    body = s.raw ?? JSON.stringify(s.body);
  }
  const res = await fetch(lab.url + s.path, {
    method: s.method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    text: await res.text(),
    headers: res.headers,
  };
}

describe('legitimate flows behave the same in both twins', () => {
  it('runs the whole flow in order', async () => {
    for (const step of flow(image.url)) {
      const [v, s] = [await send(labs.vulnerable, step), await send(labs.secure, step)];
      expect(v.status, `${step.name} (vulnerable): ${v.text}`).toBe(step.status);
      expect(s.status, `${step.name} (secure): ${s.text}`).toBe(step.status);
      if (!step.schema) {
        if (step.status < 300) expect(v.text, step.name).toBe(s.text);
        continue;
      }
      const [vj, sj] = [JSON.parse(v.text) as Obj, JSON.parse(s.text) as Obj];
      const validate = ajv.getSchema(`lab#/$defs/${step.schema}`)!;
      expect(
        validate(sj),
        `${step.name}: secure answer matches ${step.schema} exactly: ${ajv.errorsText(validate.errors)}`,
      ).toBe(true);
      const [vd, sd] = [documented(vj, defs[step.schema]), documented(sj, defs[step.schema])] as [Obj, Obj];
      if (step.schema === 'Token') {
        // Tokens differ by construction (different keys); the documented shape must not.
        expect(typeof vd.token).toBe('string');
        delete vd.token;
        delete sd.token;
      }
      expect(vd, step.name).toEqual(sd);
    }
  });
});

describe('malformed input gets a clean 4xx in both twins', () => {
  it.each(badInput.map((b) => [b.name, b] as const))('%s', async (_name, step) => {
    for (const mode of ['vulnerable', 'secure'] as const) {
      const r = await send(labs[mode], step);
      expect(r.status, `${mode}: ${r.text}`).toBe(step.status);
      expect(r.text, mode).not.toMatch(/\n\s+at |SQLITE|stack/);
      if (mode === 'secure') {
        expect(r.type).toBe('application/problem+json');
        const p = JSON.parse(r.text) as Obj;
        expect(p).toMatchObject({
          status: step.status,
          type: expect.stringMatching(/^https:\/\/rampart\.dev\/problems\//) as unknown,
        });
        expect(typeof p.title).toBe('string');
      } else {
        expect(typeof (JSON.parse(r.text) as Obj).error).toBe('string');
      }
    }
  });
});

describe('oversized headers', () => {
  it('get 431 in both twins', async () => {
    for (const mode of ['vulnerable', 'secure'] as const) {
      const res = await fetch(`${labs[mode].url}/v2/health`, { headers: { 'x-filler': 'x'.repeat(20_000) } });
      expect(res.status, mode).toBe(431);
    }
  });
});

describe('secure twin details', () => {
  it('expires tokens after 900 s on the injected clock; the vulnerable twin never does', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T08:00:00Z'));
    const [v, s] = await Promise.all([
      startLab({ mode: 'vulnerable', clock }),
      startLab({ mode: 'secure', clock }),
    ]);
    try {
      const tv = await tokenFor(v, 'bob');
      const ts = await tokenFor(s, 'bob');
      const me = (lab: LabServer, t: string): Promise<number> =>
        fetch(`${lab.url}/v2/users/me`, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.status);
      expect([await me(v, tv), await me(s, ts)]).toEqual([200, 200]);
      clock.advance(901_000);
      expect([await me(v, tv), await me(s, ts)]).toEqual([200, 401]);
    } finally {
      await Promise.all([v.close(), s.close()]);
    }
  });

  it('announces v1 deprecation, sunset and successor', async () => {
    const r = await send(labs.secure, { name: 'v1', method: 'GET', path: '/v1/health', status: 200 });
    expect(r.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(r.headers.get('sunset')).toMatch(/GMT$/);
    expect(r.headers.get('link')).toBe('</v2/health>; rel="successor-version"');
  });

  it('unlocks a locked account when the window passes', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T08:00:00Z'));
    const s = await startLab({ mode: 'secure', clock });
    try {
      const asBob = (password: string): Promise<Response> => login(s, 'bob', password);
      for (let i = 0; i < 5; i++) expect((await asBob('wrong-guess')).status).toBe(401);
      const locked = await asBob(PASSWORDS.bob);
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      clock.advance(15 * 60_000);
      expect((await asBob(PASSWORDS.bob)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('allows CORS for configured origins only', async () => {
    const s = await startLab({ mode: 'secure', corsOrigins: ['https://portal.clinic.example'] });
    try {
      const pre = (origin: string): Promise<Response> =>
        fetch(`${s.url}/v2/health`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'GET' },
        });
      const good = await pre('https://portal.clinic.example');
      expect(good.status).toBe(204);
      expect(good.headers.get('access-control-allow-origin')).toBe('https://portal.clinic.example');
      expect(good.headers.get('access-control-allow-credentials')).toBeNull();
      expect((await pre('https://evil.example')).status).toBe(403);
    } finally {
      await s.close();
    }
  });
});

describe('legitimate flows through the gateway (the demo chain, vulnerable lab behind it)', () => {
  let behind: { lab: LabServer; close(): Promise<void> } | undefined;
  afterAll(async () => behind?.close());

  it('every step keeps its status and every answer matches its schema exactly', async () => {
    // The demo's setup (src/cli/demo.ts): contract policies on, insurer calls through egress.
    // Plain HTTP on loopback so this file's fetch works; the image stub is an allowed private host.
    const demo = await startDemoLab();
    const gw = await startTestGateway(demo.lab.url, {
      listen: { host: '127.0.0.1', port: 0, tls: { enabled: false } },
      apis: demoApis(demo.lab.url),
      policies: {
        ...DEMO_POLICIES,
        transport: { requireTls: false },
        'ssrf-guard': { enabled: true, allowPrivate: [new URL(image.url).host] },
      },
    });
    const egress = await startEgress(
      configFromObject({ egress: demoEgress(demo.insurerUrl) }, gw.dir),
      silentLogger,
      new ManualClock(0),
      () => {},
    );
    demo.useEgress(egress!.url);
    behind = {
      lab: demo.lab,
      close: async () => {
        await gw.close();
        await egress?.close();
        await demo.lab.close();
      },
    };
    const viaGateway = { ...demo.lab, url: gw.url };
    for (const step of flow(image.url)) {
      const r = await send(viaGateway, step);
      expect(r.status, `${step.name} (through the gateway): ${r.text}`).toBe(step.status);
      if (!step.schema) continue;
      const validate = ajv.getSchema(`lab#/$defs/${step.schema}`)!;
      expect(
        validate(JSON.parse(r.text)),
        `${step.name}: the answer matches ${step.schema} exactly: ${ajv.errorsText(validate.errors)}`,
      ).toBe(true);
    }
  });
});
