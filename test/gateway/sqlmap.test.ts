/**
 * sqlmap (the real tool, Debian package `sqlmap`) against the lab's injectable search
 * parameter: injectable directly, not injectable through the gateway with the demo's
 * contract chain. sqlmap 1.7 cannot negotiate TLS 1.3, so the gateway listens on plain
 * HTTP on loopback here (transport's TLS requirement off for this listener only).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_LAB, DEMO_POLICIES, demoApis } from '../../src/cli/demo.ts';
import { startLab, type LabServer } from '../../src/lab/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const SQLMAP = '/usr/bin/sqlmap';
const run = promisify(execFile);

let lab: LabServer;
let gw: TestGateway;
let out: string;
let token: string;

async function sqlmap(base: string): Promise<string> {
  const { stdout } = await run(
    SQLMAP,
    [
      '-u',
      `${base}/v2/records?q=x`,
      '-p',
      'q',
      `--headers=Authorization: Bearer ${token}`,
      '--batch',
      '--level',
      '1',
      '--risk',
      '1',
      '--time-sec',
      '1',
      '--timeout',
      '5',
      '--flush-session',
      '--disable-coloring',
      '--output-dir',
      out,
    ],
    { timeout: 90_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, HOME: out } },
  );
  return stdout;
}

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'rampart-sqlmap-'));
  // The demo's lab (tokens with exp, iss and aud, as the demo's HMAC issuer requires).
  lab = await startLab(DEMO_LAB);
  gw = await startTestGateway(lab.url, {
    listen: { host: '127.0.0.1', port: 0, tls: { enabled: false } },
    apis: demoApis(lab.url),
    policies: { ...DEMO_POLICIES, transport: { requireTls: false } },
  });
  const login = await fetch(`${lab.url}/v2/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'alice-demo-pass' }),
  });
  token = ((await login.json()) as { token: string }).token;
});

afterAll(async () => {
  await gw?.close();
  await lab?.close();
  await rm(out, { recursive: true, force: true });
});

describe.skipIf(!existsSync(SQLMAP))('sqlmap against the lab search parameter', () => {
  it('finds q injectable against the lab directly', { timeout: 100_000 }, async () => {
    const report = await sqlmap(lab.url);
    expect(report).toMatch(/Parameter: q \(GET\)/);
    expect(report).toMatch(/GET parameter 'q' is .* injectable/);
  });

  it(
    'finds nothing injectable through the gateway (injection-guard answers 400)',
    { timeout: 100_000 },
    async () => {
      const before = gw.events.length;
      const report = await sqlmap(gw.url);
      expect(report).not.toMatch(/Parameter: q \(GET\)/);
      expect(report).toMatch(
        /all tested parameters do not appear to be injectable|GET parameter 'q' does not seem to be injectable/,
      );
      const blocked = gw.events
        .slice(before)
        .filter((e) => e.type === 'contract-violation' && e.policy === 'injection-guard');
      expect(blocked.length).toBeGreaterThan(10);
    },
  );
});
