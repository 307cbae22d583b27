import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { isMap, isSeq, parseDocument, stringify, type YAMLMap } from 'yaml';
import { loadOpenApi } from '../../core/openapi-loader.ts';
import { formatSourceError, SourceErrors } from '../../core/source-errors.ts';
import {
  compare,
  comparisonFindings,
  comparisonMeta,
  documentBase,
  type Comparison,
  type Documented,
} from '../../learn/compare.ts';
import { learnedDocument } from '../../learn/document.ts';
import { Learner } from '../../learn/learner.ts';
import { LearningProxy } from '../../learn/proxy.ts';
import { readSnapshot, snapshotDocument } from '../../learn/service.ts';
import { openStore, parseStoreUrl, type Db } from '../../store/index.ts';
import { readConfig, resolveStoreUrl, StartupErrors } from '../app.ts';
import type { RampartFileConfig } from '../config-schema.ts';
import { validateConfigFile } from '../validate.ts';
import {
  REPORT_CLI_OPTIONS,
  REPORT_CLI_USAGE,
  ReportOptionError,
  reportOptions,
  runReport,
  shouldColor,
} from '../../report/index.ts';
import {
  configPathFrom,
  parseOptions,
  parsePort,
  UsageError,
  type Command,
  type CommandIO,
} from '../command.ts';

const usage = `Usage: rampart learn --upstream URL [--listen HOST:PORT] [--out FILE] [--sample RATE]
                     [--max-duration S] [--flush S]
       rampart learn diff LEARNED --spec FILE [--spec FILE…] [--base PATH] [report options]
       rampart learn export [-c rampart.yaml] --api NAME [--base PATH] [--out FILE]
       rampart learn promote [-c rampart.yaml] --api NAME [--base PATH] [--from FILE] [--force]

Learn mode: a proxy that forwards everything to URL (nothing is blocked, undocumented paths
included), infers the OpenAPI 3.1 contract from what passes — path templates, parameters,
JSON schemas per status, content types, security requirements — and writes it to FILE on
Ctrl-C (SIGINT), SIGTERM, after --max-duration and every --flush seconds. Only shapes and
counts are kept, never bodies, tokens, cookies, passwords or personal values. Suggestions
(roles, owner, minimisation) are under x-rampart-suggested: nothing is enforced.

Options:
  --upstream URL      where to forward (http:// or https://), e.g. http://127.0.0.1:9000
  --listen HOST:PORT  where the proxy listens (default 127.0.0.1:8080; port 0 = any free port)
  --out FILE          the learned document (default learned-openapi.yaml; .json writes JSON)
  --sample RATE       share of exchanges whose bodies are inferred, 0-1 (default 1); paths,
                      statuses and headers are learned from every exchange
  --max-duration S    stop after S seconds (default: until SIGINT/SIGTERM)
  --flush S           also write the document every S seconds (default 30)

diff: compares a learned document with the documented ones and reports shadow endpoints
(seen, not documented; API9), documented operations never called, and properties returned
but not declared (API3) as findings (docs/findings.md), with the agreement figures.
  --spec FILE         a documented OpenAPI document (repeatable)
  --base PATH         path prefix of the --spec operations on the wire (default: each
                      document's relative servers[0].url, e.g. /v2)
${REPORT_CLI_USAGE}

export: writes what \`rampart start\` learned for an API with mode: learn or learn: true
(from the store of rampart.yaml) as an OpenAPI 3.1 document, to stdout or --out FILE.
promote: writes the reviewed document (--from FILE, else the learned one) next to
rampart.yaml as NAME-openapi.yaml (refused if it exists, unless --force), points the
API's version at it and switches the API to enforcement (rampart.yaml edited in place,
comments kept); the result must pass \`rampart check\`, else nothing is changed.
  -c, --config FILE   configuration file (default ./rampart.yaml, or $RAMPART_CONFIG)
  --api NAME          the API (rampart.yaml apis[].name)
  --base PATH         the version (its base path), when the API has several

See docs/learn.md (thresholds, privacy, precision and recall).`;

function parseListen(v: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m) throw new UsageError(`--listen expects HOST:PORT, e.g. 127.0.0.1:8080, got '${v}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: parsePort(m[2]!, '--listen') };
}

function seconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > 2_592_000)
    throw new UsageError(`${flag} expects a whole number of seconds 1-2592000, got '${v}'`);
  return Number(v);
}

function upstreamUrl(v: string | undefined): string {
  if (!v) throw new UsageError('--upstream URL is required');
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new UsageError(`--upstream is not a URL: '${v}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--upstream must be an http or https URL, got ${url.protocol}`);
  if (url.search || url.hash) throw new UsageError('--upstream is a base URL: no query or fragment');
  return url.href.replace(/\/$/, '');
}

