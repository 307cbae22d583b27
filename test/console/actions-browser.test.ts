/**
 * The console's actions end to end in headless Chromium, against the real stack
 * (test/console/stack.ts): an alert fired by a real probe is silenced until a time, leaves
 * the open list, comes back when the silence ends (ManualClock) and is resolved; a user's
 * MFA is reset and a user disabled (checked on the identity API: no second factor asked, no
 * sign-in); an action past the recent-authentication window opens the re-authentication
 * dialog, which refuses a wrong code with an accessible error and then lets the action
 * through; a revoked API key gets 401; the posture page shows the report of the running
 * config — items, scores, the trend, the next actions — with stored markup inert; the
 * dashboard receives one bounded summary per second while 5,000 events/s hit the bus.
 * Stored markup (alert labels and notes, posture texts, a consumer on the APIs page and on
 * the dashboard) renders as text.
 *
 * No sleeps: every wait is on a page element, a response or a condition.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, CDPSession } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postureReport } from '../../src/cli/posture-input.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { renderJson } from '../../src/report/json.ts';
import { oathtool } from '../identity/harness.ts';
import {
  axe,
  enrolTotp,
  identityPost,
  launchChromium,
  openConsole,
  PASSWORD,
  shot,
  signInTotp,
  XSS,
  xssRan,
  type Opened,
} from './browser.ts';
import { startConsoleStack, type ConsoleStack } from './stack.ts';

// Browser globals used inside page.evaluate callbacks.
declare const document: {
  activeElement: { id: string } | null;
  querySelector(s: string): { getAttribute(n: string): string | null } | null;
};

let s: ConsoleStack;
let browser: Browser;
let o: Opened;
let adminSecret = '';
const ADMIN = 'ops-admin';
const users: Record<string, string> = {};

/** `datetime-local` value of an epoch time (the browser context runs in UTC). */
const localTime = (ms: number): string => new Date(ms).toISOString().slice(0, 19);

beforeAll(async () => {
  s = await startConsoleStack();
  browser = await launchChromium();
  const id = s.app.identity!;
  users[ADMIN] = (await id.users.add({ username: ADMIN, password: PASSWORD, roles: ['admin'] })).id;
  adminSecret = await enrolTotp(s.gatewayUrl, s.clock, ADMIN);
  users['mfa-holder'] = (await id.users.add({ username: 'mfa-holder', password: PASSWORD })).id;
  await enrolTotp(s.gatewayUrl, s.clock, 'mfa-holder');
  users['leaver'] = (await id.users.add({ username: 'leaver', password: PASSWORD })).id;
  o = await openConsole(browser, s.origin);
  await signInTotp(o.page, s.clock, ADMIN, adminSecret);
}, 120_000);

afterAll(async () => {
  await o?.context.close();
  await browser?.close();
  await s?.close();
});

const login = (username: string) => identityPost(s.gatewayUrl, '/login', { username, password: PASSWORD });

async function manage(username: string) {
  const { page } = o;
  await page.goto(`${s.origin}/console/#/users`);
  await page.getByRole('heading', { level: 1, name: 'Users and keys' }).waitFor();
  await page
    .getByRole('table', { name: 'Users' })
    .getByRole('button', { name: `Manage ${username}`, exact: true })
    .click();
  const panel = o.page.locator('#user-panel');
  await panel.getByRole('heading', { name: `User ${username}`, exact: true }).waitFor();
  return panel;
}

const userRow = (username: string) =>
  o.page
    .getByRole('table', { name: 'Users' })
    .getByRole('row')
    .filter({ has: o.page.getByTestId('username').getByText(username, { exact: true }) });

