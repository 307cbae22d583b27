import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import labCommand from '../../src/cli/commands/lab.ts';
import { main } from '../../src/cli/main.ts';
import { startLab } from '../../src/lab/index.ts';

function capture(): {
  io: { out(l: string): void; err(l: string): void };
  out: string[];
  err: string[];
  ready: Promise<void>;
} {
  const out: string[] = [];
  const err: string[] = [];
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const io = {
    out: (l: string) => {
      out.push(l);
      if (l.startsWith('Press Ctrl-C')) markReady();
    },
    err: (l: string) => err.push(l),
  };
  return { io, out, err, ready };
}

describe('rampart lab', () => {
  it.each([
    [[], 'vulnerable'],
    [['--secure'], 'secure'],
  ] as const)(
    '%j runs the %s lab, prints URL, mode and demo credentials, and stops on SIGTERM',
    async (args, mode) => {
      const c = capture();
      const done = labCommand.run([...args, '--port', '0'], c.io);
      await c.ready;
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(c.out[0]!)?.[1];
      expect(c.out[0]).toContain(`(${mode})`);
      expect(c.out.join('\n')).toMatch(/alice\s+\/ alice-demo-pass/);
      const health = await fetch(`${url}/v2/health`);
      expect(health.status).toBe(200);
      process.emit('SIGTERM', 'SIGTERM');
      expect(await done).toBe(0);
      expect(c.out.at(-1)).toBe('Rampart lab stopped.');
      await expect(fetch(`${url}/v2/health`)).rejects.toThrow();
    },
  );

  it('rejects bad options with usage (exit 2)', async () => {
    for (const args of [['--port', 'abc'], ['--port', '70000'], ['--nope'], ['--port']]) {
      const c = capture();
      expect(await main(['lab', ...args], c.io)).toBe(2);
      expect(c.err.join('\n')).toContain('Usage: rampart lab');
    }
  });

  it('exits 1 with the reason when the port is taken', async () => {
    const busy = await startLab({ mode: 'secure' });
    try {
      const c = capture();
      expect(await labCommand.run(['--port', String(busy.port)], c.io)).toBe(1);
      expect(c.err.join('\n')).toContain(`cannot listen on 127.0.0.1:${busy.port} (EADDRINUSE)`);
    } finally {
      await busy.close();
    }
  });

  /** A port that was free a moment ago (held by a listener the caller closes, or not). */
  async function holdPort(): Promise<{ port: number; server: Server }> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as { port: number }).port, server };
  }

  it('--insurer-port N binds the insurer stub on that port (tests, firewalled machines)', async () => {
    const held = await holdPort();
    await new Promise<void>((r) => held.server.close(() => r()));
    const c = capture();
    const done = labCommand.run(['--port', '0', '--insurer-port', String(held.port)], c.io);
    await c.ready;
    expect(c.out).toContain(`  Insurer stub: http://127.0.0.1:${held.port}`);
    const insurer = await fetch(`http://127.0.0.1:${held.port}/eligibility/M-1001`);
    expect(insurer.status).toBe(200);
    expect(await insurer.json()).toMatchObject({ memberId: 'M-1001', eligible: true });
    process.emit('SIGTERM', 'SIGTERM');
    expect(await done).toBe(0);
    await expect(fetch(`http://127.0.0.1:${held.port}/eligibility/M-1001`)).rejects.toThrow();
  });

  it('--insurer-port: a taken port exits 1 naming the stub; a bad one is a usage error', async () => {
    const held = await holdPort();
    try {
      const c = capture();
      expect(await labCommand.run(['--port', '0', '--insurer-port', String(held.port)], c.io)).toBe(1);
      expect(c.err.join('\n')).toContain(
        `cannot listen on 127.0.0.1:${held.port} (the insurer stub) (EADDRINUSE)`,
      );
    } finally {
      await new Promise<void>((r) => held.server.close(() => r()));
    }
    const bad = capture();
    expect(await main(['lab', '--insurer-port', '99999'], bad.io)).toBe(2);
    expect(bad.err.join('\n')).toContain("--insurer-port expects a port number 0-65535, got '99999'");
  });

  it('is loaded by the CLI: rampart help lab prints its usage', async () => {
    const c = capture();
    expect(await main(['help', 'lab'], c.io)).toBe(0);
    expect(c.out.join('\n')).toContain('Usage: rampart lab [--secure] [--port N]');
  });
});
