import { parseOptions, parsePort, UsageError, type Command, type CommandIO } from '../command.ts';
import { attack, attackJson, formatAttackTable, TargetUnreachable } from '../../lab/attack.ts';
import { flaws } from '../../lab/flaws.ts';
import { DEMO_USERS, startLab, type LabServer } from '../../lab/index.ts';

const usage = `Usage: rampart lab [--secure] [--port N] [--host ADDR] [--insurer-port N]
       rampart lab attack --target URL [--json] [--insecure] [--only ID,…]

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

attack: runs every exploit of the flaw catalogue against URL (the lab, or a gateway in
front of it) and prints one row per flaw — id, OWASP category, exploited / blocked /
inconclusive, the evidence — then the counts. "blocked" means the defence was seen (the
status and problem type a fix or a gateway policy answers); an attack that failed for
another reason is "inconclusive". It is a report: exit 0 whatever it finds, 2 on bad
arguments, 1 when the target cannot be reached. Stateful exploits register throw-away
users and change the lab's data: point it at a lab, never at a real API.
  --target URL  base URL, e.g. http://127.0.0.1:9000 or https://127.0.0.1:8443
  --json        print { results: [{ id, owasp, exploited, outcome, evidence }], exploited, blocked, … }
  --insecure    accept any TLS certificate (the gateway's self-signed development one)
  --only IDS    comma-separated flaw ids to run

See docs/lab.md (the flaw catalogue) and docs/workshop.md (the guided session).`;

async function runAttack(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseOptions(argv, {
    target: { type: 'string' },
    json: { type: 'boolean' },
    insecure: { type: 'boolean' },
    only: { type: 'string' },
  });
  if (!values.target) throw new UsageError('attack needs --target URL');
  let url: URL;
  try {
    url = new URL(values.target);
  } catch {
    throw new UsageError(`--target is not a URL: '${values.target}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--target must be an http or https URL, got ${url.protocol}`);
  if (url.search || url.hash) throw new UsageError('--target is a base URL: no query or fragment');
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = only?.filter((id) => !flaws.some((f) => f.id === id)) ?? [];
  if (unknown.length) throw new UsageError(`--only: unknown flaw id '${unknown[0]}'`);
  let report;
  try {
    report = await attack(url.href, {
      insecure: values.insecure ?? false,
      ...(only ? { only } : {}),
    });
  } catch (err) {
    if (err instanceof TargetUnreachable) {
      io.err(`rampart lab attack: cannot reach ${url.href}: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (values.json) io.out(attackJson(report));
  else for (const line of formatAttackTable(report)) io.out(line);
  return 0;
}

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
  summary: 'Run the deliberately vulnerable clinic API (or its secure twin), or attack one',
  usage,
  async run(argv, io) {
    if (argv[0] === 'attack') return runAttack(argv.slice(1), io);
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