describe('users and keys', () => {
  it('reset MFA: the user’s TOTP is gone, the identity service no longer asks for a code', async () => {
    const before = await login('mfa-holder');
    expect(before.status).toBe(200);
    expect(before.body.mfa_required).toBe(true);
    expect(before.body.access_token).toBeUndefined();

    const panel = await manage('mfa-holder');
    await expect.poll(() => userRow('mfa-holder').textContent()).toContain('TOTP');
    await panel.getByRole('button', { name: 'Reset MFA', exact: true }).click();
    await expect.poll(() => userRow('mfa-holder').textContent()).toContain('not enrolled');
    // Within the recent-authentication window: no dialog was needed.
    expect(await o.page.getByRole('dialog').count()).toBe(0);

    const after = await login('mfa-holder');
    expect(after.status).toBe(200);
    expect(after.body.mfa_required).toBeUndefined();
    expect(typeof after.body.access_token).toBe('string');
    expect(o.problems).toEqual([]);
  });

  it(
    'past the recent-authentication window, disabling a user asks to re-authenticate; a wrong code is refused in the dialog, then the action succeeds and the user cannot sign in',
    { timeout: 60_000 },
    async () => {
      const { page } = o;
      expect((await login('leaver')).status).toBe(200);
      // The admin API wants an authentication at most 300 s old for this change.
      s.clock.advance(301_000);
      o.allow.push(
        /^401 POST \/admin\/api\/users\/[^/]+\/disable$/, // insufficient-user-authentication, then the dialog
        /^401 POST \/admin\/api\/session\/reauth$/, // the wrong code
      );
      const panel = await manage('leaver');
      await panel.getByRole('button', { name: 'Disable', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Confirm it is you', exact: true });
      await dialog.waitFor();
      const codeField = dialog.getByLabel('Authenticator code', { exact: true });
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('reauth-code');
      expect(await axe(page)).toEqual([]);
      await shot(page, '20-reauth-dialog');
      // Escape cancels: the action stays refused, its problem shown, the user untouched.
      await page.keyboard.press('Escape');
      await expect.poll(() => dialog.count()).toBe(0);
      await expect.poll(() => panel.getByRole('alert').textContent()).toContain('more recent authentication');
      expect((await login('leaver')).status).toBe(200);
      await panel.getByRole('button', { name: 'Disable', exact: true }).click();
      await dialog.waitFor();

      const good = oathtool(adminSecret, s.clock.now());
      await codeField.fill(good === '000000' ? '111111' : '000000');
      await dialog.getByRole('button', { name: 'Confirm', exact: true }).click();
      const error = dialog.getByRole('alert');
      await expect.poll(() => error.textContent()).toContain('Wrong code');
      expect(await dialog.isVisible()).toBe(true); // still asking, still signed in
      await shot(page, '21-reauth-wrong-code');
      expect(await axe(page)).toEqual([]);
      expect((await login('leaver')).status).toBe(200); // nothing changed yet
      await expect.poll(() => userRow('leaver').textContent()).toContain('active');

      // The keyboard is enough: the field keeps the focus after the refusal; Enter submits.
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('reauth-code');
      await page.keyboard.type(good);
      await page.keyboard.press('Enter');
      await expect.poll(() => dialog.count()).toBe(0);
      await expect.poll(() => userRow('leaver').textContent()).toContain('disabled');
      await panel.getByRole('button', { name: 'Enable', exact: true }).waitFor();

      // Disabled: the right password no longer signs in (the same answer as a wrong one).
      const refused = await login('leaver');
      expect(refused.status).toBe(401);
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(refused.body.type).toBe('https://rampart.dev/problems/invalid-credentials');
      expect(o.problems).toEqual([]);
    },
  );

  it('a revoked API key gets 401 from the admin listener', { timeout: 30_000 }, async () => {
    const panel = await manage(ADMIN);
    await panel.getByLabel('Key name').fill('to-revoke');
    await panel.getByLabel('Scopes').fill('role:admin');
    await panel.getByRole('button', { name: 'Create key', exact: true }).click();
    const secret = panel.getByTestId('issued-secret');
    await secret.waitFor();
    const key = (await secret.textContent())!;
    const inv = await request(`${s.origin}/inventory`, { headers: { authorization: `Bearer ${key}` } });
    expect(inv.statusCode).toBe(200);
    await inv.body.dump();
    await panel.getByRole('button', { name: 'I copied it', exact: true }).click();

    await panel.getByRole('button', { name: 'Revoke to-revoke', exact: true }).click();
    await expect
      .poll(() => panel.getByTestId('key-name').getByText('to-revoke', { exact: true }).count())
      .toBe(0);
    const revoked = await request(`${s.origin}/inventory`, { headers: { authorization: `Bearer ${key}` } });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.headers['content-type']).toBe('application/problem+json');
    expect(String(revoked.headers['www-authenticate'])).toContain('Bearer');
    expect(((await revoked.body.json()) as { type: string }).type).toMatch(
      /^https:\/\/rampart\.dev\/problems\/(unauthenticated|invalid-credentials|invalid-token)$/,
    );
    await shot(o.page, '22-api-key-revoked');
    expect(o.problems).toEqual([]);
  });
});

const RULE = 'failed-logins-per-account';

describe('alerts', () => {
  it(
    'an alert with markup in a label: silenced until a time it leaves the open list and comes back when the silence ends; then it is resolved',
    { timeout: 60_000 },
    async () => {
      const { page } = o;
      // Failed sign-ins of one account, as an identity provider reports them on the event bus
      // (the built-in one names accounts by a keyed hash; another may pass the name through).
      for (let i = 0; i < 60; i++)
        s.app.events.emit({
          type: 'auth',
          at: s.clock.now(),
          ip: '203.0.113.7',
          action: 'login',
          outcome: 'failure',
          account: XSS,
          reason: 'bad-password',
        });
      await expect
        .poll(
          () =>
            s.app
              .monitor!.alerts()
              .active.filter((a) => a.rule === RULE && a.state === 'firing' && a.labels.account === XSS)
              .length,
          { timeout: 20_000 },
        )
        .toBe(1);

      await page.goto(`${s.origin}/console/#/alerts`);
      await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
      const open = page.getByRole('table', { name: 'open alerts', exact: true });
      const show = open.getByRole('button', { name: `Show alert ${RULE}`, exact: true });
      await show.click();
      const detail = page.locator('#alert-detail');
      await detail.getByRole('heading', { name: `Alert ${RULE}`, exact: true }).waitFor();
      // The label, markup and all, is text.
      await expect.poll(() => detail.textContent()).toContain(`account=${XSS}`);
      expect(await detail.locator('img, script').count()).toBe(0);
      expect(await xssRan(page)).toBeUndefined();

      // Silenced for 30 s (the failures stay in the rule's one-minute window: it keeps firing).
      const until = s.clock.now() + 30_000;
      await detail.getByLabel('Note (kept with the alert)').fill(`known scanner ${XSS}`);
      await detail.getByLabel('Silence until').fill(localTime(until));
      await detail.getByRole('button', { name: 'Silence', exact: true }).click();
      await expect
        .poll(() => open.getByRole('button', { name: `Hide alert ${RULE}`, exact: true }).count())
        .toBe(0);
      await page.getByRole('tab', { name: 'silenced', exact: true }).click();
      const silenced = page.getByRole('table', { name: 'silenced alerts', exact: true });
      await silenced.getByRole('button', { name: `Hide alert ${RULE}`, exact: true }).waitFor(); // the detail stays open across tabs
      await expect
        .poll(() => detail.textContent())
        .toContain(`Silenced until${new Date(until).toISOString().replace('T', ' ').slice(0, 19)}Z`);
      const notes = page.getByTestId('annotations');
      await expect.poll(() => notes.textContent()).toContain(`silence: known scanner ${XSS}`);
      expect(await notes.locator('img, script').count()).toBe(0);
      await shot(page, '23-alert-silenced');

      // The silence ends: the alert is open again.
      s.clock.advance(31_000);
      await page.getByRole('tab', { name: 'open', exact: true }).click();
      await open.getByRole('button', { name: `Hide alert ${RULE}`, exact: true }).waitFor(); // the detail stays open across tabs
      await detail.getByRole('heading', { name: `Alert ${RULE}`, exact: true }).waitFor();
      await expect.poll(() => detail.textContent()).toContain('(firing)');
      await expect.poll(() => detail.getByText('Silenced until').count()).toBe(0);

      await detail.getByLabel('Note (kept with the alert)').fill('password reset sent');
      await detail.getByRole('button', { name: 'Resolve', exact: true }).click();
      await expect
        .poll(() => open.getByRole('button', { name: `Hide alert ${RULE}`, exact: true }).count())
        .toBe(0);
      await page.getByRole('tab', { name: 'resolved', exact: true }).click();
      const resolved = page.getByRole('table', { name: 'resolved alerts', exact: true });
      await resolved.getByRole('button', { name: `Hide alert ${RULE}`, exact: true }).waitFor(); // the detail stays open across tabs
      await expect.poll(() => notes.textContent()).toContain('resolve: password reset sent');
      // A resolved alert offers no more actions.
      expect(await detail.getByRole('button', { name: 'Resolve', exact: true }).count()).toBe(0);
      await shot(page, '24-alert-resolved');
      expect(await axe(page)).toEqual([]);
      expect(await xssRan(page)).toBeUndefined();
      expect(o.problems).toEqual([]);
    },
  );
});

describe('APIs', () => {
  it('a consumer of a deprecated version named with markup (an OAuth client id) renders as text', async () => {
    const { page } = o;
    // What the versions policy emits for a call to the deprecated /v1 (a client id is chosen by its issuer).
    s.app.events.emit({
      type: 'deprecated-version-used',
      at: s.clock.now(),
      ip: '203.0.113.8',
      api: 'clinic',
      version: '/v1',
      method: 'GET',
      route: '/v1/records',
      state: 'deprecated',
      consumer: XSS,
      consumerKind: 'client',
    });
    await page.goto(`${s.origin}/console/#/apis`);
    await page.getByRole('heading', { level: 1, name: 'APIs' }).waitFor();
    const table = page.getByRole('table', { name: 'Consumers of deprecated versions', exact: true });
    await table.getByText(`${XSS} (client)`, { exact: true }).waitFor();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await xssRan(page)).toBeUndefined();
    await shot(page, '27-apis-deprecated-consumer');
    expect(o.problems).toEqual([]);
  });
});

