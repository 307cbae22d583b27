import { Agent, request, type Dispatcher } from 'undici';

/**
 * `rampart simulate`: named traffic scenarios against a Rampart gateway in front of the
 * lab (the built-in demo), bounded in requests and time, to test alert thresholds with
 * fake traffic. Each scenario says which shipped rules it should set off; the runner
 * reads the admin API's alerts afterwards and reports which fired, and when.
 */

export interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Send the lab token obtained in setup. */
  auth?: boolean;
}

export interface Scenario {
  description: string;
  /** Shipped rules this scenario should fire (none for the normal mix). */
  expects: string[];
  requests: number;
  concurrency: number;
  /** Logs in to the lab first (the scenarios that read records). */
  needsLabToken?: boolean;
  request(i: number, rand: () => number): RequestSpec;
}

const LAB_USERS = [
  ['alice', 'alice-demo-pass'],
  ['bob', 'bob-demo-pass'],
  ['carol', 'carol-demo-pass'],
] as const;

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

export const SCENARIOS: Record<string, Scenario> = {
  normal: {
    description: 'A normal mix: health checks, listings, own records, successful sign-ins.',
    expects: [],
    requests: 300,
    concurrency: 4,
    needsLabToken: true,
    request(i, rand) {
      const r = rand();
      if (r < 0.25) return { method: 'GET', path: '/v2/health' };
      if (r < 0.5) return { method: 'GET', path: '/v2/doctors' };
      if (r < 0.7) return { method: 'GET', path: '/v2/records', auth: true };
      if (r < 0.8) return { method: 'GET', path: '/v2/users/me', auth: true };
      if (r < 0.9) return { method: 'GET', path: `/v2/records/${1 + (i % 2)}`, auth: true };
      const [username, password] = pick(rand, LAB_USERS);
      return { method: 'POST', path: '/v2/auth/login', body: { username, password } };
    },
  },
  'brute-force': {
    description: 'One address guesses the password of one account of the identity service.',
    expects: ['failed-logins', 'failed-logins-per-ip', 'failed-logins-per-account'],
    requests: 60,
    concurrency: 4,
    request: (i) => ({
      method: 'POST',
      path: '/auth/login',
      body: { username: 'victim', password: `guess-${i}-Summer2026!` },
    }),
  },
  'credential-stuffing': {
    description: 'One address tries leaked username/password pairs: many accounts, one attempt each.',
    expects: ['credential-stuffing'],
    requests: 40,
    concurrency: 4,
    request: (i) => ({
      method: 'POST',
      path: '/auth/login',
      body: { username: `leaked-user-${i}`, password: `Passw0rd!${i}` },
    }),
  },
  bola: {
    description: "A signed-in user walks record ids to read other patients' records (OWASP API1).",
    expects: ['object-enumeration'],
    requests: 60,
    concurrency: 4,
    needsLabToken: true,
    request: (i) => ({ method: 'GET', path: `/v2/records/${i + 1}`, auth: true }),
  },
  scraping: {
    description: 'A crawler pages through listings fast and probes undocumented paths.',
    expects: ['shadow-endpoint'],
    requests: 120,
    concurrency: 8,
    request(i) {
      const probes = [
        '/.env',
        '/admin',
        '/backup.zip',
        '/api/internal',
        '/v3/doctors',
        '/debug/vars',
        '/.git/config',
        '/swagger.json',
      ];
      if (i % 10 === 0) return { method: 'GET', path: probes[(i / 10) % probes.length]! };
      return { method: 'GET', path: `/v2/doctors?page=${i}` };
    },
  },
  '5xx-storm': {
    description: "Requests that make the upstream fail (the lab's verbose-errors flaw: an unknown sort key).",
    expects: ['error-ratio-5xx'],
    requests: 40,
    concurrency: 4,
    needsLabToken: true,
    request: (i) => ({
      method: 'GET',
      path: `/v2/records?sort=${encodeURIComponent(`nope-${i}`)}`,
      auth: true,
    }),
  },
  'slow-upstream': {
    description: 'Requests the upstream answers slowly (about 1.2 s each: the lab shells out).',
    expects: ['slow-responses'],
    requests: 25,
    concurrency: 25,
    needsLabToken: true,
    request: () => ({ method: 'POST', path: '/v2/labels', body: { text: 'slow; sleep 1.2' }, auth: true }),
  },
};

export interface SimulateOptions {
  target: string;
  /** Admin listener base URL and credential, to read which alerts fired. */
  admin?: string;
  adminToken?: string;
  requests?: number;
  concurrency?: number;
  /** Hard time bound of the traffic phase, in ms. */
  maxMs: number;
  /** How long to wait for the expected alerts after the traffic, in ms. */
  waitMs: number;
  /** Accept a self-signed certificate (the demo's development certificate). */
  insecure?: boolean;
  /** A progress line (the CLI rewrites one terminal line). */
  progress?: (line: string) => void;
  seed?: number;
}

