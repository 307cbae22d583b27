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
