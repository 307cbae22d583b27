import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import scanCommand from '../../src/cli/commands/scan.ts';
import { parseJsonReport } from '../../src/report/index.ts';
import { startScannableLab, type ScannableLab } from './helpers.ts';

// The command-line contract of `rampart scan`: usage errors exit 2, "could not scan"
// exits 3 with a precise message, findings at or above --fail-on exit 1, a clean run
// exits 0; reports go through src/report/; --replay tells fixed from still open.

function io(): { io: { out(l: string): void; err(l: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'rampart-scan-cli-'));
const auth = join(dir, 'auth.yaml');
writeFileSync(
  auth,
  `identities:
  alice: { role: patient, login: { path: /v2/auth/login, json: { username: alice, password: '\${SCAN_TEST_ALICE_PW}' } } }
  bob: { role: patient, login: { path: /v2/auth/login, json: { username: bob, password: bob-demo-pass } } }
`,
);
process.env.SCAN_TEST_ALICE_PW = 'alice-demo-pass';

let vulnerable: ScannableLab;
let secure: ScannableLab;
let hanging: Server;
let garbage: TcpServer;
const sockets = new Set<import('node:net').Socket>();
const urlOf = (s: Server | TcpServer) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

beforeAll(async () => {
  [vulnerable, secure] = await Promise.all([startScannableLab('vulnerable'), startScannableLab('secure')]);
  hanging = createServer(() => {
    /* never answers */
  });
  garbage = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.end('\x00\x01 this is not HTTP\r\n\r\n');
  });
  await Promise.all([
    new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r())),
    new Promise<void>((r) => garbage.listen(0, '127.0.0.1', () => r())),
  ]);
});

afterAll(async () => {
  hanging.closeAllConnections();
  for (const s of sockets) s.destroy();
  await Promise.all([
    vulnerable?.close(),
    secure?.close(),
    new Promise((r) => hanging.close(r)),
    new Promise((r) => garbage.close(r)),
  ]);
});

const spec = () => vulnerable.lab.specs.v2;

describe('rampart scan: usage and setup errors', () => {
  it.each([
    [['--target', 'http://127.0.0.1:1'], /--spec/],
    [['--spec', 'x.yaml'], /--target/],
    [['--spec', 'x.yaml', '--target', 'http://h', '--rate', 'fast'], /--rate/],
    [['--spec', 'x.yaml', '--target', 'http://h', '--checks', 'nope'], /unknown check/],
    [['--spec', 'x.yaml', '--target', 'http://h', '--format', 'pdf'], /--format/],
    [['--spec', 'x.yaml', '--target', 'http://h', '--identity', 'alice=no-header'], /header/],
    [['--spec', 'x.yaml', '--target', 'http://h', '--max-requests', '0'], /--max-requests/],
  ])('%j is a usage error', async (args, message) => {
    const c = io();
    await expect(scanCommand.run(args, c.io)).rejects.toThrow(message);
  });

  it('exits 3 for a missing spec, an unreachable, hanging or garbage target and a failing login', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--spec', join(dir, 'missing.yaml'), '--target', vulnerable.lab.url],
        /could not scan: .*missing\.yaml/,
      ],
      [['--spec', spec(), '--target', 'http://127.0.0.1:1'], /does not answer: ECONNREFUSED/],
      [['--spec', spec(), '--target', urlOf(hanging), '--timeout', '1'], /does not answer: timed out/],
      [['--spec', spec(), '--target', urlOf(garbage), '--timeout', '2'], /does not answer/],
      [
        [
          '--spec',
          spec(),
          '--target',
          vulnerable.lab.url,
          '--identity',
          'x=Authorization: Bearer t',
          '--auth',
          join(dir, 'none.yaml'),
        ],
        /cannot read the auth file/,
      ],
    ];
    for (const [args, message] of cases) {
      const c = io();
      expect(await scanCommand.run(args, c.io), args.join(' ')).toBe(3);
      expect(c.err.join('\n')).toMatch(message);
    }
    const bad = join(dir, 'bad-auth.yaml');
    writeFileSync(
      bad,
      'identities:\n  eve: { login: { path: /v2/auth/login, json: { username: eve, password: wrong-pass } } }\n',
    );
    const c = io();
    expect(
      await scanCommand.run(['--spec', spec(), '--target', vulnerable.lab.url, '--auth', bad], c.io),
    ).toBe(3);
    expect(c.err.join('\n')).toMatch(/login of identity 'eve' failed: POST \/v2\/auth\/login answered 404/);
    expect(c.err.join('\n')).not.toContain('wrong-pass');
    // Five targets that fail in turn, each bounded by its own timeout: more than the default 30 s on a loaded CI machine.
  }, 90_000);
});