describe('posture', () => {
  it(
    'shows the running config’s report: items, scores, the trend and the next actions; stored markup stays text',
    { timeout: 90_000 },
    async () => {
      const { page } = o;
      // A code-scan report whose target and fix carry markup (posture quotes both).
      mkdirSync(s.codeReports, { recursive: true });
      const at = new Date(s.clock.now() - 86400_000).toISOString();
      writeFileSync(
        join(s.codeReports, 'code.json'),
        renderJson(
          [
            {
              id: 'code-1',
              source: 'code',
              check: 'sql-injection',
              owasp: 'API8:2023',
              severity: 'medium',
              confidence: 'firm',
              title: `String-built SQL ${XSS}`,
              description: 'A query built from a request field.',
              evidence: { location: { file: 'src/db.ts', line: 12 } },
              remediation: { summary: `Use a bound parameter ${XSS}` },
            },
          ],
          { tool: 'code', target: `repo ${XSS}`, startedAt: at, finishedAt: at, version: 'test' },
        ),
      );
      // Two recorded runs (what `rampart posture` appends to the history), a minute apart.
      const first = await postureReport(s.postureSource, s.clock);
      s.clock.advance(60_000);
      const second = await postureReport(s.postureSource, s.clock);

      await page.goto(`${s.origin}/console/#/posture`);
      await page.getByRole('heading', { level: 1, name: 'Posture' }).waitFor();
      const score = page.getByTestId('posture-score');
      await score.waitFor({ timeout: 60_000 });
      expect(await score.textContent()).toMatch(/^\d{1,3} \/ 100$/);
      expect(await page.getByTestId('posture-trend').textContent()).toContain(
        `${first.score} → ${second.score}`,
      );
      expect(await page.getByRole('table', { name: 'Recorded runs' }).locator('tbody tr').count()).toBe(2);

      const checklist = page.getByRole('table', { name: 'Checklist', exact: true });
      const owasp = page.getByRole('table', { name: 'OWASP API Security Top 10 (2023)', exact: true });
      for (const [table, items] of [
        [checklist, second.checklist],
        [owasp, second.owasp],
      ] as const) {
        expect(await table.getByRole('button').count()).toBe(10);
        for (const item of items) {
          const row = table
            .getByRole('row')
            .filter({ has: page.getByRole('button', { name: item.title, exact: true }) });
          expect(await row.locator('.badge').textContent()).toBe(String(item.score));
        }
      }
      const next = page.getByRole('list', { name: 'Next actions, highest gain first' });
      expect(await next.locator('li').count()).toBe(second.actions.length);
      expect(await next.locator('li').first().textContent()).toContain(`+${second.actions[0]!.gain} points`);

      // Keyboard: an item's criteria unfold with Enter on its button.
      const item = owasp.getByRole('button', { name: 'Security Misconfiguration', exact: true });
      await item.focus();
      await page.keyboard.press('Enter');
      expect(await item.getAttribute('aria-expanded')).toBe('true');
      const criteria = page.getByRole('table', {
        name: 'Criteria of Security Misconfiguration',
        exact: true,
      });
      await criteria.waitFor();
      // The stored markup (the report's target, the finding's fix) is text in the evidence and the actions.
      await expect.poll(() => criteria.textContent()).toContain(`repo ${XSS}`);
      expect(await next.textContent()).toContain(`Use a bound parameter ${XSS}`);
      expect(await page.locator('main img, main script').count()).toBe(0);
      expect(await xssRan(page)).toBeUndefined();
      await shot(page, '25-posture');
      expect(await axe(page)).toEqual([]);
      expect(o.problems).toEqual([]);
    },
  );
});

