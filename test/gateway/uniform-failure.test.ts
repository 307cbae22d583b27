/**
 * uniform-failure through the real gateway and a real upstream that tells accounts apart:
 * every failure of a declared credential operation reaches the client as one identical
 * answer, and brute-force counts all of them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestGateway, startUpstream, type TestGateway } from '../helpers/gateway.ts';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

const SPEC = (uniform: string): string => `openapi: 3.1.0
info: { title: accounts, version: 1.0.0 }
paths:
  /login:
    post:
      security: []
      x-rampart:
        ${uniform}
        bruteForce: { per: username, limit: 5, window: 900 }
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [username, password]
              properties: { username: { type: string }, password: { type: string } }
      responses:
        '200': { description: ok, content: { application/json: { schema: { type: object } } } }
        '401': { description: wrong, content: { application/problem+json: { schema: { type: object } } } }
        '422': { description: invalid, content: { application/problem+json: { schema: { type: object } } } }
  /plain:
    post:
      security: []
      responses:
        '401': { description: wrong }
`;

/** Knows alice (password "right"); each failure differs as careless APIs' do. */
function accounts(
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
  body: string,
): void {
  const b = (body ? JSON.parse(body) : {}) as { username?: string; password?: string };
  if (req.url === '/plain') {
    res.writeHead(404, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ error: `No account named '${b.username}'` }));
  }
  if (b.username === 'crash') {
    res.writeHead(500, { 'content-type': 'text/html' });
    return void res.end('<pre>TypeError: user is undefined at /srv/login.js:42</pre>');
  }
  if (b.username === 'shape') {
    res.writeHead(422, { 'content-type': 'application/problem+json' });
    return void res.end(JSON.stringify({ type: 'about:blank', status: 422, title: 'bad shape' }));
  }
  if (b.username !== 'alice') {
    res.writeHead(404, { 'content-type': 'application/json', 'x-account': 'none' });
    return void res.end(JSON.stringify({ error: `No account named '${b.username}'` }));
  }
  if (b.password !== 'right') {
    res.writeHead(401, {
      'content-type': 'application/problem+json',
      'www-authenticate': 'Basic realm="alice"',
      'set-cookie': 'last-user=alice',
    });
    return void res.end(
      JSON.stringify({ type: 'about:blank', status: 401, detail: "Wrong password for 'alice'" }),
    );
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ token: 't' }));
}

async function gatewayFor(
  upstream: Upstream,
  uniform: string,
  policies: Record<string, unknown> = {},
): Promise<TestGateway> {
  const spec = join(specDir, `accounts-${++specs}.yaml`);
  await writeFile(spec, SPEC(uniform));
  return startTestGateway(upstream.url, {
    apis: [{ name: 'accounts', upstream: upstream.url, versions: [{ base: '/a', spec }] }],
    policies: { 'validate-response': { enabled: true }, ...policies },
  });
}

const login = (gw: TestGateway, username: string, password = 'wrong') =>
  call(`${gw.url}/a/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });

/** What a client can compare: status, headers the upstream controls, the body minus the request id. */
const view = (r: Awaited<ReturnType<typeof login>>) => {
  const p = r.json() as Record<string, unknown>;
  delete p.request_id;
  const headers = { ...r.headers };
  delete headers.date;
  delete headers['x-request-id'];
  return { status: r.status, headers, body: p };
};

let upstream: Upstream;
let gw: TestGateway;
let specDir: string;
let specs = 0;
beforeAll(async () => {
  specDir = await mkdtemp(join(tmpdir(), 'rampart-uniform-'));
  upstream = await startUpstream(accounts);
  gw = await gatewayFor(upstream, 'uniformFailure: { status: 401, detail: Wrong username or password }');
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await rm(specDir, { recursive: true, force: true });
});

describe('uniform-failure', () => {
  it('an unknown account (404, undeclared → 502 by validate-response), a wrong password (401 + WWW-Authenticate + Set-Cookie) and an upstream crash (500 page) get one identical answer', async () => {
    const known = await login(gw, 'alice');
    const unknown = await login(gw, 'nobody');
    const crash = await login(gw, 'crash');
    expect(known.status).toBe(401);
    expect(known.headers['content-type']).toBe('application/problem+json');
    expect(known.headers['cache-control']).toBe('no-store');
    expect(known.headers['www-authenticate']).toBeUndefined();
    expect(known.headers['set-cookie']).toBeUndefined();
    expect(unknown.headers['x-account']).toBeUndefined();
    expect(known.json()).toMatchObject({
      type: 'https://rampart.dev/problems/invalid-credentials',
      status: 401,
      detail: 'Wrong username or password',
      request_id: known.headers['x-request-id'],
    });
    expect(view(unknown)).toEqual(view(known));
    expect(view(crash)).toEqual(view(known));
    expect(known.text.length).toBe(unknown.text.length);
  });

  it('success and the pass list (a malformed request: 422) are left alone', async () => {
    const ok = await login(gw, 'alice', 'right');
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ token: 't' });
    const shape = await login(gw, 'shape');
    expect(shape.status).toBe(422);
    expect(shape.json()).toMatchObject({ title: 'bad shape' });
  });

  it('brute-force counts unknown accounts like known ones (the folded answer is a 401), so the lock is no oracle either', async () => {
    for (let i = 0; i < 5; i++) expect((await login(gw, 'ghost')).status).toBe(401);
    const locked = await login(gw, 'ghost');
    expect(locked.status).toBe(429);
    expect(locked.json()).toMatchObject({ type: 'https://rampart.dev/problems/too-many-requests' });
    expect(locked.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('operations without the declaration keep their own answers (the policy acts only where the contract asks)', async () => {
    const r = await call(`${gw.url}/a/plain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'x' }),
    });
    expect(r.status).toBe(502); // validate-response: 404 is not declared
    expect(r.json()).toMatchObject({ type: 'https://rampart.dev/problems/response-invalid' });
  });

  it('`true` uses 401 invalid-credentials with the default detail; turned off, the oracle is back', async () => {
    const short = await gatewayFor(upstream, 'uniformFailure: true');
    const off = await gatewayFor(upstream, 'uniformFailure: true', { 'uniform-failure': { enabled: false } });
    try {
      const a = await login(short, 'alice');
      const b = await login(short, 'nobody');
      expect(a.json()).toMatchObject({
        type: 'https://rampart.dev/problems/invalid-credentials',
        detail: 'The credentials were not accepted',
      });
      expect(view(b)).toEqual(view(a));
      const c = await login(off, 'alice');
      const d = await login(off, 'nobody');
      expect([c.status, d.status]).toEqual([401, 502]);
    } finally {
      await Promise.all([short.close(), off.close()]);
    }
  });
});