describe('rampart scan against the lab', () => {
  const sarif = join(dir, 'scan.sarif');
  const json = join(dir, 'scan.json');

  it('writes SARIF and exits 1 on findings at or above --fail-on', async () => {
    const c = io();
    const code = await scanCommand.run(
      [
        '--spec',
        spec(),
        '--target',
        vulnerable.lab.url,
        '--auth',
        auth,
        '--checks',
        'bola-identity-swap,cors,security-headers',
        '--format',
        'sarif',
        '-o',
        sarif,
      ],
      c.io,
    );
    expect(code).toBe(1);
    const log = JSON.parse(readFileSync(sarif, 'utf8')) as {
      version: string;
      runs: Array<{ results: Array<{ ruleId: string }> }>;
    };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.results.map((r) => r.ruleId)).toContain('bola-identity-swap');
    expect(c.err.join('\n')).toMatch(/\d+ requests in [\d.]+ s, \d+ finding/);
  });

  it('exits 0 on the secure twin with --fail-on medium', async () => {
    const c = io();
    const code = await scanCommand.run(
      [
        '--spec',
        spec(),
        '--target',
        secure.lab.url,
        '--auth',
        auth,
        '--checks',
        'bola-identity-swap,cors,security-headers',
        '--fail-on',
        'medium',
        '--format',
        'json',
      ],
      c.io,
    );
    expect(code).toBe(0);
    expect(parseJsonReport(c.out.join('\n')).findings).toEqual([]);
  });

  it('--replay says a finding still reproduces on the vulnerable lab and is fixed on the twin', async () => {
    expect(
      await scanCommand.run(
        [
          '--spec',
          spec(),
          '--target',
          vulnerable.lab.url,
          '--auth',
          auth,
          '--checks',
          'cors',
          '--format',
          'json',
          '-o',
          json,
        ],
        io().io,
      ),
    ).toBe(1);
    const finding = parseJsonReport(readFileSync(json, 'utf8')).findings.find((f) => f.check === 'cors')!;
    const again = io();
    expect(await scanCommand.run(['--replay', finding.id, '--report', json, '--auth', auth], again.io)).toBe(
      1,
    );
    expect(again.out.join('\n')).toMatch(/Still reproduces/);
    const fixed = io();
    expect(
      await scanCommand.run(
        ['--replay', finding.id, '--report', json, '--auth', auth, '--target', secure.lab.url],
        fixed.io,
      ),
    ).toBe(0);
    expect(fixed.out.join('\n')).toMatch(/fixed/);
    const missing = io();
    expect(await scanCommand.run(['--replay', '0000000000000000', '--report', json], missing.io)).toBe(3);
  });

  it('stops at the request budget with a partial report that says so', async () => {
    const c = io();
    const code = await scanCommand.run(
      [
        '--spec',
        spec(),
        '--target',
        vulnerable.lab.url,
        '--auth',
        auth,
        '--max-requests',
        '15',
        '--format',
        'json',
      ],
      c.io,
    );
    const report = parseJsonReport(c.out.join('\n'));
    expect(report.meta.notes?.join('\n')).toMatch(/request budget \(15\) is spent/);
    expect(c.err.join('\n')).toMatch(/PARTIAL/);
    expect([1, 3]).toContain(code);
  });

  it('--history stores runs and prints new / fixed / still open', async () => {
    const history = join(dir, 'history');
    const args = [
      '--spec',
      spec(),
      '--target',
      vulnerable.lab.url,
      '--auth',
      auth,
      '--checks',
      'cors,security-headers',
      '--history',
      history,
      '--name',
      'lab',
      '--format',
      'json',
    ];
    const first = io();
    await scanCommand.run(args, first.io);
    expect(first.err.join('\n')).toMatch(/[1-9]\d* new, 0 fixed, 0 still open/);
    const second = io();
    await scanCommand.run(args, second.io);
    expect(second.err.join('\n')).toMatch(/ 0 new, 0 fixed, [1-9]\d* still open/);
  });

  it('--list-checks prints every check with its category', async () => {
    const c = io();
    expect(await scanCommand.run(['--list-checks'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/bola-identity-swap\s+API1:2023/);
  });
});
