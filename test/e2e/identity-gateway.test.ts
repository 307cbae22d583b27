/**
 * Issue #19: the gateway trusting the REAL identity service's issuer (App composition
 * with an `identity:` section, as `rampart start` runs it): password + TOTP (codes from
 * oathtool), an MFA-protected operation, logout → 401, a disabled user → 401. No test
 * issuer anywhere: the tokens are minted by LocalTokenIssuer over the real login API.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, configFromObject } from '../../src/cli/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { call, startUpstream } from '../helpers/gateway.ts';
import { GOOD_PASSWORD, oathtool } from '../identity/harness.ts';

const P = 'https://rampart.dev/problems/';
const SPEC = `openapi: 3.1.0
info: { title: Vault, version: 1.0.0 }
components:
  securitySchemes:
    bearer: { type: http, scheme: bearer, bearerFormat: JWT }
security:
  - bearer: []
paths:
  /profile:
    get:
      operationId: profile
      responses: { '200': { description: ok } }
  /secrets:
    get:
      operationId: secrets
      x-rampart: { mfa: required }
      responses: { '200': { description: ok } }
`;

describe('gateway + real identity service (one App, like rampart start)', () => {
  let up: Awaited<ReturnType<typeof startUpstream>>;
  let app: App;
  let dir: string;
  let gw: string;
  const clock = new ManualClock(Date.now());

  const json = (path: string, body: unknown, token?: string) =>
    call(`${gw}/auth${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
  const api = (path: string, token: string) =>
    call(`${gw}/v1${path}`, { headers: { authorization: `Bearer ${token}` } });

  function expect401(r: Awaited<ReturnType<typeof call>>): void {
    expect(r.status, r.text).toBe(401);
    expect(String(r.headers['www-authenticate'])).toMatch(/^Bearer realm="rampart"/);
    expect((r.json() as { type: string }).type).toBe(P + 'invalid-token');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  }

  beforeAll(async () => {
    up = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'rampart-id-e2e-'));
    await writeFile(join(dir, 'vault.yaml'), SPEC);
    const config = configFromObject(
      {
        listen: { host: '127.0.0.1', port: 0, tls: { devCertDir: join(dir, 'tls') } },
        admin: { host: '127.0.0.1', port: 0 },
        store: 'sqlite::memory:',
        apis: [
          { name: 'vault', upstream: up.url, versions: [{ base: '/v1', spec: join(dir, 'vault.yaml') }] },
        ],
        identity: {
          issuer: 'https://rampart.test/auth',
          keyFile: join(dir, 'kek.key'),
          passwords: { scrypt: { ln: 10, r: 8, p: 1 } },
        },
      },
      dir,
    );
    app = await App.start({ config, baseDir: dir, log: silentLogger, clock });
    gw = app.gateway.url;
  });
  afterAll(async () => {
    await app?.stop();
    await up?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('password + TOTP reaches the MFA operation; a password-only token does not; logout and disabling revoke', async () => {
    const username = 'e2e-alice';
    await app.identity!.users.add({ username, password: GOOD_PASSWORD, roles: ['customer'] });

    // Password only: the profile is reachable, the MFA operation is not.
    const pwd = await json('/login', { username, password: GOOD_PASSWORD });
    expect(pwd.status, pwd.text).toBe(200);
    const pwdToken = (pwd.json() as { access_token: string }).access_token;
    expect((await api('/profile', pwdToken)).status).toBe(200);
    const noMfa = await api('/secrets', pwdToken);
    expect(noMfa.status, noMfa.text).toBe(401);
    expect((noMfa.json() as { type: string }).type).toBe(P + 'insufficient-user-authentication');
    expect(String(noMfa.headers['www-authenticate'])).toMatch(/insufficient_user_authentication/);
    expect(up.seen.some((s) => s.url === '/v1/secrets')).toBe(false);

    // Enrol TOTP with that session; the confirmation code is from oathtool.
    const enrol = await json('/totp/enroll', {}, pwdToken);
    expect(enrol.status, enrol.text).toBe(200);
    const secret = (enrol.json() as { secret: string }).secret;
    const confirm = await json('/totp/confirm', { code: oathtool(secret, clock.now()) }, pwdToken);
    expect(confirm.status, confirm.text).toBe(200);
    clock.advance(30_000);

    // Password, then the TOTP step: a token with amr mfa, accepted by the MFA operation.
    const first = await json('/login', { username, password: GOOD_PASSWORD });
    const mfaToken = (first.json() as { mfa_token: string }).mfa_token;
    expect(mfaToken).toMatch(/^rmt_/);
    const second = await json('/login/totp', { mfa_token: mfaToken, code: oathtool(secret, clock.now()) });
    expect(second.status, second.text).toBe(200);
    const session = second.json() as { access_token: string; refresh_token: string };
    const ok = await api('/secrets', session.access_token);
    expect(ok.status, ok.text).toBe(200);
    const seen = up.seen.find((s) => s.url === '/v1/secrets')!;
    // The upstream learns who called, as the identity service's issuer vouched for it.
    expect(seen.headers['x-authenticated-issuer']).toBe('https://rampart.test/auth');
    expect(seen.headers['x-authenticated-user']).toBe((await app.identity!.users.get(username))!.id);

    // Logout: the same access token is now refused at the gateway.
    const out = await json('/logout', { refresh_token: session.refresh_token }, session.access_token);
    expect([200, 204]).toContain(out.status);
    expect401(await api('/secrets', session.access_token));
    expect401(await api('/profile', session.access_token));

    // A new session, then the user is disabled: refused at once.
    clock.advance(30_000);
    const again = await json('/login', { username, password: GOOD_PASSWORD });
    const third = await json('/login/totp', {
      mfa_token: (again.json() as { mfa_token: string }).mfa_token,
      code: oathtool(secret, clock.now()),
    });
    const token = (third.json() as { access_token: string }).access_token;
    expect((await api('/secrets', token)).status).toBe(200);
    await app.identity!.users.disable(username);
    expect401(await api('/secrets', token));
    expect401(await api('/profile', pwdToken));
  });
});
