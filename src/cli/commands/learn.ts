import { rename, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
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
import {
  REPORT_CLI_OPTIONS,
  REPORT_CLI_USAGE,
  ReportOptionError,
  reportOptions,
  runReport,
  shouldColor,
} from '../../report/index.ts';
import { parseOptions, parsePort, UsageError, type Command, type CommandIO } from '../command.ts';

const usage = `Usage: rampart learn --upstream URL [--listen HOST:PORT] [--out FILE] [--sample RATE]
                     [--max-duration S] [--flush S]
       rampart learn diff LEARNED --spec FILE [--spec FILE…] [--base PATH] [report options]

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

const learn: Command = {
  name: 'learn',
  summary: 'Infer the OpenAPI contract from live traffic (a learning proxy), or diff it with a document',
  usage,
  async run(argv, io) {
    if (argv[0] === 'diff') return runDiff(argv.slice(1), io);
    return runProxy(argv, io);
  },
};

export default learn;
