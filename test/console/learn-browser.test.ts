/**
 * The console's Learn page in headless Chromium against a real App (admin stack: identity
 * service, admin listener serving the built console, the gateway in front of a real upstream):
 * a viewer signs in with password + a TOTP code from oathtool, opens #/learn, sees the learning
 * API versions, and the learned operations with the diff against the enforced document —
 * text only (a hostile path segment renders as text), no console error, no serious axe issue.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { axe, launchChromium, xssRan } from './browser.ts';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD } from '../identity/harness.ts';
import { startAdminStack, type AdminStack } from '../admin/stack.ts';
import { FIXTURES, startUpstream } from '../helpers/gateway.ts';
import { ensureBuilt } from './stack.ts';

const insecure = new Agent({ connect: { rejectUnauthorized: false } });
let s: AdminStack;
let up: Awaited<ReturnType<typeof startUpstream>>;
let browser: Browser;

beforeAll(async () => {
  await ensureBuilt();
  up = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 7, name: 'Lamp' }));
  });
  s = await startAdminStack({
    config: {
      apis: [
        {
          name: 'shop',
          upstream: up.url,
          learn: true,
          versions: [{ base: '/v1', spec: join(FIXTURES, 'gateway/shop-v2.yaml') }],
        },
        { name: 'tracker', upstream: up.url, mode: 'learn', versions: [{ base: '/t' }] },
      ],
    },
  });
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
  await up?.close();
});

describe('the Learn page', () => {
  it('lists what learns and shows the learned operations and the diff', async () => {
    for (const path of ['/v1/items', '/v1/items/3', '/t/<img src=x onerror=window.__xss=1>/x'])
      await (await request(s.gatewayUrl + path, { dispatcher: insecure })).body.text();
    const context = await browser.newContext();
    context.setDefaultTimeout(30_000);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    // Failed loads are judged by their response; every other console error counts (CSP reports included).
    page.on('console', (m) => {
      if (
        m.type() === 'error' &&
        !/^Failed to load resource: the server responded with a status of 40[14]/.test(m.text())
      )
        problems.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() < 400) return;
      const path = new URL(r.url()).pathname;
      // Expected: "no session yet" before signing in.
      if (!([401, 404].includes(r.status()) && path === '/admin/api/session'))
        problems.push(`response: ${r.status()} ${r.request().method()} ${path}`);
    });
    await page.goto(`${s.adminUrl}/console/#/learn`);
    s.clock.advance(30_000);
    await page.getByLabel('Username').fill(s.viewer.username);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Authenticator code').fill(s.code(s.viewer));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Learn' }).waitFor();

    const list = page.getByRole('table', { name: 'Learning APIs' });
    await expect.poll(() => list.getByRole('row').count()).toBe(3);
    await page.getByRole('button', { name: 'Show what shop /v1 learned' }).click();
    const ops = page.getByRole('table', { name: 'Learned operations' });
    await ops.getByText('GET /items/{itemId}').waitFor();
    await page.getByRole('table', { name: 'Never called' }).getByText('GET /items/special').waitFor();
    expect(await page.getByTestId('learn-agreement').textContent()).toMatch(/recall/);

    await page.getByRole('button', { name: 'Show what tracker /t learned' }).click();
    await page.getByText('No document yet (mode: learn)').waitFor();
    // The hostile segment is a literal of the learned path, shown as text.
    await page
      .getByRole('table', { name: 'Learned operations' })
      .getByText(/^GET \/<img src=x onerror=window.__xss=1>\/x$/)
      .waitFor();
    expect(await xssRan(page)).toBeUndefined();

    // axe-core evaluated through DevTools, so the page's CSP stays on.
    expect(await axe(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 150_000);
});
