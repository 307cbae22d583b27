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
    throw new UsageError((err as Error).message);
  }
}

/** A TCP port from the command line (0 = any free port). */
export function parsePort(value: string, flag: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${flag} expects a port number 0-65535, got '${value}'`);
  }
  return Number(value);
}
