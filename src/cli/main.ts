import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { stdio, UsageError, type Command, type CommandIO } from './command.ts';

const here = dirname(fileURLToPath(import.meta.url));
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

function commandNames(): string[] {
  return readdirSync(join(here, 'commands'))
    .filter((f) => f.endsWith(ext) && !f.endsWith('.test' + ext) && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -ext.length))
    .sort();
}

async function load(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !commandNames().includes(name)) return undefined;
  const mod = (await import(pathToFileURL(join(here, 'commands', name + ext)).href)) as { default: Command };
  return mod.default;
}

async function help(io: CommandIO): Promise<void> {
  io.out('rampart — API security gateway, identity/MFA, monitoring, scanners and posture\n');
  io.out('Usage: rampart <command> [options]\n\nCommands:');
  for (const name of commandNames()) {
    const cmd = await load(name);
    if (cmd) io.out(`  ${name.padEnd(12)} ${cmd.summary}`);
  }
  io.out("\nrampart help <command> shows a command's options.");
}

/** Runs the CLI with the given arguments; returns the exit code. */
export async function main(argv: string[], io: CommandIO = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    // No command is a usage error (git, npm and kubectl answer the same way): usage on stderr, exit 2.
    await help({ out: io.err, err: io.err });
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    if (rest[0]) {
      const cmd = await load(rest[0]);
      if (!cmd) {
        io.err(`rampart: unknown command '${rest[0]}'. Commands: ${commandNames().join(', ')}`);
        return 2;
      }
      io.out(cmd.usage);
      return 0;
    }
    await help(io);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    io.out('0.1.0');
    return 0;
  }
  const cmd = await load(name);
  if (!cmd) {
    io.err(`rampart: unknown command '${name}'. Commands: ${commandNames().join(', ')}`);
    return 2;
  }
  // `rampart <command> --help` / `-h` anywhere before a `--`: that command's usage, exit 0.
  const end = rest.indexOf('--');
  const own = end === -1 ? rest : rest.slice(0, end);
  if (own.includes('--help') || own.includes('-h')) {
    io.out(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`rampart ${name}: ${err.message}\n\n${cmd.usage}`);
      return 2;
    }
    io.err(`rampart ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`rampart: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
