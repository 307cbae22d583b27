import { writeFile } from 'node:fs/promises';
import { formatConfigError } from '../../core/config-loader.ts';
import { checkOpenApiFile } from '../../core/openapi-loader.ts';
import type { OpenApiDocument } from '../../core/openapi.ts';
import { diffDocuments } from '../../versions/diff.ts';
import { DIFF_FORMATS, formatDiff, type DiffFormat } from '../../versions/format.ts';
import type { Command, CommandIO } from '../command.ts';
import { parseOptions, UsageError } from '../command.ts';

const usage = `Usage: rampart diff OLD NEW [--format text|markdown|json] [--output FILE] [--fail-on breaking|warning]

Compares two OpenAPI documents and classifies every change as breaking, warning or
info (rules: docs/versions.md), with the semantic-version bump they call for.

Options:
  --format FORMAT    text (default), markdown (a changelog section) or json
  --output FILE      write the report to FILE instead of standard output
  --fail-on LEVEL    exit 1 when a change at this level or above exists (breaking | warning)

Exit codes: 0 done, 1 a document is invalid or --fail-on matched, 2 bad arguments.`;

async function load(path: string, io: CommandIO): Promise<OpenApiDocument | undefined> {
  const r = await checkOpenApiFile(path);
  if (r.document) return r.document;
  for (const e of r.errors) io.err(formatConfigError(e));
  return undefined;
}

const diff: Command = {
  name: 'diff',
  summary: 'Breaking-change diff of two OpenAPI documents, with the version bump',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(
      argv,
      {
        format: { type: 'string', default: 'text' },
        output: { type: 'string' },
        'fail-on': { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 2)
      throw new UsageError(`expected two documents (OLD NEW), got ${positionals.length}`);
    const format = values.format as DiffFormat;
    if (!DIFF_FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${DIFF_FORMATS.join(', ')}, got '${values.format}'`);
    const failOn = values['fail-on'];
    if (failOn !== undefined && failOn !== 'breaking' && failOn !== 'warning')
      throw new UsageError(`--fail-on must be breaking or warning, got '${failOn}'`);
    const [a, b] = [await load(positionals[0]!, io), await load(positionals[1]!, io)];
    if (!a || !b) return 1;
    const result = diffDocuments(a, b);
    const text = formatDiff(result, format);
    if (values.output) await writeFile(values.output, text + '\n');
    else io.out(text);
    if (failOn === 'breaking' && result.counts.breaking > 0) return 1;
    if (failOn === 'warning' && result.counts.breaking + result.counts.warning > 0) return 1;
    return 0;
  },
};

export default diff;
