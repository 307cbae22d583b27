import { relative } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import { UsageError } from '../command.ts';
import {
  checkConfigFile,
  formatConfigError,
  resolveRelative,
  type ConfigError,
} from '../../core/config-loader.ts';
import { checkOpenApiFile } from '../../core/openapi-loader.ts';
import { X_RAMPART_KEYS } from '../app.ts';
import { configSchema, type RampartFileConfig as RampartConfig } from '../config-schema.ts';
import { crossFieldErrors } from '../config-rules.ts';

const usage = `Usage: rampart check [-c FILE]

Validates rampart.yaml and every OpenAPI document it references, printing each
problem as  file:line:col  /json/pointer  message.  Exit code 1 on any error.

Options:
  -c, --config FILE   configuration file (default: ./rampart.yaml, or $RAMPART_CONFIG)`;

/** Parses `-c FILE` / `--config FILE` / `--config=FILE`. */
function parseConfigArg(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { config: string; rest: string[] } {
  let config = env.RAMPART_CONFIG || './rampart.yaml';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config') {
      const v = argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${a} needs a file`);
      config = v;
    } else if (a.startsWith('--config=')) {
      config = a.slice('--config='.length);
    } else rest.push(a);
  }
  return { config, rest };
}

/** `apis[].versions[].spec` from a config that failed validation (whatever is well-formed). */
function specsOf(value: unknown): Array<{ versions: Array<{ spec?: unknown }> }> {
  const apis = (value as { apis?: unknown } | undefined)?.apis;
  if (!Array.isArray(apis)) return [];
  return apis.map((a) => {
    const versions = (a as { versions?: unknown } | null)?.versions;
    return {
      versions: Array.isArray(versions)
        ? versions.map((v) => (v && typeof v === 'object' ? (v as { spec?: unknown }) : {}))
        : [],
    };
  });
}

/** Shows paths relative to the working directory when they are inside it. */
function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

function print(io: CommandIO, errors: ConfigError[]): void {
  for (const e of errors) io.err(formatConfigError({ ...e, file: display(e.file) }));
}

const check: Command = {
  name: 'check',
  summary: 'Validate rampart.yaml and the OpenAPI documents it references',
  usage,
  async run(argv, io) {
    const { config: path, rest } = parseConfigArg(argv);
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const result = await checkConfigFile<RampartConfig>(path, configSchema);
    const errors: ConfigError[] = [...result.errors];
    let apis = 0;
    let versions = 0;
    let operations = 0;
    const { config, source } = result;
    if (source) {
      if (config)
        for (const { segments, message } of crossFieldErrors(config))
          errors.push(source.error(segments, message));
      // With an invalid config, still check the documents it names, so one run shows everything.
      const apiList = config ? config.apis : specsOf(result.unvalidated);
      for (const [i, api] of apiList.entries()) {
        apis++;
        for (const [j, version] of api.versions.entries()) {
          versions++;
          if (typeof version.spec !== 'string') continue;
          const specPath = resolveRelative(result.baseDir, version.spec);
          const spec = await checkOpenApiFile(specPath, { xRampart: X_RAMPART_KEYS });
          if (spec.document) {
            operations += spec.document.operations.length;
            continue;
          }
          for (const e of spec.errors) {
            // A document that cannot be read is the config's problem: point at `spec`.
            if (e.line === undefined && e.file === specPath && e.path === '') {
              errors.push(
                source.error(
                  ['apis', String(i), 'versions', String(j), 'spec'],
                  `${e.message}: '${version.spec}'`,
                ),
              );
            } else errors.push(e);
          }
        }
      }
    }
    if (errors.length) {
      const files = new Set(errors.map((e) => e.file));
      print(io, errors);
      io.err(
        `\n✗ ${errors.length} error${errors.length === 1 ? '' : 's'} in ${files.size} file${files.size === 1 ? '' : 's'}`,
      );
      return 1;
    }
    io.out(
      `ok: ${apis} API${apis === 1 ? '' : 's'}, ${versions} version${versions === 1 ? '' : 's'}, ${operations} operation${operations === 1 ? '' : 's'}`,
    );
    return 0;
  },
};

export default check;
