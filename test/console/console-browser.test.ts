/**
 * The web console end to end in headless Chromium, against a real App (gateway + lab,
 * identity service, monitor, admin listener serving the built console): the first admin
 * enrols TOTP with the QR code and signs in with a code from oathtool; a passkey signs in
 * passwordless through the DevTools-protocol virtual authenticator; the dashboard's chart
 * moves while traffic flows through the gateway; alerts show the events behind them; an
 * API key is created and rotated (the secret shown once); XSS payloads stored in names
 * render as text; every page is reachable by keyboard, logs no console error (CSP
 * violations included) and has no serious or critical axe-core violation. Screenshots of
 * every page go to test-artifacts/console/.
 *
 * No sleeps: every wait is on a page element, a response or a condition in the page.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/core/findings.ts';
import { simulate } from '../../src/monitor/simulate.ts';
import { ScanHistory } from '../../src/scanner/history.ts';
import { call } from '../helpers/gateway.ts';
import { oathtool } from '../identity/harness.ts';
import {
  axe,
  launchChromium,
  openConsole,
  PASSWORD,
  shot,
  signInTotp as signInWith,
  XSS,
  xssRan,
  type Opened,
} from './browser.ts';
import { registerPasskey, virtualAuthenticator } from './passkey.ts';
import { startConsoleStack, type ConsoleStack } from './stack.ts';

// Browser globals used inside page.evaluate callbacks (the test itself runs in Node, without DOM types).
declare const document: {
  activeElement: { tagName: string; textContent: string | null; blur(): void } | null;
  querySelector(s: string): { getAttribute(n: string): string | null } | null;
};

let s: ConsoleStack;
let browser: Browser;
let adminSecret = '';

beforeAll(async () => {
  s = await startConsoleStack();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

const open = (): Promise<Opened> => openConsole(browser, s.origin);
const signInTotp = (page: Opened['page'], username: string, secret: string) =>
  signInWith(page, s.clock, username, secret);

describe('serving the console', () => {
  it('serves the page and its hashed assets with a strict CSP, caching and gzip; the first load is under 200 KB of JavaScript', async () => {
    const page = await request(`${s.origin}/console/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(page.statusCode).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-encoding']).toBe('gzip');
    const { gunzipSync } = await import('node:zlib');
    const html = gunzipSync(Buffer.from(await page.body.arrayBuffer())).toString('utf8');
    expect(html).not.toMatch(/<script>(?!<)|<script(?![^>]*\bsrc=)[^>]*>|\sstyle=/); // no inline script or style
    const scripts = [...html.matchAll(/<script[^>]*src="\.\/([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBe(1);

    // The first load's JavaScript, as sent (gzip): under 200 KB.
    let jsBytes = 0;
    for (const name of scripts) {
      const r = await request(`${s.origin}/console/${name}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.headers['content-encoding']).toBe('gzip');
      jsBytes += (await r.body.arrayBuffer()).byteLength;
    }
    expect(jsBytes).toBeGreaterThan(10_000); // the real bundle, not an empty file
    expect(jsBytes).toBeLessThan(200 * 1024);
    expect(s.manifest.jsGzipBytes).toBeLessThan(200 * 1024);

    // Without the slash: a redirect (the page's relative URLs need it); anything else under /console/: 404 problem.
    const bare = await request(`${s.origin}/console`);
    expect(bare.statusCode).toBe(308);
    expect(bare.headers.location).toBe('/console/');
    await bare.body.dump();
    const missing = await request(`${s.origin}/console/../admin/../etc/passwd`);
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    expect(((await missing.body.json()) as { type: string }).type).toBe(
      'https://rampart.dev/problems/not-found',
    );
    const other = await request(`${s.origin}/console/app.js`);
    expect(other.statusCode).toBe(404);
    await other.body.dump();
  });

  it('the live summary and the identity relay refuse requests without an admin credential (problem+json)', async () => {
    const live = await request(`${s.origin}/admin/console/live`);
    expect(live.statusCode).toBe(401);
    expect(live.headers['content-type']).toBe('application/problem+json');
    expect(String(live.headers['www-authenticate'])).toContain('Bearer');
    expect(((await live.body.json()) as { type: string }).type).toBe(
      'https://rampart.dev/problems/unauthenticated',
    );
    // Only the endpoints the console needs are relayed: not signup, not the identity service's page.
    for (const path of [
      '/console/auth/signup',
      '/console/auth/ui',
      '/console/auth/passkeys/register/options',
    ]) {
      const r = await request(`${s.origin}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(r.statusCode, path).toBe(404);
      expect(((await r.body.json()) as { type: string }).type).toBe('https://rampart.dev/problems/not-found');
    }
    const users = await request(`${s.origin}/console/auth/admin/users`);
    expect(users.statusCode).toBe(401);
    await users.body.dump();
  });
});

describe('passkey sign-in (CDP virtual authenticator)', () => {
  it('signs in passwordless with a passkey and reaches the dashboard', { timeout: 60_000 }, async () => {
    const username = 'passkey-admin';
    await s.app.identity!.users.add({ username, password: PASSWORD, roles: ['admin'] });
    // Register the passkey over the identity API (a software authenticator), then give
    // the same credential to the browser's virtual authenticator.
    const cred = await registerPasskey(s, username, PASSWORD);

    const o = await open();
    try {
      await virtualAuthenticator(o.context, o.page, cred);
      await o.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await o.page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      await shot(o.page, '11-passkey-signed-in');
      expect(o.problems).toEqual([]);
    } finally {
      await o.context.close();
    }
  });
});

describe('the console in a browser', () => {
  let o: Opened;
  const adminName = 'console-admin';

  beforeAll(async () => {
    await s.app.identity!.users.add({ username: adminName, password: PASSWORD, roles: ['admin'] });
    await s.app.identity!.users.add({
      username: 'xss-user',
      password: PASSWORD,
      displayName: XSS,
    });
    o = await open();
  }, 60_000);
  afterAll(() => o?.context.close());

  it(
    'the first admin enrols TOTP with the QR code, then signs in with password + a code from oathtool',
    { timeout: 60_000 },
    async () => {
      const { page } = o;
      await shot(page, '01-sign-in');
      expect(await axe(page)).toEqual([]);
      await page.getByLabel('Username').fill(adminName);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      // No second factor yet: the enrolment, with the QR code (an image, never markup) and the secret.
      const qr = page.getByRole('img', { name: 'QR code of the authenticator secret' });
      await qr.waitFor();
      expect(await qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml;base64,/);
      adminSecret = (await page.getByTestId('totp-secret').textContent())!.trim();
      expect(adminSecret).toMatch(/^[A-Z2-7]{16,}$/);
      await shot(page, '02-enrolment');
      expect(await axe(page)).toEqual([]);
      await page.getByLabel('Code from your authenticator app').fill(oathtool(adminSecret, s.clock.now()));
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.getByTestId('recovery-codes').waitFor();
      expect(await page.getByTestId('recovery-codes').locator('li').count()).toBe(10);
      await page.getByRole('button', { name: /I saved them/ }).click();

      await signInTotp(page, adminName, adminSecret);
      expect(o.problems).toEqual([]);
    },
  );

  it('a wrong code is refused with the identity service’s problem, shown as text', async () => {
    const other = await open();
    try {
      s.clock.advance(30_000);
      await other.page.getByLabel('Username').fill(adminName);
      await other.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      const good = oathtool(adminSecret, s.clock.now());
      await other.page.getByLabel('Authenticator code').fill(good === '000000' ? '111111' : '000000');
      await other.page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect.poll(() => other.page.getByRole('alert').textContent()).toContain('Wrong code');
      expect(await other.page.getByRole('heading', { name: 'Dashboard' }).count()).toBe(0);
    } finally {
      await other.context.close();
    }
  });

  it('the dashboard’s charts move while requests flow through the gateway', { timeout: 60_000 }, async () => {
    const { page } = o;
    // The chart's last x (epoch seconds) follows the server's closed seconds.
    const lastX = () => page.locator('[data-last]').first().getAttribute('data-last').then(Number);
    for (let i = 1; i <= 4; i++) {
      // Real requests through the gateway: allowed ones and denials (no token on a protected route).
      await Promise.all([
        ...Array.from({ length: 15 }, () => call(`${s.gatewayUrl}/v2/health`)),
        ...Array.from({ length: 3 }, () => call(`${s.gatewayUrl}/v2/records`)),
      ]);
      const second = Math.floor(s.clock.now() / 1000);
      s.clock.advance(1000);
      // The server closes the second on its next tick and pushes it: the chart gains a point.
      await page.waitForFunction(
        (want) => Number(document.querySelector('[data-last]')?.getAttribute('data-last')) >= want,
        second,
      );
      expect(await lastX()).toBe(second);
    }
    await expect.poll(() => page.getByTestId('tile-rps').textContent()).toMatch(/^[1-9]\d*$/);
    expect(Number(await page.getByTestId('tile-denied').textContent())).toBeGreaterThan(0);
    expect(
      await page.getByRole('table', { name: 'Top consumers' }).locator('tbody tr').count(),
    ).toBeGreaterThan(0);
    expect(await page.getByRole('table', { name: 'Top denied IP addresses' }).textContent()).toContain(
      '127.0.0.1',
    );
    expect(await page.getByRole('list', { name: /Denials by OWASP/ }).textContent()).toMatch(
      /API\d+:2023|unknown/,
    );
    await shot(page, '03-dashboard');
    expect(await axe(page)).toEqual([]);
    expect(o.problems).toEqual([]);
  });

  it(
    'every page is reachable by keyboard, has no serious axe violation and no console error',
    { timeout: 90_000 },
    async () => {
      const { page } = o;
      const active = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
      // Before the navigation: the skip link (Shift+Tab from the first link).
      await page.getByRole('navigation', { name: 'Console' }).getByRole('link').first().focus();
      await page.keyboard.press('Shift+Tab');
      expect(await active()).toBe('Skip to content');
      const pages: [string, string][] = [
        ['Alerts', '04-alerts'],
        ['APIs', '05-apis'],
        ['Findings', '06-findings'],
        ['Users and keys', '07-users'],
        ['Posture', '08-posture'],
        ['Dashboard', '09-dashboard-again'],
      ];
      for (const [name, file] of pages) {
        const link = page
          .getByRole('navigation', { name: 'Console' })
          .getByRole('link', { name, exact: true });
        // From the skip link, Tab along the navigation to the page's link.
        await page.getByText('Skip to content').focus();
        for (let i = 0; i < 10 && (await active()) !== name; i++) await page.keyboard.press('Tab');
        expect(await active()).toBe(name);
        await page.keyboard.press('Enter');
        // The page's heading takes the focus (announced by screen readers).
        await page.getByRole('heading', { level: 1, name }).waitFor();
        await expect.poll(() => page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
        expect(await link.getAttribute('aria-current')).toBe('page');
        await page.waitForLoadState('networkidle').catch(() => undefined);
        await shot(page, file);
        expect(await axe(page), name).toEqual([]);
      }
      // The posture page on a server without the posture report says so plainly.
      await page.goto(`${s.origin}/console/#/posture`);
      await page.getByRole('heading', { level: 1, name: 'Posture' }).waitFor();
      await page.locator('[data-testid=not-configured], [data-testid=posture-score]').first().waitFor();
      expect(o.problems).toEqual([]);
    },
  );

  it(
    'users and keys: an API key is created and rotated, its secret shown once; stored XSS renders as text',
    { timeout: 60_000 },
    async () => {
      const { page } = o;
      await page.goto(`${s.origin}/console/#/users`);
      await page.getByRole('heading', { level: 1, name: 'Users and keys' }).waitFor();
      const users = page.getByRole('table', { name: 'Users' });
      await users.getByText(XSS, { exact: true }).waitFor(); // the display name, as text
      expect(await xssRan(page)).toBeUndefined();
      expect(await users.locator('img, script').count()).toBe(0);

      await users.getByRole('button', { name: `Manage ${adminName}` }).click();
      const panel = page.locator('#user-panel');
      await panel.getByLabel('Key name').fill(`deploy ${XSS}`);
      await panel.getByLabel('Scopes').fill('role:admin');
      await panel.getByRole('button', { name: 'Create key' }).click();
      const secret = panel.getByTestId('issued-secret');
      await secret.waitFor();
      const first = (await secret.textContent())!;
      expect(first.length).toBeGreaterThan(20);
      // The key works on the admin listener (role:admin), and its name is text, not markup.
      const inv = await request(`${s.origin}/inventory`, { headers: { authorization: `Bearer ${first}` } });
      expect(inv.statusCode).toBe(200);
      await inv.body.dump();
      await expect.poll(() => panel.getByTestId('key-name').first().textContent()).toBe(`deploy ${XSS}`);
      expect(await panel.locator('table img, table script').count()).toBe(0);

      await panel.getByRole('button', { name: 'I copied it' }).click();
      expect(await panel.getByTestId('issued-secret').count()).toBe(0); // shown once: gone from the page
      expect(await page.content()).not.toContain(first);

      await panel.getByRole('button', { name: `Rotate deploy ${XSS}` }).click();
      await secret.waitFor();
      const second = (await secret.textContent())!;
      expect(second).not.toBe(first);
      expect(await panel.getByTestId('issued-key').textContent()).toContain('The replaced key works until');
      const rotated = await request(`${s.origin}/inventory`, {
        headers: { authorization: `Bearer ${second}` },
      });
      expect(rotated.statusCode).toBe(200);
      await rotated.body.dump();
      await shot(page, '10-api-key-rotated');
      expect(await xssRan(page)).toBeUndefined();
      expect(o.problems).toEqual([]);
    },
  );

  const BRUTE = new Set(['failed-logins', 'failed-logins-per-ip', 'failed-logins-per-account']);
  it(
    'a rule fired by `rampart simulate` is listed with its rule and the events behind it',
    { timeout: 90_000 },
    async () => {
      const { page } = o;
      // Wrong passwords from one address: the brute-force rules fire (the console's own sign-ins are done by now).
      const report = await simulate('brute-force', {
        target: s.gatewayUrl,
        insecure: true,
        maxMs: 20_000,
        waitMs: 0,
      });
      expect(report.sent).toBeGreaterThan(0);
      await expect
        .poll(
          async () =>
            (s.app.monitor!.alerts().active ?? []).filter((a) => a.state === 'firing' && BRUTE.has(a.rule))
              .length,
          {
            timeout: 20_000,
          },
        )
        .toBeGreaterThan(0);
      // One of the brute-force scenario's rules (under load a latency rule may fire too, and its
      // summary's figures and units move while the page loads).
      const firing = s.app.monitor!.alerts().active.find((a) => a.state === 'firing' && BRUTE.has(a.rule))!;
      await page.goto(`${s.origin}/console/#/alerts`);
      await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
      const table = page.getByRole('table', { name: 'open alerts' });
      await table.getByText(firing.rule, { exact: true }).first().waitFor();
      await table
        .getByRole('button', { name: `Show alert ${firing.rule}`, exact: true })
        .first()
        .click();
      const detail = page.locator('#alert-detail');
      // Exact names: 'failed-logins' is a prefix of 'failed-logins-per-ip' and '…-per-account'.
      await detail.getByRole('heading', { name: `Alert ${firing.rule}`, exact: true }).waitFor();
      // The count moves while the alert keeps firing ('61 failed logins' → '63 …').
      await detail
        .getByText(/^\d+ failed logins/)
        .first()
        .waitFor();
      const events = detail.getByRole('table', { name: 'Events behind the alert' });
      await events.locator('tbody tr').first().waitFor();
      expect(await events.textContent()).toContain('127.0.0.1');
      // Keyboard: the status tabs move with the arrow keys.
      await page.getByRole('tab', { name: 'open' }).focus();
      await page.keyboard.press('ArrowRight');
      await expect
        .poll(() => page.getByRole('tab', { name: 'acknowledged' }).getAttribute('aria-selected'))
        .toBe('true');
      await page.keyboard.press('ArrowLeft');
      await shot(page, '12-alert-detail');
      expect(await axe(page)).toEqual([]);
      expect(o.problems).toEqual([]);
    },
  );

  it(
    'findings: new vs fixed, the evidence viewer masks secrets and renders stored markup as text; scan now starts a run',
    { timeout: 60_000 },
    async () => {
      const { page } = o;
      // Two stored runs of the configured scan, in the scanner's own format (as a run writes them).
      const finding = (id: string, title: string, extra: Partial<Finding> = {}): Finding => ({
        id,
        source: 'scan',
        check: 'bola-identity-swap',
        owasp: 'API1:2023',
        severity: 'high',
        confidence: 'firm',
        operation: 'GET /v2/records/{recordId}',
        title,
        description: 'Another patient’s record is readable.',
        evidence: {
          exchanges: [
            {
              request: {
                method: 'GET',
                url: 'http://lab/v2/records/2?access_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXZhbHVl',
                headers: {
                  authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXZhbHVl',
                },
              },
              response: {
                status: 200,
                headers: { 'content-type': 'application/json' },
                body: `{"name":"${XSS}","password":"hunter2-secret"}`,
              },
              note: `as bob: 200 with alice's record ${XSS}`,
              as: 'bob',
            },
          ],
        },
        remediation: {
          summary: 'Check the owner.',
          policy: 'owner',
          xRampart: 'x-rampart:\n  owner: { param: recordId, claim: sub }',
        },
        ...extra,
      });
      const meta = (startedAt: string) => ({
        tool: 'scan' as const,
        target: s.lab.url,
        startedAt,
        finishedAt: startedAt,
        version: 'test',
      });
      const history = new ScanHistory(join(s.dir, 'scans'));
      await history.record(
        'clinic',
        [finding('f-old', 'An old finding, fixed since')],
        meta('2026-11-30T10:00:00.000Z'),
        false,
      );
      await history.record(
        'clinic',
        [finding('f-new', `Record of another patient ${XSS}`)],
        meta('2026-12-01T10:00:00.000Z'),
        false,
      );

      await page.goto(`${s.origin}/console/#/findings`);
      await page.getByRole('heading', { level: 1, name: 'Findings' }).waitFor();
      const card = page.locator('#scan-clinic');
      await card.getByText('1 new').waitFor();
      await card.getByText('1 fixed').waitFor();
      const fresh = card.getByRole('table', { name: 'New findings of clinic' });
      await fresh.getByText(`Record of another patient ${XSS}`, { exact: true }).waitFor();
      await fresh.getByRole('button', { name: /^Evidence/ }).click();
      const ev = page.getByTestId('evidence');
      await ev.waitFor();
      const text = (await ev.textContent())!;
      expect(text).toContain('authorization: «masked»');
      expect(text).toContain('access_token=«masked»');
      expect(text).not.toContain('eyJhbGciOiJIUzI1NiJ9');
      expect(text).not.toContain('hunter2-secret');
      expect(text).toContain(XSS); // the stored markup, as text
      expect(await ev.locator('img, script').count()).toBe(0);
      expect(await page.getByTestId('x-rampart').textContent()).toContain(
        'owner: { param: recordId, claim: sub }',
      );
      await shot(page, '13-evidence');
      expect(await axe(page)).toEqual([]);
      await page.keyboard.press('Escape'); // the dialog closes with the keyboard
      await expect.poll(() => ev.count()).toBe(0);

      await card.getByRole('button', { name: 'Scan now' }).click();
      await card.getByTestId('scan-started').waitFor();
      expect(await xssRan(page)).toBeUndefined();
      expect(o.problems).toEqual([]);
    },
  );

  it(
    'an alert is acknowledged with a note; the note (stored markup) renders as text',
    { timeout: 60_000 },
    async () => {
      const { page } = o;
      await page.goto(`${s.origin}/console/#/alerts`);
      await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
      const table = page.getByRole('table', { name: 'open alerts' });
      const show = table.getByRole('button', { name: /^Show alert/ }).first();
      await show.waitFor();
      const rule = ((await show.textContent()) ?? '').replace(/^Show alert /, '').trim();
      await show.click();
      const detail = page.locator('#alert-detail');
      await detail.getByLabel('Note (kept with the alert)').fill(`on it ${XSS}`);
      await detail.getByRole('button', { name: 'Acknowledge' }).click();
      // It leaves the open tab and shows under acknowledged, with the note as text.
      await page.getByRole('tab', { name: 'acknowledged' }).click();
      const acked = page.getByRole('table', { name: 'acknowledged alerts' });
      await acked.getByText(rule, { exact: true }).first().waitFor();
      // The alert stays open in the detail panel, now with its annotation.
      await acked
        .getByRole('button', { name: `Hide alert ${rule}` })
        .first()
        .waitFor();
      const notes = page.getByTestId('annotations');
      await expect.poll(() => notes.textContent()).toContain(`acknowledge: on it ${XSS}`);
      expect(await notes.locator('img, script').count()).toBe(0);
      expect(await xssRan(page)).toBeUndefined();
      await shot(page, '14-alert-acknowledged');
      expect(o.problems).toEqual([]);
    },
  );

  it('an expired session returns to the sign-in page', { timeout: 30_000 }, async () => {
    const other = await open();
    try {
      // A day on: the brute force of the alerts test no longer throttles sign-ins from this address.
      s.clock.advance(86400_000);
      await signInTotp(other.page, adminName, adminSecret);
      // Past the access token's and the refresh token's lifetime.
      s.clock.advance(40 * 86400_000);
      await other.page.getByRole('link', { name: 'APIs', exact: true }).click();
      await other.page.getByRole('heading', { level: 1, name: 'Rampart console' }).waitFor();
    } finally {
      await other.context.close();
    }
  });
});
