// Measures the console in headless Chromium against the real stack (test/console/stack.ts):
//   1. first load: the JavaScript sent (gzip) and the time until the sign-in form is usable,
//      and until a signed-in reload shows the dashboard with its data;
//   2. the live dashboard while 5,000 events/s hit the monitor's event bus: frames counted
//      with requestAnimationFrame, long tasks (PerformanceObserver), and what the browser
//      receives on the live stream (DevTools protocol).
// Prints the figures docs/console.md quotes. Usage:
//   node --import tsx scripts/console-perf.ts [--seconds 10] [--rate 5000] [--runs 5]
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { ManualClock } from '../src/core/clock.ts';
import type { RampartEvent } from '../src/core/events.ts';
import { enrolTotp, launchChromium, openConsole, PASSWORD, signInTotp } from '../test/console/browser.ts';
import { startConsoleStack } from '../test/console/stack.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '5' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const RUNS = Number(values.runs);

/** Wall time, moved on by hand when a test needs a new TOTP step (the dashboard's seconds are real ones). */
class WallClock extends ManualClock {
  private offset = 0;
  override now(): number {
    return Date.now() + this.offset;
  }
  override advance(ms: number): void {
    this.offset += ms;
  }
  override set(ms: number): void {
    this.offset = ms - Date.now();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// The code that runs in the page is kept as source text: tsx would wrap named functions in a
// helper (`__name`) the page does not have.

/** Before any page script: note when `selector` first exists, and collect long tasks. */
async function watch(page: Page, selector: string): Promise<void> {
  await page.addInitScript(`(() => {
    window.__longTasks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
    const mo = new MutationObserver(() => {
      if (window.__ready === undefined && document.querySelector(${JSON.stringify(selector)})) {
        window.__ready = performance.now();
        mo.disconnect();
      }
    });
    mo.observe(document, { childList: true, subtree: true });
  })()`);
}

async function readyAt(
  page: Page,
  selector: string,
): Promise<{ ready: number; dcl: number; longTasks: number[] }> {
  // (waitForFunction would evaluate a string in the page, which its CSP forbids.)
  await page.locator(selector).first().waitFor({ state: 'attached' });
  return (await page.evaluate(`({
    ready: window.__ready,
    dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    longTasks: window.__longTasks,
  })`)) as { ready: number; dcl: number; longTasks: number[] };
}

const SIGN_IN = 'input#username';
const CHART = '[data-last]';
const clock = new WallClock();
const s = await startConsoleStack({ clock });
const browser = await launchChromium();
try {
  const kb = (n: number) => (n / 1024).toFixed(1);
  console.log(`first-load JavaScript: ${kb(s.manifest.jsGzipBytes)} KB gzipped (manifest)`);

  // 1a. First load, signed out: a fresh context each run (nothing cached).
  const signInReady: number[] = [];
  const dcls: number[] = [];
  let longest = 0;
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await watch(page, SIGN_IN);
    await page.goto(`${s.origin}/console/`);
    const r = await readyAt(page, SIGN_IN);
    signInReady.push(r.ready);
    dcls.push(r.dcl);
    longest = Math.max(longest, ...r.longTasks, 0);
    await context.close();
  }
  console.log(
    `sign-in form usable: median ${median(signInReady).toFixed(0)} ms after navigation start (runs: ${signInReady.map((x) => x.toFixed(0)).join(', ')}); DOMContentLoaded median ${median(dcls).toFixed(0)} ms; longest long task ${longest.toFixed(0)} ms`,
  );

  // 1b. Signed in: a reload restores the session (cookie) and shows the dashboard with data.
  const username = 'perf-admin';
  await s.app.identity!.users.add({ username, password: PASSWORD, roles: ['admin'] });
  const secret = await enrolTotp(s.gatewayUrl, clock, username);
  const o = await openConsole(browser, s.origin);
  await signInTotp(o.page, clock, username, secret);
  const page = o.page;
  const dashReady: number[] = [];
  await watch(page, CHART);
  for (let i = 0; i < RUNS; i++) {
    await page.reload();
    dashReady.push((await readyAt(page, CHART)).ready);
  }
  console.log(
    `signed-in reload to the dashboard with its chart: median ${median(dashReady).toFixed(0)} ms (runs: ${dashReady.map((x) => x.toFixed(0)).join(', ')})`,
  );

  // 2. The live dashboard at RATE events/s.
  const cdp = await o.context.newCDPSession(page);
  await cdp.send('Network.enable');
  let liveId: string | undefined;
  let liveBytes = 0;
  cdp.on('Network.requestWillBeSent', (e) => {
    if (new URL(e.request.url).pathname === '/admin/console/live') liveId = e.requestId;
  });
  cdp.on('Network.dataReceived', (e) => {
    if (e.requestId === liveId) liveBytes += e.dataLength;
  });
  await page.reload();
  await page.locator('[data-last]').first().waitFor();
  const lastBefore = Number(await page.locator('[data-last]').first().getAttribute('data-last'));

  let sent = 0;
  const started = Date.now();
  const bytesAtStart = liveBytes;
  const emitter = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * RATE) / 1000);
    const at = clock.now();
    for (; sent < due; sent++) {
      const n = sent;
      s.app.events.emit({
        type: 'request',
        at,
        requestId: `perf-${n}`,
        ip: `198.51.100.${n % 200}`,
        method: n % 5 === 0 ? 'POST' : 'GET',
        route: n % 3 === 0 ? '/v2/records/{recordId}' : '/v2/health',
        api: 'clinic',
        version: 'v2',
        status: n % 97 === 0 ? 503 : n % 41 === 0 ? 429 : 200,
        durationMs: 1 + (n % 120),
        principal: `user-${n % 40}`,
      } as RampartEvent);
      if (n % 53 === 0)
        s.app.events.emit({
          type: 'denied',
          at,
          policy: 'owner',
          problem: 'forbidden',
          ip: `203.0.113.${n % 20}`,
          owasp: 'API1:2023',
        } as RampartEvent);
    }
  }, 5);

  // Frames and long tasks in the page over SECONDS (warm-up: one second).
  const frames = (await page.evaluate(`(async (seconds) => {
    const longTasks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: false });
    await new Promise((r) => setTimeout(r, 1000));
    const times = [];
    const start = performance.now();
    await new Promise((resolve) => {
      const step = (t) => {
        times.push(t);
        if (t - start < seconds * 1000) requestAnimationFrame(step);
        else resolve();
      };
      requestAnimationFrame(step);
    });
    const perSecond = [];
    for (let i = 0; i < seconds; i++)
      perSecond.push(times.filter((t) => t >= start + i * 1000 && t < start + (i + 1) * 1000).length);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    gaps.sort((a, b) => a - b);
    const during = longTasks.filter((l) => l.start >= start);
    return {
      frames: times.length,
      elapsed: times[times.length - 1] - start,
      perSecond,
      p99Frame: gaps[Math.floor(gaps.length * 0.99)] ?? 0,
      maxFrame: gaps[gaps.length - 1] ?? 0,
      longTasks: during.length,
      longTaskMs: during.reduce((a, l) => a + l.duration, 0),
      longestTask: Math.max(0, ...during.map((l) => l.duration)),
    };
  })(${SECONDS})`)) as {
    frames: number;
    elapsed: number;
    perSecond: number[];
    p99Frame: number;
    maxFrame: number;
    longTasks: number;
    longTaskMs: number;
    longestTask: number;
  };
  clearInterval(emitter);
  const elapsed = (Date.now() - started) / 1000;
  const lastAfter = Number(await page.locator('[data-last]').first().getAttribute('data-last'));
  const rps = await page.getByTestId('tile-rps').textContent();
  const fps = (frames.frames / frames.elapsed) * 1000;
  console.log(
    `events driven: ${sent} in ${elapsed.toFixed(1)} s = ${(sent / elapsed).toFixed(0)}/s (the dashboard's last requests/s tile: ${rps})`,
  );
  console.log(
    `frames: ${frames.frames} in ${(frames.elapsed / 1000).toFixed(1)} s = ${fps.toFixed(1)} fps; per second min ${Math.min(...frames.perSecond)} max ${Math.max(...frames.perSecond)}; frame time p99 ${frames.p99Frame.toFixed(1)} ms, max ${frames.maxFrame.toFixed(1)} ms`,
  );
  console.log(
    `long tasks while measuring: ${frames.longTasks} (${frames.longTaskMs.toFixed(0)} ms in all, longest ${frames.longestTask.toFixed(0)} ms)`,
  );
  console.log(
    `live stream: ${lastAfter - lastBefore} new seconds drawn, ${liveBytes - bytesAtStart} bytes received (${((liveBytes - bytesAtStart) / elapsed).toFixed(0)} bytes/s) for ${sent} events`,
  );
  await cdp.detach();
  await o.context.close();
} finally {
  await browser.close();
  await s.close();
}
