import { parseOptions, parsePort, UsageError, type Command } from '../command.ts';
import { flaws } from '../../lab/flaws.ts';
import { DEMO_USERS, startLab, type LabServer } from '../../lab/index.ts';

const usage = `Usage: rampart lab [--secure] [--port N] [--host ADDR] [--insurer-port N]

Runs the lab: a small clinic API with ${flaws.length} planted flaws covering the OWASP API
Security Top 10 2023 (default), or its secure twin (--secure). Serves /v2 (current)
and /v1 (deprecated) on 127.0.0.1 with a fresh in-memory database and a malicious
insurer stub. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

Options:
  --secure      run the secure twin (every flaw fixed, same legitimate behaviour)
  --port N      TCP port (default 9000, the upstream of the sample rampart.yaml; 0 picks a free one)
  --host ADDR   bind address (default 127.0.0.1 — never expose the vulnerable lab)
  --insurer-port N
                port of the bundled insurer stub, always on 127.0.0.1 (default 0: a free one)

See docs/lab.md (the flaw catalogue) and docs/workshop.md (the guided session).`;

function parse(argv: string[]): { secure: boolean; port: number; host: string; insurerPort: number } {
  const { values } = parseOptions(argv, {
    secure: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    'insurer-port': { type: 'string' },
  });
  if (values.host === '') throw new UsageError('--host needs a value');
  return {
    secure: values.secure ?? false,
    port: values.port === undefined ? 9000 : parsePort(values.port, '--port'),
    host: values.host ?? '127.0.0.1',
    insurerPort:
      values['insurer-port'] === undefined ? 0 : parsePort(values['insurer-port'], '--insurer-port'),
  };
}

const lab: Command = {
  name: 'lab',
  summary: 'Run the deliberately vulnerable clinic API (or its secure twin)',
  usage,
  async run(argv, io) {
    const opts = parse(argv);
    const mode = opts.secure ? 'secure' : 'vulnerable';
    let server: LabServer;
    try {
      server = await startLab({ mode, port: opts.port, host: opts.host, insurerPort: opts.insurerPort });
    } catch (err) {
      // A listen error names the address and port that failed (the lab's or the insurer stub's).
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      const where =
        e.port !== undefined && e.port === opts.insurerPort && e.port !== opts.port
          ? `127.0.0.1:${e.port} (the insurer stub)`
          : `${opts.host}:${opts.port}`;
      io.err(`rampart lab: cannot listen on ${where}${e.code ? ` (${e.code})` : ''}`);
      return 1;
    }
    io.out(`Rampart lab (${mode}) listening on ${server.url}`);
    if (mode === 'vulnerable') {
      io.out(`  ${flaws.length} planted flaws — keep it on loopback; never expose it to a network.`);
    }
    io.out(`  API: ${server.url}/v2 (current)  ${server.url}/v1 (deprecated)`);
    io.out(`  Insurer stub: ${server.insurerUrl}`);
    io.out(`  OpenAPI: ${server.specs.v2}`);
    io.out(`           ${server.specs.v1}`);
    io.out('  Demo accounts (public, lab only):');
    for (const u of DEMO_USERS) io.out(`    ${u.username.padEnd(6)} / ${u.password.padEnd(16)} ${u.role}`);
    io.out('Press Ctrl-C to stop.');
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    io.out('Rampart lab stopped.');
    return 0;
  },
};

export default lab;
