import { relative } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import { configPathFrom, parseOptions } from '../command.ts';
import { formatConfigError, type ConfigError } from '../../core/config-loader.ts';
import { validateConfigFile } from '../validate.ts';

const usage = `Usage: rampart check [-c FILE]

Validates rampart.yaml, every OpenAPI document and every file it references — the
same judgement \`rampart start\` makes — printing each problem as
  file:line:col  /json/pointer  message
sorted by file and line, then warnings for settings that cannot work as meant.
Exit code 1 on any error.

Options:
  -c, --config FILE   configuration file (default: ./rampart.yaml, or $RAMPART_CONFIG)`;

/** Shows paths relative to the working directory when they are inside it. */
function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

function print(io: CommandIO, errors: ConfigError[]): void {
  for (const e of errors) io.err(formatConfigError({ ...e, file: display(e.file) }));
}

/** `policies.roles.hierarchy`, when the config declares one (the role names `check` holds documents to). */
const check: Command = {
  name: 'check',
  summary: 'Validate rampart.yaml and the OpenAPI documents it references',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, { config: { type: 'string', short: 'c' } });
    const v = await validateConfigFile(configPathFrom(values.config));
    for (const w of v.warnings) io.err(`warning: ${formatConfigError({ ...w, file: display(w.file) })}`);
    if (v.errors.length) {
      const files = new Set(v.errors.map((e) => e.file));
      print(io, v.errors);
      io.err(
        `\n✗ ${v.errors.length} error${v.errors.length === 1 ? '' : 's'} in ${files.size} file${files.size === 1 ? '' : 's'}`,
      );
      return 1;
    }
    const { apis, versions, operations } = v.counts;
    io.out(
      `ok: ${apis} API${apis === 1 ? '' : 's'}, ${versions} version${versions === 1 ? '' : 's'}, ${operations} operation${operations === 1 ? '' : 's'}${v.warnings.length ? ` (${v.warnings.length} warning${v.warnings.length === 1 ? '' : 's'})` : ''}`,
    );
    return 0;
  },
};

export default check;