export interface FiredAlert {
  rule: string;
  summary: string;
  /** Seconds after the scenario began. */
  afterSeconds: number;
}

export interface SimulateReport {
  scenario: string;
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  durationMs: number;
  expected: string[];
  fired: FiredAlert[];
  missing: string[];
}

/** A small deterministic PRNG (mulberry32) so a scenario replays the same traffic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function send(d: Dispatcher, base: string, spec: RequestSpec, token?: string): Promise<number> {
  const headers: Record<string, string> = { 'user-agent': 'rampart-simulate' };
  if (spec.body !== undefined) headers['content-type'] = 'application/json';
  if (spec.auth && token) headers.authorization = `Bearer ${token}`;
  const r = await request(base + spec.path, {
    method: spec.method,
    headers,
    ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
    dispatcher: d,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  await r.body.dump();
  return r.statusCode;
}

async function labToken(d: Dispatcher, base: string): Promise<string> {
  const r = await request(`${base}/v2/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'alice-demo-pass' }),
    dispatcher: d,
  });
  const body = (await r.body.json()) as { token?: string };
  if (r.statusCode !== 200 || !body.token)
    throw new Error(
      `could not sign in to the lab at ${base} (status ${r.statusCode}); is the target the built-in demo?`,
    );
  return body.token;
}

export async function simulate(name: string, o: SimulateOptions): Promise<SimulateReport> {
  const sc = SCENARIOS[name];
  if (!sc) throw new Error(`unknown scenario '${name}'; one of ${Object.keys(SCENARIOS).join(', ')}`);
  const base = o.target.replace(/\/+$/, '');
  const d = new Agent({ connections: 32, ...(o.insecure ? { connect: { rejectUnauthorized: false } } : {}) });
  const rand = prng(o.seed ?? 1);
  const total = Math.max(1, o.requests ?? sc.requests);
  const started = Date.now();
  const statuses: Record<string, number> = {};
  let sent = 0;
  let errors = 0;
  let next = 0;
  try {
    const token = sc.needsLabToken ? await labToken(d, base) : undefined;
    const progress = o.progress;
    const timer = progress
      ? setInterval(
          () =>
            progress(`${name}: ${sent}/${total} requests, ${((Date.now() - started) / 1000).toFixed(1)} s`),
          250,
        )
      : undefined;
    const worker = async () => {
      while (next < total && Date.now() - started < o.maxMs) {
        const i = next++;
        try {
          const status = await send(d, base, sc.request(i, rand), token);
          const k = String(status);
          statuses[k] = (statuses[k] ?? 0) + 1;
        } catch {
          errors++;
        }
        sent++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency ?? sc.concurrency, total) }, worker));
    clearInterval(timer);
    progress?.(`${name}: ${sent}/${total} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const fired = o.admin ? await firedSince(o.admin, o.adminToken, started, sc.expects, o.waitMs) : [];
    const firedRules = new Set(fired.map((f) => f.rule));
    return {
      scenario: name,
      sent,
      statuses,
      errors,
      durationMs: Date.now() - started,
      expected: sc.expects,
      fired,
      missing: o.admin ? sc.expects.filter((r) => !firedRules.has(r)) : [],
    };
  } finally {
    await d.close();
  }
}

/** Alerts that went to firing since `since`, polling until every expected rule is among them or `waitMs` passed. */
async function firedSince(
  admin: string,
  token: string | undefined,
  since: number,
  expects: string[],
  waitMs: number,
): Promise<FiredAlert[]> {
  const end = Date.now() + waitMs;
  for (;;) {
    const r = await request(`${admin.replace(/\/+$/, '')}/admin/alerts?since=${since}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const text = await r.body.text();
    if (r.statusCode !== 200)
      throw new Error(
        `the admin API answered ${r.statusCode} for /admin/alerts; pass an admin credential (--admin-token)`,
      );
    const body = JSON.parse(text) as {
      recent: Array<{ rule: string; state: string; summary: string; changedAt: number }>;
    };
    const fired = body.recent
      .filter((a) => a.state === 'firing')
      .map((a) => ({
        rule: a.rule,
        summary: a.summary,
        afterSeconds: Math.round((a.changedAt - since) / 100) / 10,
      }));
    const got = new Set(fired.map((f) => f.rule));
    if (expects.every((e) => got.has(e)) || Date.now() >= end) return fired;
    await new Promise((res) => setTimeout(res, 100));
  }
}
