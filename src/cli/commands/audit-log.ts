import { existsSync } from 'node:fs';
import { auditQueryFrom } from '../../monitor/http.ts';
import { queryAuditLog } from '../../monitor/index.ts';
import { openStore } from '../../store/index.ts';
import { readConfig, resolveStoreUrl } from '../app.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

const usage = `Usage: rampart audit-log [-c rampart.yaml | --store URL] [filters] [--ndjson]

Queries the audit log (security decisions the monitor recorded) in the store, newest
first. Prints one line per record, or with --ndjson every matching record as one JSON
object per line (an export: all pages).

Filters:
  --from TIME         epoch ms or RFC 3339 (2026-12-01T20:00:00Z); inclusive
  --to TIME           exclusive
  --principal ID      user or API-key owner id
  --ip ADDR           client address
  --route ROUTE       route template with its version base, e.g. /v2/records/{recordId}
  --decision D        allow, deny, error, alert or info
  --category C        OWASP API Top 10 2023 id, e.g. API2:2023
  --type T            event type (denied, auth, shadow-endpoint, alert, request, …)
  --limit N           records to print (1-1000, default 50; ignored with --ndjson)

Options:
  -c, --config FILE   rampart.yaml to read the store URL from (default ./rampart.yaml)
  --store URL         store URL instead (sqlite://./data/rampart.db, postgres://…)
  --ndjson            export as NDJSON`;

const FILTERS = ['from', 'to', 'principal', 'ip', 'route', 'decision', 'category', 'type', 'limit'] as const;

const command: Command = {
  name: 'audit-log',
  summary: 'Query or export (NDJSON) the audit log of security decisions',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      config: { type: 'string', short: 'c' },
      store: { type: 'string' },
      ndjson: { type: 'boolean' },
      ...Object.fromEntries(FILTERS.map((f) => [f, { type: 'string' as const }])),
    });
    const params = new URLSearchParams();
    for (const f of FILTERS) {
      const v = (values as Record<string, string | undefined>)[f];
      if (v !== undefined) params.set(f, v);
    }
    let q;
    try {
      q = auditQueryFrom(params);
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/^(\w+) /, '--$1 '));
    }
    let url: string;
    if (values.store) url = values.store;
    else {
      const path = values.config ?? 'rampart.yaml';
      if (!values.config && !existsSync(path))
        throw new UsageError('no ./rampart.yaml here: pass -c FILE or --store URL');
      const loaded = await readConfig(path);
      url = resolveStoreUrl(loaded.config.store, loaded.baseDir);
    }
    const db = await openStore(url, { migrate: false });
    try {
      if (values.ndjson) {
        let page = await queryAuditLog(db, { ...q, limit: 1000 });
        for (;;) {
          for (const item of page.items) io.out(JSON.stringify(item));
          if (!page.next) break;
          page = await queryAuditLog(db, { ...q, limit: 1000, cursor: page.next });
        }
        return 0;
      }
      const page = await queryAuditLog(db, { ...q, limit: q.limit ?? 50 });
      if (page.items.length === 0) io.out('no matching records');
      for (const r of page.items) {
        const who = r.principal ?? '-';
        const what =
          r.type === 'alert'
            ? (r.event as { summary?: string }).summary
            : (r.route ?? (r.event as { path?: string }).path ?? '');
        io.out(
          `${new Date(r.at).toISOString()}  ${r.decision.padEnd(5)} ${r.type.padEnd(16)} ${(r.category ?? '-').padEnd(10)} ${(r.ip ?? '-').padEnd(15)} ${who.padEnd(12)} ${r.status ?? ''} ${what}`,
        );
      }
      if (page.next)
        io.out(`… more: add --to ${page.items[page.items.length - 1]!.at} (or use --ndjson to export all)`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

export default command;
