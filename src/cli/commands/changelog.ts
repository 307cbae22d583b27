import { writeFile } from 'node:fs/promises';
import { systemClock } from '../../core/clock.ts';
import { buildChangelog, changelogHtml, changelogMarkdown } from '../../versions/changelog.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { versionsInput } from '../versions-input.ts';

const usage = `Usage: rampart changelog [-c FILE] [--format markdown|html|json] [--output FILE]

Renders the version history of every API in rampart.yaml: each version with its
lifecycle (active, deprecated, retired) and dates, and the breaking-change diff
between consecutive versions (rules: docs/versions.md). The HTML page is
self-contained, ready to publish; the admin listener serves it at /changelog.

Options:
  -c, --config FILE   configuration (default ./rampart.yaml, or $RAMPART_CONFIG)
  --format FORMAT     markdown (default), html or json
  --output FILE       write to FILE instead of standard output`;

const FORMATS = ['markdown', 'html', 'json'] as const;

const changelog: Command = {
  name: 'changelog',
  summary: 'Version history and breaking changes of every API, as Markdown or HTML',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      config: { type: 'string', short: 'c' },
      format: { type: 'string', default: 'markdown' },
      output: { type: 'string' },
    });
    const format = values.format as (typeof FORMATS)[number];
    if (!FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${values.format}'`);
    const { apis } = await versionsInput(values.config);
    const c = buildChangelog(apis, systemClock.now());
    const text =
      format === 'html'
        ? changelogHtml(c)
        : format === 'json'
          ? JSON.stringify(c, null, 2) + '\n'
          : changelogMarkdown(c);
    if (values.output) await writeFile(values.output, text);
    else io.out(text.replace(/\n$/, ''));
    return 0;
  },
};

export default changelog;
