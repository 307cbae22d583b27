/**
 * What the console runs against, in-process as `rampart start` runs it: the demo lab
 * behind the gateway, the identity service (cheap scrypt, passkeys for the admin
 * listener's origin `http://localhost:<port>`), the monitor, and the admin listener
 * serving the console built into a temporary folder. A ManualClock: TOTP steps and the
 * dashboard's seconds move when the test says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, configFromObject } from '../../src/cli/app.ts';
import { postureProviders, type PostureSource } from '../../src/cli/posture-input.ts';
import { DEMO_LAB, DEMO_POLICIES, demoApis } from '../../src/cli/demo.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { LAB_SPECS, startLab, type LabServer } from '../../src/lab/index.ts';
import { buildConsole, CONSOLE_DIST, consoleBuilt, type ConsoleManifest } from '../../src/console/build.ts';

export const FAST_SCRYPT = { ln: 10, r: 8, p: 1 };

export interface ConsoleStack {
  app: App;
  lab: LabServer;
  clock: ManualClock;
  /** `http://localhost:<admin port>`: the console's origin (a secure context for WebAuthn). */
  origin: string;
  gatewayUrl: string;
  manifest: ConsoleManifest;
  dir: string;
  /** Where the posture report reads code-scan reports (posture.evidence.code): a test may write JSON reports here. */
  codeReports: string;
  /** What the posture report judges (as `rampart posture` reads it). */
  postureSource: PostureSource;
  close(): Promise<void>;
}

/** A port free right now (the admin port must be known before start: it is the passkey origin). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let built: Promise<ConsoleManifest> | undefined;
/** Builds the console once per test process (into the package's own folder, as `npm run build`). */
export function ensureBuilt(): Promise<ConsoleManifest> {
  built ??= buildConsole(CONSOLE_DIST);
  return built;
}

export async function startConsoleStack(opts: { clock?: ManualClock } = {}): Promise<ConsoleStack> {
  const manifest = await ensureBuilt();
  if (!consoleBuilt()) throw new Error('the console did not build');
  const dir = await mkdtemp(join(tmpdir(), 'rampart-console-'));
  const lab = await startLab(DEMO_LAB);
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const clock = opts.clock ?? new ManualClock(Date.now());
  const codeReports = join(dir, 'reports');
  const config = configFromObject(
    {
      listen: { host: '127.0.0.1', port: 0, tls: { devCertDir: join(dir, 'tls') } },
      admin: { host: '127.0.0.1', port },
      store: `sqlite://${join(dir, 'rampart.db')}`,
      policies: {
        ...DEMO_POLICIES,
        'rate-limit': { enabled: false },
        'validate-request': { enabled: false },
        'injection-guard': { enabled: false },
      },
      identity: {
        issuer: 'https://127.0.0.1/auth',
        keyFile: join(dir, 'kek.key'),
        passwords: { scrypt: FAST_SCRYPT },
        passkeys: { rpId: 'localhost', rpName: 'Rampart console test', origins: [origin] },
      },
      apis: demoApis(lab.url),
      monitor: { auditLog: { flushIntervalMs: 20 } },
      posture: { evidence: { code: [codeReports] } },
      // One scheduled scan (a day apart: only "scan now" runs it here), one cheap check.
      scans: {
        results: join(dir, 'scans'),
        jobs: [
          {
            name: 'clinic',
            spec: [LAB_SPECS.v2],
            target: lab.url,
            interval: 86400,
            checks: ['security-headers'],
          },
        ],
      },
    },
    dir,
  );
  const postureSource: PostureSource = { config, baseDir: dir, label: 'console test' };
  const app = await App.start({
    config,
    baseDir: dir,
    log: silentLogger,
    clock,
    ...postureProviders(postureSource, clock),
  });
  return {
    app,
    lab,
    clock,
    origin,
    gatewayUrl: app.gateway.url,
    manifest,
    dir,
    codeReports,
    postureSource,
    async close() {
      await app.stop();
      await lab.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