describe('the dashboard at 5,000 events/s', () => {
  it(
    'the server aggregates: one bounded summary a second reaches the browser, not the events',
    { timeout: 60_000 },
    async () => {
      const { page } = o;
      await page.goto(`${s.origin}/console/#/dashboard`);
      await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      // What the browser receives on the live stream, byte by byte (DevTools protocol).
      const cdp: CDPSession = await o.context.newCDPSession(page);
      await cdp.send('Network.enable');
      let liveId: string | undefined;
      let bytes = 0;
      cdp.on('Network.requestWillBeSent', (e) => {
        if (new URL(e.request.url).pathname === '/admin/console/live') liveId = e.requestId;
      });
      cdp.on('Network.dataReceived', (e) => {
        if (e.requestId === liveId) bytes += e.dataLength;
      });
      // Reconnect so the stream is seen from its start.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      await expect.poll(() => liveId).toBeDefined();
      await page.locator('[data-last]').first().waitFor();
      // Let the history message arrive, then count only what the next seconds add.
      s.clock.advance(1000);
      const start = Math.floor(s.clock.now() / 1000);
      await page.waitForFunction(
        (want) => Number(document.querySelector('[data-last]')?.getAttribute('data-last')) >= want,
        start - 1,
      );
      const base = bytes;
      const seconds = 3;
      for (let i = 0; i < seconds; i++) {
        const t = s.clock.now();
        // 5,000 real request events of one second on the bus (as the gateway emits them).
        for (let n = 0; n < 5000; n++)
          s.app.events.emit({
            type: 'request',
            at: t + (n % 1000),
            requestId: `r-${i}-${n}`,
            ip: `198.51.100.${n % 200}`,
            method: 'GET',
            route: n % 3 === 0 ? '/v2/records/{recordId}' : '/v2/health',
            api: 'clinic',
            version: 'v2',
            status: n % 97 === 0 ? 503 : 200,
            durationMs: 1 + (n % 50),
            // A consumer name with markup (the top-consumers table shows it).
            principal: n % 12 === 0 ? XSS : `user-${n % 12}`,
          } as RampartEvent);
        s.clock.advance(1000);
        const second = Math.floor(t / 1000);
        await page.waitForFunction(
          (want) => Number(document.querySelector('[data-last]')?.getAttribute('data-last')) >= want,
          second,
        );
      }
      await expect.poll(() => page.getByTestId('tile-rps').textContent()).toBe('5000');
      await page.getByRole('table', { name: 'Top consumers' }).getByText(XSS, { exact: true }).waitFor();
      expect(await page.locator('main img, main script').count()).toBe(0);
      expect(await xssRan(page)).toBeUndefined();
      await shot(page, '26-dashboard-5000-events');
      // Per-second summaries: a few KB for 15,000 events (each event alone is ~250 bytes of JSON).
      const received = bytes - base;
      expect(received).toBeGreaterThan(0);
      expect(received).toBeLessThan(seconds * 4096);
      await cdp.detach();
      expect(o.problems).toEqual([]);
    },
  );
});
