/**
 * What the console's browser tests share: headless Chromium (playwright-core), a page on
 * the console that collects every problem (page errors, console errors — CSP reports
 * included —, off-origin requests, unexpected 4xx/5xx), axe-core, screenshots into
 * test-artifacts/console/, and the TOTP sign-in with a code from oathtool.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ManualClock } from '../../src/core/clock.ts';
import { call } from '../helpers/gateway.ts';
import { oathtool } from '../identity/harness.ts';

// Browser globals used inside page.evaluate callbacks (the tests run in Node, without DOM types).
declare const window: Record<string, unknown>;
declare const document: unknown;

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts/console');
export const PASSWORD = 'violet-harbour-lantern-4821';
/** Stored markup that would run if rendered as HTML (it sets window.__xss). */
export const XSS = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
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
}

export interface Opened {
  context: BrowserContext;
  page: Page;
  problems: string[];
  /** Answers ≥ 400 a test provokes on purpose (matched on `STATUS METHOD path`). */
  allow: RegExp[];
}

/** Answers ≥ 400 every page may get: "no session yet" on the first look, 404 where an optional feature is absent. */
const EXPECTED = [
  /^40[14] GET \/admin\/api\/session$/,
  /^404 GET \/admin\/api\/(posture|scans|code-scan\/findings|audits\/findings)$/,
];

/**
 * A fresh context (UTC, so `datetime-local` fields mean the server's time) on the console;
 * collects page errors, console errors, off-origin requests and unexpected answers ≥ 400.
 */
export async function openConsole(browser: Browser, origin: string): Promise<Opened> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const problems: string[] = [];
  const allow: RegExp[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Failed loads are judged by their response below; every other console error counts (CSP reports included).
    if (
      msg.type() === 'error' &&
      !/^Failed to load resource: the server responded with a status of 40[14]/.test(msg.text())
    )
      problems.push(`console: ${msg.text()}`);
  });
  // Offline: nothing but the console's own origin is ever requested (no CDN, no fonts, no beacons).
  page.on('request', (r) => {
    if (!r.url().startsWith(`${origin}/`) && !r.url().startsWith('data:'))
      problems.push(`off-origin request: ${r.url()}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const line = `${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`;
    if (![...EXPECTED, ...allow].some((re) => re.test(line))) problems.push(`response: ${line}`);
  });
  await page.goto(`${origin}/console/`);
  return { context, page, problems, allow };
}

/** axe-core in the page (evaluated through DevTools, so the page's CSP stays on): serious or critical violations. */
export async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const w = window as unknown as {
      axe: {
        run(
          ctx: unknown,
          o: object,
        ): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
      };
    };
    const r = await w.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.targets.slice(0, 3).join(', ')}`);
}

export const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Whether any stored payload ran in the page. */
export const xssRan = (page: Page): Promise<unknown> =>
  page.evaluate(() => (window as unknown as { __xss?: number }).__xss);

export async function signInTotp(
  page: Page,
  clock: ManualClock,
  username: string,
  secret: string,
): Promise<void> {
  // A new TOTP step: a code is accepted once, so each sign-in moves the clock 30 s on.
  clock.advance(30_000);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Authenticator code').fill(oathtool(secret, clock.now()));
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
}

/** POSTs JSON to the identity service on the gateway; the status and the parsed answer. */
export async function identityPost(
  gatewayUrl: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}> {
  const r = await call(`${gatewayUrl}/auth${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: r.text ? (r.json() as Record<string, unknown>) : {} };
}

/** Enrols and confirms TOTP for a user over the identity API (as its enrolment page does); the secret. */
export async function enrolTotp(gatewayUrl: string, clock: ManualClock, username: string): Promise<string> {
  const login = await identityPost(gatewayUrl, '/login', { username, password: PASSWORD });
  if (login.status !== 200) throw new Error(`password sign-in of ${username}: ${login.status}`);
  const token = login.body.access_token as string;
  const enrol = await identityPost(gatewayUrl, '/totp/enroll', {}, token);
  const secret = enrol.body.secret as string;
  const confirm = await identityPost(
    gatewayUrl,
    '/totp/confirm',
    { code: oathtool(secret, clock.now()) },
    token,
  );
  if (confirm.status !== 200) throw new Error(`TOTP confirmation of ${username}: ${confirm.status}`);
  clock.advance(30_000); // the next code is a later step
  return secret;
}
