import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { systemClock } from '../../core/clock.ts';
import { parseStoreUrl, openStore } from '../../store/index.ts';
import { buildInventory, inventoryMarkdown, inventoryText } from '../../versions/inventory.ts';
import { readTraffic, type TrafficSnapshot } from '../../versions/traffic.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { storeUrlOf, versionsInput } from '../versions-input.ts';

const usage = `Usage: rampart inventory [-c FILE] [--format text|json|markdown] [--output FILE] [--no-traffic]

Lists every API, version and operation in rampart.yaml with its lifecycle and the
protection configured for it (security schemes, MFA, roles, owner rule, rate
limit); operations without any security requirement are marked. From the store
that \`rampart start\` writes: when each operation was last called, the shadow
endpoints probed (paths no document declares) and the consumers still calling
deprecated versions.

Options:
  -c, --config FILE   configuration (default ./rampart.yaml, or $RAMPART_CONFIG)
  --format FORMAT     text (default), json or markdown
  --output FILE       write to FILE instead of standard output
  --no-traffic        do not read the store (configuration only)`;

const FORMATS = ['text', 'json', 'markdown'] as const;

const inventory: Command = {
  name: 'inventory',
  summary: 'Every API, version and operation with its protection and traffic (API9)',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      config: { type: 'string', short: 'c' },
      format: { type: 'string', default: 'text' },
      output: { type: 'string' },
      'no-traffic': { type: 'boolean', default: false },
    });
    const format = values.format as (typeof FORMATS)[number];
    if (!FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got '${values.format}'`);
    const { apis, config, baseDir } = await versionsInput(values.config);
    let traffic: TrafficSnapshot | undefined;
    if (!values['no-traffic']) {
      const url = storeUrlOf(config, baseDir);
      const target = parseStoreUrl(url);
      // Read-only: never create a database that does not exist yet.
      if (target.dialect === 'postgres' || (target.path !== ':memory:' && existsSync(target.path))) {
        const db = await openStore(url);
        try {
          traffic = await readTraffic(db);
        } finally {
          await db.close();
        }
      }
    }
    const inv = buildInventory(apis, traffic, systemClock.now());
    const text =
      format === 'json'
        ? JSON.stringify(inv, null, 2)
        : format === 'markdown'
          ? inventoryMarkdown(inv)
          : inventoryText(inv);
    if (values.output) await writeFile(values.output, text.endsWith('\n') ? text : text + '\n');
    else io.out(text.replace(/\n$/, ''));
    return 0;
  },
};

export default inventory;
