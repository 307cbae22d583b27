/**
 * Console sessions in headless Chromium (issue #18): a passkey sign-in (DevTools virtual
 * authenticator, passwordless with user verification) gets the same console session as
 * password + TOTP — the admin API's `HttpOnly; Secure; SameSite=Strict` cookie scoped to
 * /admin and a CSRF token — not a bearer token in the page: no request carries an
 * Authorization header, the script cannot read the cookie, the session survives a reload,
 * and the viewer's live dashboard streams with it. Sign-out ends it on the server.
 */
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPasskey, virtualAuthenticator } from './passkey.ts';
import { startConsoleStack, type ConsoleStack } from './stack.ts';

declare const document: { cookie: string };

const PASSWORD = 'amber-quarry-signal-7305';
let s: ConsoleStack;
let browser: Browser;

beforeAll(async () => {
  s = await startConsoleStack();
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('passkey sign-in creates a console session', () => {
  it(
    'sets the HttpOnly session cookie, sends no bearer token, survives a reload',
    { timeout: 60_000 },
    async () => {
      const username = 'passkey-viewer';
      await s.app.identity!.users.add({ username, password: PASSWORD, roles: ['viewer'] });
      const cred = await registerPasskey(s, username, PASSWORD);
      const before = await s.app.adminApi.sessions!.count();

      const context = await browser.newContext();
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      const problems: string[] = [];
      const bearer: string[] = [];
      const statuses = new Map<string, number>();
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('request', (r) => {
        const path = new URL(r.url()).pathname;
        if (r.headers().authorization !== undefined) bearer.push(`${r.method()} ${path}`);
      });
      page.on('response', (r) => {
        const path = new URL(r.url()).pathname;
        statuses.set(`${r.request().method()} ${path}`, r.status());
      });
      try {
        await virtualAuthenticator(context, page, cred);
        await page.goto(`${s.origin}/console/`);
        const signedIn = page.waitForResponse(
          (r) =>
            new URL(r.url()).pathname === '/admin/api/session/passkey' && r.request().method() === 'POST',
        );
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        const answer = await signedIn;
        expect(answer.status()).toBe(201);
        const setCookie = (await answer.headerValue('set-cookie')) ?? '';
        expect(setCookie).toMatch(
          /^rampart_admin_session=[A-Za-z0-9_-]{43}; Path=\/admin; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
        );
        const body = (await answer.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ user: { username, roles: ['viewer'] }, csrfToken: expect.any(String) });
        expect(JSON.stringify(body)).not.toMatch(/access_token|refresh_token|eyJ/);
        await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
        expect(await s.app.adminApi.sessions!.count()).toBe(before + 1);

        // The cookie as the browser keeps it, and out of the page's reach.
        const cookies = await context.cookies(s.origin + '/admin/api/session');
        expect(cookies).toMatchObject([
          { name: 'rampart_admin_session', path: '/admin', httpOnly: true, secure: true, sameSite: 'Strict' },
        ]);
        expect(await page.evaluate(() => document.cookie)).not.toContain('rampart_admin_session');

        // The live dashboard streams for the viewer with the cookie.
        await expect.poll(() => statuses.get('GET /admin/console/live')).toBe(200);

        // A reload keeps the session (the cookie), which a bearer token in memory would not.
        await page.reload();
        await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
        expect(statuses.get('GET /admin/api/session')).toBe(200);
        expect(bearer).toEqual([]);
        expect(problems).toEqual([]);

        // Sign-out ends the session on the server and clears the cookie.
        await page.getByRole('button', { name: /sign out/i }).click();
        await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
        expect(await s.app.adminApi.sessions!.count()).toBe(before);
        expect(await context.cookies(s.origin + '/admin/api/session')).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  it(
    'a passkey-only admin re-authenticates with the passkey before a sensitive action (no TOTP needed)',
    { timeout: 60_000 },
    async () => {
      const username = 'passkey-admin';
      await s.app.identity!.users.add({ username, password: PASSWORD, roles: ['admin'] });
      const target = await s.app.identity!.users.add({ username: 'passkey-leaver', password: PASSWORD });
      const cred = await registerPasskey(s, username, PASSWORD);
      const context = await browser.newContext();
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      const reauths: number[] = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname === '/admin/api/session/reauth') reauths.push(r.status());
      });
      try {
        await virtualAuthenticator(context, page, cred);
        await page.goto(`${s.origin}/console/`);
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
        await page.goto(`${s.origin}/console/#/users`);
        await page
          .getByRole('table', { name: 'Users' })
          .getByRole('button', { name: 'Manage passkey-leaver', exact: true })
          .click();
        const panel = page.locator('#user-panel');
        await panel.getByRole('heading', { name: 'User passkey-leaver', exact: true }).waitFor();
        // Past the admin API's recent-authentication window (300 s) for a disable.
        s.clock.advance(301_000);
        await panel.getByRole('button', { name: 'Disable', exact: true }).click();
        const dialog = page.getByRole('dialog', { name: 'Confirm it is you', exact: true });
        await dialog.waitFor();
        await dialog.getByRole('button', { name: 'Use a passkey', exact: true }).click();
        await expect.poll(() => dialog.count()).toBe(0);
        await panel.getByRole('button', { name: 'Enable', exact: true }).waitFor();
        expect(reauths).toEqual([200]);
        expect((await s.app.identity!.users.get(target.id))?.disabled).toBeTruthy();
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  it('refuses a passkey session to a user without a console role (403, no cookie)', async () => {
    const username = 'passkey-customer';
    await s.app.identity!.users.add({ username, password: PASSWORD, roles: ['customer'] });
    const cred = await registerPasskey(s, username, PASSWORD);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await virtualAuthenticator(context, page, cred);
      await page.goto(`${s.origin}/console/`);
      const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/api/session/passkey');
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      const r = await refused;
      expect(r.status()).toBe(403);
      expect(r.headers()['content-type']).toBe('application/problem+json');
      expect(((await r.json()) as { type: string }).type).toBe('https://rampart.dev/problems/forbidden');
      expect(await r.headerValue('set-cookie')).toBeNull();
      await page.getByRole('alert').waitFor();
      expect(await context.cookies(s.origin + '/admin/api/session')).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
