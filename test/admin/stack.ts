/**
 * The admin API as `rampart start` serves it: one App (identity service, monitor, gateway,
 * admin listener) on loopback with a ManualClock and a SQLite store in a temp folder, an
 * admin and a viewer with TOTP enrolled through the real identity routes (codes from
 * oathtool), and helpers that sign in to the console over real HTTP.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { App, configFromObject } from '../../src/cli/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { startUpstream } from '../helpers/gateway.ts';
import { GOOD_PASSWORD, oathtool } from '../identity/harness.ts';

export const P = 'https://rampart.dev/problems/';

const SPEC = `openapi: 3.1.0
info: { title: Shop, version: 1.0.0 }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
security:
  - bearer: []
paths:
  /items:
    get:
      operationId: items
      x-rampart: { public: true, auth: public }
      security: []
      responses: { '200': { description: ok } }
`;

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface Person {
  id: string;
  username: string;
  secret: string;
}

export interface ConsoleLogin {
  cookie: string;
  csrf: string;
  body: Record<string, unknown>;
}

export interface AdminStack {
  app: App;
  clock: ManualClock;
  dir: string;
  adminUrl: string;
  gatewayUrl: string;
  admin: Person;
  viewer: Person;
  /** Any request to the admin listener. */
  call(
    method: string,
    path: string,
    opts?: { body?: unknown; headers?: Record<string, string>; raw?: string },
  ): Promise<Reply>;
  /** A request with a console session (cookie, and the CSRF token unless `csrf: null`). */
  as(
    login: ConsoleLogin,
    method: string,
    path: string,
    body?: unknown,
    opts?: { csrf?: string | null; headers?: Record<string, string> },
  ): Promise<Reply>;
  /** Console sign-in with password + the current TOTP code (advances the clock one step first). */
  signIn(p: Person): Promise<ConsoleLogin>;
  /** An identity-service access token with MFA (password + TOTP over /auth). */
  bearer(p: Person): Promise<string>;
  /**
   * Another App on the same config, store and clock — a second `--workers` process; the
   * caller stops it. `call` speaks to its admin listener.
   */
  startPeer(): Promise<{ app: App; call: AdminStack['call']; close(): Promise<void> }>;
  /** Stops the App and starts it again on the same config and store (a restart). */
  restart(): Promise<void>;
  /** Makes a user with TOTP enrolled. */
  person(username: string, roles: string[], extra?: { displayName?: string }): Promise<Person>;
  code(p: Person): string;
  close(): Promise<void>;
}

