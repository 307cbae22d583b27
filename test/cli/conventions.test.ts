import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { CommandIO } from '../../src/cli/command.ts';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CommandIO = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const code = await main(argv, io);
  return { code, out: stdout.join('\n'), err: stderr.join('\n') };
}

const commands = readdirSync(join(import.meta.dirname, '../../src/cli/commands'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3));

// git, npm and kubectl habits: --help is always safe, usage errors exit 2 with a plain message.
describe('CLI conventions', () => {
  it.each(commands)('rampart %s --help and -h print its usage on stdout and exit 0', async (name) => {
    for (const flag of ['--help', '-h']) {
      const r = await run(name, flag);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: rampart ${name}\\b`));
      expect(r.err).toBe('');
    }
    expect((await run('help', name)).out).toMatch(new RegExp(`^Usage: rampart ${name}\\b`));
  });

  it('no arguments: usage on stderr and exit 2; help and --help: usage on stdout, exit 0', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.out).toBe('');
    expect(none.err).toMatch(/Usage: rampart <command>/);
    for (const h of ['help', '--help', '-h']) {
      const r = await run(h);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: rampart <command>/);
    }
  });

  it('names an unknown option, a missing value and an unknown command plainly (exit 2)', async () => {
    const frob = await run('check', '--frob');
    expect(frob.code).toBe(2);
    expect(frob.err).toMatch(/^rampart check: unknown option '--frob'\n/);
    expect(frob.err).not.toMatch(/To specify a positional/);
    const missing = await run('check', '-c');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^rampart check: option '--config' needs a value/);
    for (const argv of [['nosuch'], ['help', 'nosuch']]) {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        new RegExp(`unknown command 'nosuch'\\. Commands: ${commands.sort().join(', ')}`),
      );
    }
  });

  it('-h after -- is an argument, not a request for help', async () => {
    const r = await run('diff', '--', '-h', 'x');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/-h/);
  });
});
