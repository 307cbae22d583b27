/**
 * End to end in headless Chromium: the identity service's own page ({prefix}/ui)
 * signs in with a password, registers a passkey through the DevTools-protocol virtual
 * authenticator (CTAP2, internal, resident keys, user verification), signs out, signs
 * in passwordless with the passkey, and the access token carries RFC 8176
 * `amr` = hwk|swk + user + mfa.
 *
 * http://localhost is a secure context, so WebAuthn works without TLS: RP ID
 * `localhost`, origin `http://localhost:<port>`. No sleeps: every wait is on a page
 * element or a response.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACR, createIdentityService } from '../../src/identity/index.ts';
import { openTestStore, type TestStore } from '../helpers/stores.ts';

const CHROMIUM = '/usr/bin/chromium';
const PREFIX = '/auth';
const USERNAME = 'passkey-alice';
// Long enough to be a single factor (NIST SP 800-63B-4: 15), not a common password.
const PASSWORD = 'violet-harbour-lantern-4821';

type IdentityService = Awaited<ReturnType<typeof createIdentityService>>;

function decodeJwtPayload(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWS compact token');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('passkeys in a real browser (Chromium virtual authenticator)', () => {
  let store: TestStore;
  let server: Server;
  let identity: IdentityService;
  let origin: string;
  let browser: Browser;
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-passkeys-e2e-'));
    store = await openTestStore('sqlite');

    // Listen first: the origin (with its ephemeral port) is part of the RP config.
    let handler: (
      req: Parameters<IdentityService['handle']>[0],
      res: Parameters<IdentityService['handle']>[1],
    ) => unknown = (_req, res) => {
      res.statusCode = 503;
      res.end();
    };
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    origin = `http://localhost:${port}`;

    identity = await createIdentityService({
      db: store.db,
      keyEncryptionKey: randomBytes(32),
      background: false,
      config: {
        prefix: PREFIX,
        issuer: `${origin}${PREFIX}`,
        keyFile: join(tmp, 'identity-kek.key'), // not used: the key is passed in
        passkeys: { rpId: 'localhost', rpName: 'Rampart e2e', origins: [origin] },
        // Cheaper scrypt than production (ln 17): password hashing is not under test here.
        passwords: { scrypt: { ln: 12 } },
      },
    });
    handler = (req, res) => identity.handle(req, res);
    await identity.users.add({ username: USERNAME, password: PASSWORD });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await identity?.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await store?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** A fresh browser context (its own profile state) with one virtual authenticator. */
  async function openPage(backup: { eligible: boolean; state: boolean }): Promise<{
    context: BrowserContext;
    page: Page;
    cdp: CDPSession;
    authenticatorId: string;
    problems: string[];
  }> {
    const context = await browser.newContext();
    // Fail a step with a named locator error well before the test timeout.
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text()))
        problems.push(`console: ${msg.text()}`);
    });
    page.on('dialog', (dialog) => void dialog.accept()); // "Remove this passkey?"
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
        defaultBackupEligibility: backup.eligible,
        defaultBackupState: backup.state,
      },
    });
    const ui = await page.goto(`${origin}${PREFIX}/ui`);
    expect(ui?.status()).toBe(200);
    await page
      .locator('body[data-ready="true"]')
      .waitFor()
      .catch((err: unknown) => {
        throw new Error(`The page script did not start: ${problems.join('; ') || 'no error reported'}`, {
          cause: err,
        });
      });
    return { context, page, cdp, authenticatorId, problems };
  }

  let current: BrowserContext | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  /** Submits the password form and waits for what should follow: the account, or the second step. */
  async function signInWithPassword(page: Page, next: 'signed-in' | 'mfa-step' = 'signed-in'): Promise<void> {
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByTestId('login-submit').click();
    await page.getByTestId(next).waitFor();
  }

  /** Clicks a passkey sign-in button and returns the verify call's answer. */
  async function passkeySignIn(
    page: Page,
    button: 'passkey-login' | 'mfa-passkey',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const verify = page.waitForResponse(
      (r) => r.url().endsWith(`${PREFIX}/passkeys/login/verify`) && r.request().method() === 'POST',
    );
    await page.getByTestId(button).click();
    const res = await verify;
    return { status: res.status(), body: (await res.json()) as Record<string, unknown> };
  }

  // Several scrypt password checks (OWASP parameters) and browser round trips: allow more than the default 30 s.
  it(
    'registers a passkey after a password sign-in, then signs in passwordless with it (amr hwk+user+mfa)',
    { timeout: 120_000 },
    async () => {
      const { context, page, cdp, authenticatorId, problems } = await openPage({
        eligible: false,
        state: false,
      });
      current = context;

      // 1. Password sign-in (no second factor yet: one step).
      await signInWithPassword(page);
      expect(await page.getByTestId('session-amr').textContent()).toBe('pwd');
      await page.getByTestId('passkeys-empty').waitFor();

      // 2. Register a passkey (navigator.credentials.create through the virtual authenticator).
      await page.getByLabel('Name for the new passkey').fill('Virtual authenticator');
      await page.getByTestId('passkey-register').click();
      await page.getByTestId('passkey-item').first().waitFor();
      expect(await page.getByTestId('passkey-item-name').allTextContents()).toEqual([
        'Virtual authenticator',
      ]);
      expect(await page.getByTestId('status').textContent()).toContain('added');
      // The first second factor comes with recovery codes, shown once.
      await page.getByTestId('recovery-codes').waitFor();
      expect(await page.getByTestId('recovery-list').locator('li').count()).toBe(10);
      await page.getByTestId('recovery-done').click();
      await page.getByTestId('recovery-codes').waitFor({ state: 'hidden' });

      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0]?.isResidentCredential).toBe(true); // discoverable: usable without a username
      expect(credentials[0]?.rpId).toBe('localhost');

      // 3. Sign out: the in-memory token is gone.
      await page.getByTestId('logout').click();
      await page.getByTestId('signed-out').waitFor();

      // 4. Passwordless sign-in with the passkey.
      const { status, body } = await passkeySignIn(page, 'passkey-login');
      expect(status).toBe(200);
      expect(typeof body.access_token).toBe('string');
      await page.getByTestId('signed-in').waitFor();

      const claims = decodeJwtPayload(body.access_token as string);
      expect(claims.amr).toEqual(expect.arrayContaining(['hwk', 'user', 'mfa']));
      expect(claims.amr).not.toContain('pwd');
      expect(claims.amr).not.toContain('swk');
      expect(claims.acr).toBe(ACR.mfa);
      expect(claims.iss).toBe(`${origin}${PREFIX}`);
      expect(typeof claims.sub).toBe('string');
      expect(typeof claims.auth_time).toBe('number');
      expect(await page.getByTestId('session-amr').textContent()).toBe('hwk, user, mfa');
      expect(await page.getByTestId('session-sub').textContent()).toBe(USERNAME);

      // The authenticator's signature counter moved and the server stored it.
      const stored = async () =>
        store.db.one<{ counter: number; last_used_at: number | null }>(
          'SELECT counter, last_used_at FROM passkeys WHERE user_id = $1',
          [claims.sub as string],
        );
      const signCount = async () =>
        (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]?.signCount;
      expect(Number((await stored())?.counter)).toBe(await signCount());
      expect((await stored())?.last_used_at).not.toBeNull();

      // Tokens never touch web storage (expressions as strings: this file has no DOM types).
      expect(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]')).toEqual([
        0,
        0,
        '',
      ]);

      // 5. The password alone no longer suffices: the passkey is the second step.
      await page.getByTestId('logout').click();
      await page.getByTestId('signed-out').waitFor();
      await signInWithPassword(page, 'mfa-step');
      expect(await page.getByTestId('totp-form').isVisible()).toBe(false); // no TOTP enrolled
      const second = await passkeySignIn(page, 'mfa-passkey');
      expect(second.status).toBe(200);
      await page.getByTestId('signed-in').waitFor();
      expect(decodeJwtPayload(second.body.access_token as string).amr).toEqual(['pwd', 'hwk', 'user', 'mfa']);
      expect(Number((await stored())?.counter)).toBe(await signCount());

      // 6. Remove the passkey: it no longer signs in, though the authenticator still holds it.
      await page.getByTestId('passkey-remove').click();
      await page.getByTestId('passkeys-empty').waitFor();
      await page.getByTestId('logout').click();
      await page.getByTestId('signed-out').waitFor();
      const refused = await passkeySignIn(page, 'passkey-login');
      expect(refused.status).toBe(401);
      await page.locator('[data-testid="error"]:not([hidden])').waitFor();
      expect(await page.getByTestId('signed-in').isVisible()).toBe(false);

      // No CSP violations or script errors (the refused sign-in's 401 is expected).
      expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    },
  );

  it('a synced (backed-up) passkey signs in with amr swk+user+mfa', { timeout: 60_000 }, async () => {
    const { context, page, problems } = await openPage({ eligible: true, state: true });
    current = context;
    await signInWithPassword(page);
    await page.getByLabel('Name for the new passkey').fill('Synced passkey');
    await page.getByTestId('passkey-register').click();
    await page.locator('[data-testid="passkey-item-name"]', { hasText: 'Synced passkey' }).waitFor();
    await page.getByTestId('logout').click();
    await page.getByTestId('signed-out').waitFor();

    const { status, body } = await passkeySignIn(page, 'passkey-login');
    expect(status).toBe(200);
    const claims = decodeJwtPayload(body.access_token as string);
    expect(claims.amr).toEqual(expect.arrayContaining(['swk', 'user', 'mfa']));
    expect(claims.amr).not.toContain('hwk');
    expect(problems).toEqual([]);
  });
});