export async function startAdminStack(
  opts: {
    sessions?: { idleTimeoutMs?: number; absoluteTimeoutMs?: number };
    config?: Record<string, unknown>;
    posture?: () => Promise<Record<string, unknown> | undefined>;
    /** The store URL (default a SQLite file in the temp folder). */
    store?: string;
  } = {},
): Promise<AdminStack> {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-admin-'));
  const up = await startUpstream();
  await writeFile(join(dir, 'shop.yaml'), SPEC);
  // Real time at the start: the gateway's development certificate is checked against it.
  const clock = new ManualClock(Date.now());
  const raw = {
    listen: { host: '127.0.0.1', port: 0, tls: { devCertDir: join(dir, 'tls') } },
    admin: { host: '127.0.0.1', port: 0 },
    store: opts.store ?? `sqlite://${join(dir, 'rampart.db')}`,
    apis: [{ name: 'shop', upstream: up.url, versions: [{ base: '/v1', spec: join(dir, 'shop.yaml') }] }],
    identity: {
      issuer: 'https://rampart.test/auth',
      keyFile: join(dir, 'kek.key'),
      passwords: { scrypt: { ln: 10, r: 8, p: 1 } },
    },
    monitor: { auditLog: { flushIntervalMs: 20 } },
    // One scheduled scan of the shop API (straight at its upstream), run on demand by the tests.
    scans: {
      results: join(dir, 'scans'),
      jobs: [
        {
          name: 'nightly',
          spec: [join(dir, 'shop.yaml')],
          target: up.url + '/v1',
          interval: 7 * 86_400,
          maxRequests: 60,
          rate: 200,
        },
      ],
    },
    ...opts.config,
  };
  const configPath = join(dir, 'rampart.json');
  await writeFile(configPath, JSON.stringify(raw));
  const config = configFromObject(raw, dir);
  const startApp = () =>
    App.start({
      config,
      baseDir: dir,
      configPath,
      log: silentLogger,
      clock,
      ...(opts.sessions ? { consoleSessions: opts.sessions } : {}),
      ...(opts.posture ? { posture: opts.posture } : {}),
    });
  let app = await startApp();
  let adminUrl = app.admin.url;
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  let gatewayUrl = app.gateway.url;

  const parse = async (r: Awaited<ReturnType<typeof request>>): Promise<Reply> => {
    const text = await r.body.text();
    const type = String(r.headers['content-type'] ?? '');
    return {
      status: r.statusCode,
      headers: r.headers as Reply['headers'],
      text,
      body: /json/.test(type) && text ? JSON.parse(text) : undefined,
    };
  };
  const callAt =
    (base: () => string): AdminStack['call'] =>
    async (method, path, o = {}) =>
      parse(
        await request(base() + path, {
          method: method as 'GET',
          headers: {
            ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}),
            ...o.headers,
          },
          ...(o.body !== undefined
            ? { body: JSON.stringify(o.body) }
            : o.raw !== undefined
              ? { body: o.raw }
              : {}),
        }),
      );
  const auth = (path: string, body: unknown, token?: string) =>
    request(`${gatewayUrl}/auth${path}`, {
      // The gateway's generated development certificate.
      dispatcher: insecure,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    }).then(parse);
  const code = (p: Person) => oathtool(p.secret, clock.now());

  async function person(
    username: string,
    roles: string[],
    extra: { displayName?: string } = {},
  ): Promise<Person> {
    const u = await app.identity!.users.add({ username, password: GOOD_PASSWORD, roles, ...extra });
    const login = await auth('/login', { username, password: GOOD_PASSWORD });
    const token = login.body.access_token as string;
    const enroll = await auth('/totp/enroll', {}, token);
    if (enroll.status !== 200)
      throw new Error(`TOTP enroll failed: ${login.status} ${enroll.status} ${enroll.text}`);
    const secret = enroll.body.secret as string;
    const confirm = await auth('/totp/confirm', { code: oathtool(secret, clock.now()) }, token);
    if (confirm.status !== 200) throw new Error(`TOTP confirm failed: ${confirm.status} ${confirm.text}`);
    clock.advance(30_000);
    return { id: u.id, username, secret };
  }

  const call = callAt(() => adminUrl);
  const admin = await person('root-admin', ['admin']);
  const viewer = await person('watcher', ['viewer']);

  const stack: AdminStack = {
    app,
    clock,
    dir,
    adminUrl,
    gatewayUrl,
    admin,
    viewer,
    call,
    async as(login, method, path, body, o = {}) {
      const csrf = o.csrf === undefined ? login.csrf : o.csrf;
      return call(method, path, {
        ...(body !== undefined ? { body } : {}),
        headers: {
          cookie: `rampart_admin_session=${login.cookie}`,
          ...(csrf ? { 'x-csrf-token': csrf } : {}),
          ...o.headers,
        },
      });
    },
    async signIn(p) {
      clock.advance(30_000);
      const r = await call('POST', '/admin/api/session', {
        body: { username: p.username, password: GOOD_PASSWORD, code: code(p) },
      });
      if (r.status !== 201) throw new Error(`sign-in failed: ${r.status} ${r.text}`);
      const setCookie = String(r.headers['set-cookie']);
      const cookie = /rampart_admin_session=([^;]+)/.exec(setCookie)![1]!;
      return { cookie, csrf: r.body.csrfToken as string, body: r.body };
    },
    async bearer(p) {
      clock.advance(30_000);
      const first = await auth('/login', { username: p.username, password: GOOD_PASSWORD });
      const second = await auth('/login/totp', { mfa_token: first.body.mfa_token, code: code(p) });
      if (second.status !== 200) throw new Error(`login failed: ${second.status}`);
      return second.body.access_token as string;
    },
    person,
    code,
    async startPeer() {
      const peer = await startApp();
      return { app: peer, call: callAt(() => peer.admin.url), close: () => peer.stop() };
    },
    async restart() {
      await stack.app.stop();
      app = await startApp();
      adminUrl = app.admin.url;
      gatewayUrl = app.gateway.url;
      stack.app = app;
      stack.adminUrl = adminUrl;
      stack.gatewayUrl = gatewayUrl;
    },
    async close() {
      await stack.app.stop();
      await insecure.close();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