/** Writes the document atomically (a reader never sees half a file). */
async function writeDocument(file: string, doc: unknown): Promise<void> {
  const text = /\.json$/i.test(file) ? JSON.stringify(doc, null, 2) + '\n' : stringify(doc, { lineWidth: 0 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

async function runProxy(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseOptions(argv, {
    upstream: { type: 'string' },
    listen: { type: 'string' },
    out: { type: 'string' },
    sample: { type: 'string' },
    'max-duration': { type: 'string' },
    flush: { type: 'string' },
  });
  const upstream = upstreamUrl(values.upstream);
  const listen = parseListen(values.listen ?? '127.0.0.1:8080');
  if (values.out === '') throw new UsageError('--out needs a file');
  const out = values.out ?? 'learned-openapi.yaml';
  let sample = 1;
  if (values.sample !== undefined) {
    if (!/^(0(\.\d{1,6})?|1(\.0{1,6})?)$/.test(values.sample))
      throw new UsageError(`--sample expects a rate from 0 to 1, e.g. 0.1, got '${values.sample}'`);
    sample = Number(values.sample);
  }
  const maxDuration = seconds(values['max-duration'], '--max-duration');
  const flush = seconds(values.flush, '--flush') ?? 30;

  const learner = new Learner();
  const proxy = new LearningProxy({ upstream, learner, host: listen.host, port: listen.port, sample });
  try {
    await proxy.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    io.err(
      `rampart learn: cannot listen on ${values.listen ?? '127.0.0.1:8080'}${e.code ? ` (${e.code})` : ''}`,
    );
    return 1;
  }
  const doc = () => learnedDocument(learner, { upstream, title: `Learned from ${upstream}` });
  io.out(`Rampart learn: proxy on ${proxy.url} → ${upstream}; writing ${out} every ${flush} s and on stop`);
  let writing = Promise.resolve();
  const write = (): Promise<void> => {
    writing = writing.then(async () => {
      proxy.drain();
      await writeDocument(out, doc());
    });
    return writing;
  };
  const timer = setInterval(() => {
    write().catch((err: unknown) => io.err(`rampart learn: cannot write ${out}: ${(err as Error).message}`));
  }, flush * 1000);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearTimeout(deadline);
      resolve();
    };
    const deadline = maxDuration ? setTimeout(stop, maxDuration * 1000) : undefined;
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(timer);
  await proxy.close();
  try {
    await write();
  } catch (err) {
    io.err(`rampart learn: cannot write ${out}: ${(err as Error).message}`);
    return 1;
  }
  const s = learner.stats;
  const skipped = Object.entries(s.skipped)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  io.out(
    `Learned ${learner.templates().length} operations from ${s.exchanges} exchanges` +
      (skipped ? ` (skipped: ${skipped})` : '') +
      ` → ${out}`,
  );
  if (s.upstreamErrors)
    io.err(`rampart learn: the upstream failed ${s.upstreamErrors} time(s), last: ${s.lastUpstreamError}`);
  return 0;
}

async function runDiff(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseOptions(
    argv,
    { ...REPORT_CLI_OPTIONS, spec: { type: 'string', multiple: true }, base: { type: 'string' } },
    true,
  );
  let opts;
  try {
    opts = reportOptions(values);
  } catch (err) {
    if (err instanceof ReportOptionError) throw new UsageError(err.message);
    throw err;
  }
  if (positionals.length !== 1) throw new UsageError('diff needs one learned document');
  const specs = values.spec ?? [];
  if (specs.length === 0) throw new UsageError('diff needs at least one --spec FILE');
  if (values.base !== undefined && !/^(\/[^/\s?#]+)*\/?$/.test(values.base))
    throw new UsageError(`--base expects a path like /v2, got '${values.base}'`);
  const startedAt = new Date();
  let comparison: Comparison;
  try {
    const learned = await loadOpenApi(positionals[0]!);
    const documented: Documented[] = [];
    for (const s of specs) {
      const doc = await loadOpenApi(s);
      documented.push({ doc, base: (values.base ?? documentBase(doc)).replace(/\/$/, '') });
    }
    comparison = compare(learned, documented);
  } catch (err) {
    if (err instanceof SourceErrors) {
      for (const e of err.errors) io.err(formatSourceError(e));
      return 1;
    }
    throw err;
  }
  const findings = comparisonFindings(comparison, positionals[0]!);
  const run = runReport(findings, comparisonMeta(comparison, positionals[0]!, startedAt), opts, {
    out: io.out,
    color: shouldColor(),
  });
  if (opts.format === 'text' && opts.output === undefined) {
    const m = comparison.metrics;
    const pct = (r: { matched: number; of: number; value: number }) =>
      `${(r.value * 100).toFixed(1)} % (${r.matched}/${r.of})`;
    io.out(
      [
        '',
        `operations  precision ${pct(m.operationPrecision)}  recall ${pct(m.operationRecall)}`,
        `templates   exact ${pct(m.templatesExact)}  parameter names ${pct(m.parameterNames)}`,
        `properties  precision ${pct(m.propertyPrecision)}  recall ${pct(m.propertyRecall)}  types ${pct(m.propertyTypes)}`,
        `security    ${pct(m.security)}`,
      ].join('\n'),
    );
  }
  return run.exitCode;
}

/** The config, the API and its version named by --api/--base (usage errors exit 2). */
async function learningApi(
  values: { config?: string; api?: string; base?: string },
  io: CommandIO,
): Promise<
  | { config: RampartFileConfig; baseDir: string; file: string; index: number; base: string; vindex: number }
  | number
> {
  const file = configPathFrom(values.config);
  if (!existsSync(file)) {
    io.err(`rampart learn: no configuration at ${file}`);
    return 1;
  }
  let loaded;
  try {
    loaded = await readConfig(file);
  } catch (err) {
    if (!(err instanceof StartupErrors)) throw err;
    for (const e of err.errors) io.err(formatSourceError(e));
    return 1;
  }
  const { config, baseDir } = loaded;
  if (!values.api) throw new UsageError('--api NAME is required');
  const index = config.apis.findIndex((a) => a.name === values.api);
  if (index === -1)
    throw new UsageError(
      `no API '${values.api}' in ${file} (APIs: ${config.apis.map((a) => a.name).join(', ') || 'none'})`,
    );
  const api = config.apis[index]!;
  const bases = api.versions.map((v) => v.base);
  let base = values.base;
  if (base === undefined) {
    if (bases.length > 1)
      throw new UsageError(
        `API '${api.name}' has several versions: name one with --base (${bases.join(', ')})`,
      );
    base = bases[0]!;
  } else if (!bases.includes(base))
    throw new UsageError(`API '${api.name}' has no version ${base} (versions: ${bases.join(', ')})`);
  return { config, baseDir, file, index, base, vindex: bases.indexOf(base) };
}

/** Opens the config's store for reading what was learned; never creates a SQLite file. */
async function openLearnStore(
  config: RampartFileConfig,
  baseDir: string,
  io: CommandIO,
): Promise<Db | number> {
  const url = resolveStoreUrl(config.store, baseDir);
  const target = parseStoreUrl(url);
  if (target.dialect === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)) {
    io.err(
      `rampart learn: no store at ${target.path}: nothing learned yet (run rampart start with the API in mode: learn or learn: true)`,
    );
    return 1;
  }
  try {
    return await openStore(url);
  } catch (err) {
    io.err(`rampart learn: cannot open the store: ${(err as Error).message}`);
    return 1;
  }
}

/** The learned document of the named API version from the store, or an exit code. */
async function storedDocument(
  sel: Exclude<Awaited<ReturnType<typeof learningApi>>, number>,
  io: CommandIO,
): Promise<Record<string, unknown> | number> {
  const api = sel.config.apis[sel.index]!;
  const db = await openLearnStore(sel.config, sel.baseDir, io);
  if (typeof db === 'number') return db;
  try {
    const snap = await readSnapshot(db, api.name, sel.base);
    if (!snap) {
      const learns = api.mode === 'learn' || api.learn;
      io.err(
        `rampart learn: nothing learned yet for API '${api.name}' ${sel.base}` +
          (learns
            ? ' (no traffic has been flushed to the store yet)'
            : ' (it has neither mode: learn nor learn: true)'),
      );
      return 1;
    }
    const v = api.versions[sel.vindex]!;
    return snapshotDocument(snap, { api: api.name, base: sel.base, upstream: v.upstream ?? api.upstream });
  } finally {
    await db.close();
  }
}

const documentText = (file: string | undefined, doc: unknown): string =>
  file && /\.json$/i.test(file) ? JSON.stringify(doc, null, 2) + '\n' : stringify(doc, { lineWidth: 0 });

async function runExport(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseOptions(argv, {
    config: { type: 'string', short: 'c' },
    api: { type: 'string' },
    base: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.out === '') throw new UsageError('--out needs a file');
  const sel = await learningApi(values, io);
  if (typeof sel === 'number') return sel;
  const doc = await storedDocument(sel, io);
  if (typeof doc === 'number') return doc;
  if (values.out === undefined) {
    io.out(documentText(undefined, doc).replace(/\n$/, ''));
    return 0;
  }
  await writeDocument(values.out, doc);
  const ops = Object.values((doc.paths ?? {}) as Record<string, object>).reduce(
    (n, item) => n + Object.keys(item).length,
    0,
  );
  io.err(
    `rampart learn: ${ops} learned operation(s) of ${sel.config.apis[sel.index]!.name} ${sel.base} → ${values.out}`,
  );
  return 0;
}

async function runPromote(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseOptions(argv, {
    config: { type: 'string', short: 'c' },
    api: { type: 'string' },
    base: { type: 'string' },
    from: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (values.from === '') throw new UsageError('--from needs a file');
  const sel = await learningApi(values, io);
  if (typeof sel === 'number') return sel;
  const api = sel.config.apis[sel.index]!;
  let text: string;
  if (values.from !== undefined) {
    try {
      text = await readFile(values.from, 'utf8');
    } catch (err) {
      io.err(
        `rampart learn: cannot read ${values.from}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
      return 1;
    }
    try {
      await loadOpenApi(values.from);
    } catch (err) {
      if (!(err instanceof SourceErrors)) throw err;
      for (const e of err.errors) io.err(formatSourceError(e));
      return 1;
    }
  } else {
    const doc = await storedDocument(sel, io);
    if (typeof doc === 'number') return doc;
    text = documentText(undefined, doc);
  }
  const configDir = dirname(resolve(sel.file));
  const name = `${api.name}${sel.base === '/' ? '' : sel.base.replace(/\//g, '-')}-openapi.yaml`;
  const target = join(configDir, name);
  const same = values.from !== undefined && resolve(values.from) === target;
  if (!same && existsSync(target) && !values.force) {
    io.err(`rampart learn: ${target} exists: review it, or pass --force to overwrite it`);
    return 1;
  }
  const original = await readFile(sel.file, 'utf8');
  const edited = flipToEnforce(original, sel.index, sel.vindex, './' + relative(configDir, target));
  const previous = existsSync(target) ? await readFile(target, 'utf8') : undefined;
  if (!same) await writeFile(target, text);
  await writeFile(sel.file, edited);
  // The promoted config must pass the same judgement as `rampart check`; otherwise undo.
  const v = await validateConfigFile(sel.file);
  if (v.errors.length) {
    await writeFile(sel.file, original);
    if (!same) {
      if (previous === undefined) await rm(target, { force: true });
      else await writeFile(target, previous);
    }
    for (const e of v.errors) io.err(formatSourceError(e));
    io.err(`rampart learn: the promoted configuration does not pass rampart check; nothing was changed`);
    return 1;
  }
  io.out(
    `Promoted ${api.name} ${sel.base}: ${relative(process.cwd(), target) || target} is its document; ${sel.file} now enforces it (rampart check: ok). Restart or reload (SIGHUP) to apply.`,
  );
  return 0;
}

/**
 * rampart.yaml with API `index` switched to enforcement and version `vindex` pointing at
 * `spec` — edited through the yaml Document API, so comments and layout stay.
 */
export function flipToEnforce(text: string, index: number, vindex: number, spec: string): string {
  const doc = parseDocument(text);
  const apis = doc.get('apis', true);
  if (!isSeq(apis)) throw new Error('rampart.yaml has no apis list');
  const api = apis.items[index];
  if (!isMap(api)) throw new Error(`apis[${index}] is not a map`);
  const learnsBeside = api.get('learn') === true;
  api.delete('mode');
  if (!learnsBeside) api.delete('learnSample');
  const versions = api.get('versions', true);
  if (!isSeq(versions) || !isMap(versions.items[vindex]))
    throw new Error(`apis[${index}].versions[${vindex}] is not a map`);
  (versions.items[vindex] as YAMLMap).set('spec', spec);
  return doc.toString();
}

const learn: Command = {
  name: 'learn',
  summary:
    'Infer the OpenAPI contract from live traffic (a learning proxy), diff it with a document, export or promote what rampart start learned',
  usage,
  async run(argv, io) {
    if (argv[0] === 'diff') return runDiff(argv.slice(1), io);
    if (argv[0] === 'export') return runExport(argv.slice(1), io);
    if (argv[0] === 'promote') return runPromote(argv.slice(1), io);
    return runProxy(argv, io);
  },
};

export default learn;
