import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { startLab, type LabServer } from '../../src/lab/index.ts';
import { isDefence } from '../../src/lab/exploits.ts';

// `rampart lab attack` over real HTTP against both twins, and against servers that fail
// an attack for the wrong reason (which must never be reported as blocked).

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

let vulnerable: LabServer;
let secure: LabServer;
beforeAll(async () => {
  [vulnerable, secure] = await Promise.all([startLab({ mode: 'vulnerable' }), startLab({ mode: 'secure' })]);
});
afterAll(async () => {
  await Promise.all([vulnerable?.close(), secure?.close()]);
});

const ONLY = 'bola-read-record,bfla-admin-users,mass-assignment-role,debug-endpoint';

async function server(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () => new Promise((r) => (s.closeAllConnections(), s.close(() => r()))),
  };
}

describe('rampart lab attack', () => {
  it('--json against the vulnerable lab: every selected flaw exploited, exit 0', async () => {
    const c = capture();
    expect(await main(['lab', 'attack', '--target', vulnerable.url, '--json', '--only', ONLY], c.io)).toBe(0);
    const report = JSON.parse(c.out.join('\n')) as {
      results: Array<{ id: string; owasp: string; exploited: boolean; outcome: string; evidence: string }>;
      exploited: number;
      blocked: number;
    };
    expect(report.results.map((r) => [r.id, r.owasp, r.exploited, r.outcome])).toEqual([
      ['bola-read-record', 'API1:2023', true, 'exploited'],
      ['mass-assignment-role', 'API3:2023', true, 'exploited'],
      ['bfla-admin-users', 'API5:2023', true, 'exploited'],
      ['debug-endpoint', 'API9:2023', true, 'exploited'],
    ]);
    expect(report).toMatchObject({ exploited: 4, blocked: 0 });
    for (const r of report.results) expect(r.evidence.length).toBeGreaterThan(0);
  });

  it('table against the secure twin: every selected flaw blocked, with the answer that blocked it', async () => {
    const c = capture();
    expect(await main(['lab', 'attack', '--target', secure.url + '/', '--only', ONLY], c.io)).toBe(0);
    const text = c.out.join('\n');
    expect(text).toMatch(/^bola-read-record\s+API1:2023\s+blocked\s+alice GET \/v2\/records\/3 → 404/m);
    expect(text).toMatch(/^bfla-admin-users\s+API5:2023\s+blocked\s+.*→ 403/m);
    expect(c.out.at(-1)).toBe('0 exploited, 4 blocked, 0 inconclusive (of 4)');
  });

  it('a refused precondition or an unexpected answer is inconclusive, never blocked', async () => {
    // Sign-in throttled: the attack never ran.
    const throttled = await server((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'https://rampart.dev/problems/too-many-requests', status: 429 }));
    });
    // Sign-in works, the admin call fails with a 500: not the 403 the roles policy gives.
    const broken = await server((req, res) => {
      if (req.url === '/v2/auth/login') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ token: 'x.y.z' }));
      } else {
        res.writeHead(500, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'https://rampart.dev/problems/internal', status: 500 }));
      }
    });
    try {
      for (const target of [throttled.url, broken.url]) {
        const c = capture();
        expect(
          await main(['lab', 'attack', '--target', target, '--json', '--only', 'bfla-admin-users'], c.io),
        ).toBe(0);
        const report = JSON.parse(c.out.join('\n')) as {
          results: Array<{ outcome: string }>;
          blocked: number;
        };
        expect(report.results[0]!.outcome, target).toBe('inconclusive');
        expect(report.blocked).toBe(0);
      }
    } finally {
      await Promise.all([throttled.close(), broken.close()]);
    }
  });

  it('a defence needs the expected status and problem type', () => {
    expect(isDefence('bfla-admin-users', { status: 403, problem: 'forbidden' })).toBe(true);
    expect(isDefence('bfla-admin-users', { status: 403 })).toBe(false); // not problem+json
    expect(isDefence('bfla-admin-users', { status: 401, problem: 'unauthenticated' })).toBe(false);
    expect(isDefence('bola-read-record', { status: 404, problem: 'not-found' })).toBe(true);
    expect(isDefence('bola-read-record', { status: 403, problem: 'forbidden' })).toBe(false);
    expect(isDefence('user-data-exposure', { status: 200 })).toBe(true);
  });

  it('exit 1 when the target cannot be reached', async () => {
    const gone = await server(() => undefined);
    await gone.close();
    const c = capture();
    expect(await main(['lab', 'attack', '--target', gone.url], c.io)).toBe(1);
    expect(c.err.join('\n')).toMatch(/cannot reach .*ECONNREFUSED/);
  });

  it('exit 2 with usage on bad arguments', async () => {
    for (const args of [
      [],
      ['--target'],
      ['--target', 'not a url'],
      ['--target', 'ftp://127.0.0.1/'],
      ['--target', 'http://127.0.0.1:1/?q=1'],
      ['--target', 'http://127.0.0.1:1', '--only', 'no-such-flaw'],
      ['--target', 'http://127.0.0.1:1', '--bogus'],
    ]) {
      const c = capture();
      expect(await main(['lab', 'attack', ...args], c.io), args.join(' ')).toBe(2);
      expect(c.err.join('\n')).toContain('Usage: rampart lab');
    }
  });
});
