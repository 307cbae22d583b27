import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A CLI command: one file under src/cli/commands/<name>.ts whose default export is
 * a Command. `rampart <name> …` loads it on demand, so adding a command touches no index.
 */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
}

export interface Command {
  name: string;
  summary: string;
  /** Usage text shown by `rampart help <name>` and on a usage error. */
  usage: string;
  /** Returns the process exit code. Long-running commands resolve when stopped (SIGINT/SIGTERM). */
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** Thrown for bad arguments: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const stdio: CommandIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** node:util parseArgs in strict mode; a bad flag becomes a UsageError (usage printed, exit 2). */
export function parseOptions<T extends ParseArgsConfig['options']>(
  argv: string[],
  options: T,
  allowPositionals = false,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: boolean }>> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError(argumentMessage(err as Error & { code?: string }));
  }
}

/**
 * The config file a command reads: `-c`, else $RAMPART_CONFIG, else ./rampart.yaml — the same
 * rule for every command.
 */
export function configPathFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env.RAMPART_CONFIG || './rampart.yaml');
}

/** A TCP port from the command line (0 = any free port). */
export function parsePort(value: string, flag: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${flag} expects a port number 0-65535, got '${value}'`);
  }
  return Number(value);
}

/**
 * node:util's parseArgs messages quote unevenly (`Unknown option '--frob'. To specify a
 * positional argument starting with a '-', place it at the end of the command after '--', as
 * in '-- "--frob"`) and name internals; say the same thing plainly.
 */
function argumentMessage(err: Error & { code?: string }): string {
  // The option as parseArgs names it: `'-c, --config <value>'` → `--config`.
  const named = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  const quoted = /--[^\s,']+/.exec(named)?.[0] ?? /-[^\s,']+/.exec(named)?.[0];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted ?? err.message}'`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${named}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(err.message)
        ? `option '${quoted ?? ''}' needs a value`
        : `option '${quoted ?? ''}' does not take a value`;
    default:
      return err.message;
  }
}
