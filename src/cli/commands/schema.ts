import type { Command } from '../command.ts';
import { UsageError } from '../command.ts';
import { toJsonSchema, writeJsonSchema } from '../../core/config-loader.ts';
import { configSchema } from '../config-schema.ts';

const usage = `Usage: rampart schema [--out FILE]

Prints the JSON Schema of rampart.yaml (draft-07), or writes it to FILE.
Editors then autocomplete and check the file, e.g. with the YAML language server:

  # yaml-language-server: $schema=./rampart.schema.json`;

const schema: Command = {
  name: 'schema',
  summary: 'Print or write the JSON Schema of rampart.yaml',
  usage,
  async run(argv, io) {
    let out: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '--out' || a === '-o') {
        out = argv[++i];
        if (!out) throw new UsageError(`${a} needs a file`);
      } else if (a.startsWith('--out=')) out = a.slice('--out='.length);
      else throw new UsageError(`unexpected argument '${a}'`);
    }
    if (out === undefined) {
      io.out(JSON.stringify(toJsonSchema(configSchema), null, 2));
      return 0;
    }
    await writeJsonSchema(configSchema, out);
    io.out(`wrote ${out}`);
    return 0;
  },
};

export default schema;
