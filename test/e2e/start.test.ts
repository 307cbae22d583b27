import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCli, type Running } from '../helpers/cli-process.ts';
import { call, FIXTURES, rawTls, startUpstream } from '../helpers/gateway.ts';

const config = (upstream: string, extra = '') => `
listen: { host: 127.0.0.1, port: 0, tls: { devCertDir: ./tls } }
admin: { port: 0 }
store: sqlite://./rampart.db
apis:
  - name: shop
    upstream: ${upstream}
    versions:
      - { base: /v2, spec: ${join(FIXTURES, 'gateway/shop-v2.yaml')} }
${extra}`;

describe('rampart start (a real process)', () => {
  let running: Running | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exit;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves, keeps health on the admin listener only, reloads on SIGHUP (refusing a bad config), drains on SIGTERM', async () => {
    const up = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'rampart-start-'));
    const file = join(dir, 'rampart.yaml');
    await writeFile(file, config(up.url));
    running = startCli(['start', '-c', file], dir);
    const gw = (await running.waitFor(/Rampart gateway\s+(https:\/\/\S+)/))[1]!;
    const admin = (await running.waitFor(/Admin \(health\)\s+(http:\/\/\S+)\/healthz/))[1]!;
    await running.waitFor(/self-signed development certificate/);

    expect((await call(`${gw}/v2/items`)).status).toBe(200);
    expect((await call(`${gw}/healthz`)).status).toBe(404);
    expect((await call(`${admin}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await call(`${admin}/readyz`)).json()).toMatchObject({
      status: 'ready',
      checks: { store: 'ok' },
    });

    // A bad config is refused: the old one keeps serving.
    await writeFile(file, config(up.url, 'policies: { cors: { origins: [42] } }'));
    running.child.kill('SIGHUP');
    await running.waitFor(/reload refused/);
    const stillCors = await call(`${gw}/v2/items`, { headers: { origin: 'https://new.example' } });
    expect(stillCors.status).toBe(200);
    expect(stillCors.headers['access-control-allow-origin']).toBeUndefined();

    // A good one is applied.
    await writeFile(file, config(up.url, 'policies: { cors: { origins: ["https://new.example"] } }'));
    running.child.kill('SIGHUP');
    await running.waitFor(/configuration reloaded/);
    const cors = await call(`${gw}/v2/items`, { headers: { origin: 'https://new.example' } });
    expect(cors.headers['access-control-allow-origin']).toBe('https://new.example');

    // Settings bound at start (the store, server-level limits) are reported, not silently ignored.
    await writeFile(
      file,
      config(
        up.url,
        'policies: { cors: { origins: ["https://new.example"] } }\nlimits: { keepAliveTimeoutMs: 1234 }',
      ).replace('sqlite://./rampart.db', 'sqlite://./other.db'),
    );
    running.child.kill('SIGHUP');
    const warned = await running.waitFor(/apply at the next restart/);
    expect(warned.input).toContain('"store"');
    expect(warned.input).toContain('"limits (server)"');
    expect(warned.input).not.toContain('"listen"');
    expect((await call(`${gw}/v2/items`)).status).toBe(200);

    running.child.kill('SIGTERM');
    expect(await running.exit).toBe(0);
    // The last thing a process manager's log shows: it stopped, and why.
    expect(running.lines.join('\n')).toMatch(/"signal":"SIGTERM".*"msg":"stopped"|stopped.*SIGTERM/);
    await up.close();
  });

  it('refuses to start on an invalid config, naming file, line and path', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-start-'));
    const file = join(dir, 'rampart.yaml');
    await writeFile(
      file,
      'listen: { port: 99999 }\napis:\n  - name: Bad Name\n    upstream: http://127.0.0.1:1\n    versions: []\n',
    );
    running = startCli(['start', '-c', file], dir);
    expect(await running.exit).toBe(1);
    const out = running.lines.join('\n');
    expect(out).toMatch(/rampart\.yaml:1:\d+\s+\/listen\/port/);
    expect(out).toMatch(/rampart\.yaml:3:\d+\s+\/apis\/0\/name/);
    expect(out).toMatch(/\/apis\/0\/versions/);
  });

  it('npm start default: the gateway in front of the vulnerable lab', async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-demo-'));
    running = startCli(['start', '--port', '0', '--admin-port', '0', '--data', join(dir, 'data')], dir);
    const gw = (await running.waitFor(/Rampart gateway\s+(https:\/\/\S+)/))[1]!;
    await running.waitFor(/Lab upstream\s+http:\/\/127\.0\.0\.1:\d+/);
    await running.waitFor(/curl -k/);
    expect(running.lines.join('\n')).toMatch(/running the BUILT-IN DEMO/);
    const health = await call(`${gw}/v2/health`);
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toContain('max-age=');
    // Path tricks never reach the lab.
    const trick = await rawTls(
      gw,
      'GET /v2/patients/%2e%2e/admin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
    );
    expect(trick).toMatch(/^HTTP\/1\.1 400 /);
    // The identity service is mounted under /auth, behind the same TLS listener.
    const jwks = await call(`${gw}/auth/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(jwks.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(jwks.headers['strict-transport-security']).toContain('max-age=');
    expect((jwks.json() as { keys: Array<{ alg: string }> }).keys[0]!.alg).toBe('ES256');
    const login = await call(`${gw}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody', password: 'not-the-password-1' }),
    });
    expect(login.status).toBe(401);
    expect(login.json()).toMatchObject({ type: 'https://rampart.dev/problems/invalid-credentials' });
    running.child.kill('SIGINT');
    expect(await running.exit).toBe(0);
  });

  it('honours RAMPART_CONFIG like -c: never the vulnerable demo when a config is named', async () => {
    const up = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'rampart-env-'));
    const file = join(dir, 'mine.yaml');
    await writeFile(file, config(up.url));
    // From a directory with no rampart.yaml, so only the variable names the config.
    const elsewhere = await mkdtemp(join(tmpdir(), 'rampart-cwd-'));
    try {
      running = startCli(['start'], elsewhere, { RAMPART_CONFIG: file });
      const gw = (await running.waitFor(/Rampart gateway\s+(https:\/\/\S+)/))[1]!;
      await running.waitFor(/Ctrl-C stops/);
      expect(running.lines.join('\n')).not.toMatch(/DEMO|Lab upstream/);
      expect((await call(`${gw}/v2/items`)).status).toBe(200);
      expect((await call(`${gw}/v2/health`)).status).toBe(404);
      // The admin listener describes what runs: the inventory needs an admin credential (it
      // lists what is unprotected and who calls what); the changelog is there to publish.
      const admin = (await running.waitFor(/Admin \(health\)\s+(http:\/\/\S+)\/healthz/))[1]!;
      const inv = await call(`${admin}/inventory`);
      expect(inv.status).toBe(401);
      expect(inv.headers['content-type']).toBe('application/problem+json');
      const page = await call(`${admin}/changelog`);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.text).toContain('<h1>API changelog</h1>');
      running.child.kill('SIGTERM');
      expect(await running.exit).toBe(0);

      // A named config that does not exist is an error, not a reason to start the demo.
      running = startCli(['start'], elsewhere, { RAMPART_CONFIG: join(dir, 'typo.yaml') });
      expect(await running.exit).toBe(1);
      expect(running.lines.join('\n')).toMatch(/no configuration at .*typo\.yaml \(from RAMPART_CONFIG\)/);
      expect(running.lines.join('\n')).not.toMatch(/Lab upstream/);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
      await up.close();
    }
  });
});
