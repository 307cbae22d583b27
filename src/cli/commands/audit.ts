import { relative } from 'node:path';
import type { Command, CommandIO } from '../command.ts';
import { parseOptions, UsageError } from '../command.ts';
import {
  checkConfigFile,
  ConfigErrors,
  formatConfigError,
  resolveRelative,
  type ConfigError,
} from '../../core/config-loader.ts';
import type { RunMeta } from '../../core/findings.ts';
import {
  audit,
  AuditInputError,
  DEFAULT_MAX_BYTES,
  loadAuditDocument,
  rankFixes,
  score,
  suggestedPolicies,
  type AuditDocument,
} from '../../audit/index.ts';
import {
  applyBaseline,
  loadBaseline,
  REPORT_CLI_OPTIONS,
  REPORT_CLI_USAGE,
  ReportOptionError,
  reportOptions,
  runReport,
  shouldColor,
  suppressedMeta,
} from '../../report/index.ts';
import type { RampartConfig } from '../../gateway/config.ts';
import { X_RAMPART_KEYS } from '../app.ts';
import { configSchema } from '../config-schema.ts';
import { recordRun } from '../record-run.ts';

const usage = `Usage: rampart audit SPEC… [options]
       rampart audit -c rampart.yaml [SPEC…] [options]

Audits OpenAPI 3.0/3.1 documents for security problems (OWASP API Security Top 10 2023),
without sending a request: ranked findings, a 0–100 score per category and overall, and
the top five fixes. With -c, every document rampart.yaml names is audited together with
the config and its x-rampart policies. See docs/audit.md.

Options:
${REPORT_CLI_USAGE}
  --min-score N       also exit 1 when the overall score is below N (0-100)
  -c, --config FILE   audit the documents this rampart.yaml names, with its policies,
                      and record the run in its store (posture and the console read it)
  --no-record         with -c: do not record the run in the store
  --suggest-policies  add the x-rampart that would close each finding, and print them
  --max-size MIB      refuse documents larger than this (default ${DEFAULT_MAX_BYTES / 1048576})

Exit codes: 0 clean, 1 findings at or above --fail-on (default high) or score below
--min-score or unreadable input, 2 usage error.`;

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

function printErrors(io: CommandIO, errors: ConfigError[]): void {
  for (const e of errors) io.err(formatConfigError({ ...e, file: display(e.file) }));
}

/** The documents rampart.yaml names, with each version's base, lifecycle and the gateway facts. */
async function fromConfig(path: string, maxBytes: number): Promise<AuditDocument[]> {
  const result = await checkConfigFile<RampartConfig>(path, configSchema);
  if (!result.config) throw new ConfigErrors(result.errors);
  const config = result.config;
  const docs: AuditDocument[] = [];
  const errors: ConfigError[] = [];
  for (const api of config.apis) {
    for (const v of api.versions) {
      if (v.spec === undefined) continue; // mode: learn — no document to audit yet
      const spec = resolveRelative(result.baseDir, v.spec);
      try {
        docs.push(
          loadAuditDocument(display(spec), {
            maxBytes,
            base: v.base,
            lifecycle: {
              ...(v.deprecated ? { deprecated: v.deprecated } : {}),
              ...(v.sunset ? { sunset: v.sunset } : {}),
              ...(v.successor ? { successor: v.successor } : {}),
            },
            gateway: {
              configFile: display(path),
              maxBodyBytes: config.limits.maxBodyBytes,
              policies: config.policies,
              tls: config.listen.tls.enabled,
              listenHost: config.listen.host,
              upstream: v.upstream ?? api.upstream,
            },
          }),
        );
      } catch (err) {
        if (err instanceof AuditInputError) errors.push(...err.errors);
        else throw err;
      }
    }
  }
  if (errors.length) throw new AuditInputError(errors);
  return docs;
}

const auditCommand: Command = {
  name: 'audit',
  summary: 'Audit OpenAPI documents for security problems (static; score and top fixes)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(
      argv,
      {
        ...REPORT_CLI_OPTIONS,
        'min-score': { type: 'string' },
        config: { type: 'string', short: 'c' },
        'suggest-policies': { type: 'boolean' },
        'max-size': { type: 'string' },
        'no-record': { type: 'boolean' },
      },
      true,
    );
    let opts;
    try {
      opts = reportOptions(values);
    } catch (err) {
      if (err instanceof ReportOptionError) throw new UsageError(err.message);
      throw err;
    }
    if (!positionals.length && !values.config)
      throw new UsageError('name at least one OpenAPI document, or -c rampart.yaml');
    let minScore: number | undefined;
    if (values['min-score'] !== undefined) {
      if (!/^\d{1,3}$/.test(values['min-score']) || Number(values['min-score']) > 100)
        throw new UsageError(`--min-score expects an integer 0-100, got '${values['min-score']}'`);
      minScore = Number(values['min-score']);
    }
    let maxBytes = DEFAULT_MAX_BYTES;
    if (values['max-size'] !== undefined) {
      if (!/^\d+$/.test(values['max-size']) || Number(values['max-size']) < 1)
        throw new UsageError(`--max-size expects a positive number of MiB, got '${values['max-size']}'`);
      maxBytes = Number(values['max-size']) * 1048576;
    }

    const startedAt = new Date();
    const docs: AuditDocument[] = [];
    const inputErrors: ConfigError[] = [];
    try {
      if (values.config) docs.push(...(await fromConfig(values.config, maxBytes)));
    } catch (err) {
      if (err instanceof AuditInputError || err instanceof ConfigErrors) inputErrors.push(...err.errors);
      else throw err;
    }
    for (const spec of positionals) {
      try {
        docs.push(loadAuditDocument(spec, { maxBytes }));
      } catch (err) {
        if (err instanceof AuditInputError) inputErrors.push(...err.errors);
        else throw err;
      }
    }
    if (inputErrors.length) {
      printErrors(io, inputErrors);
      const files = new Set(inputErrors.map((e) => e.file)).size;
      io.err(
        `\n✗ ${inputErrors.length} error${inputErrors.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}: nothing audited`,
      );
      return 1;
    }

    // The policies' own x-rampart schemas: the audit flags what the gateway would refuse.
    const result = audit(
      docs.map((d) => ({ ...d, xRampart: X_RAMPART_KEYS })),
      { suggestPolicies: values['suggest-policies'] === true },
    );
    let findings = result.findings;
    let suppressed: RunMeta['suppressed'];
    const notes: string[] = [];
    if (opts.baseline) {
      try {
        const r = applyBaseline(findings, loadBaseline(opts.baseline), new Date());
        findings = r.kept;
        suppressed = suppressedMeta(r);
        notes.push(...r.notes);
      } catch (err) {
        if (err instanceof ConfigErrors) {
          printErrors(io, err.errors);
          return 1;
        }
        throw err;
      }
    }
    // Accepted findings do not count against the score.
    const s = opts.baseline ? score(findings) : result.score;
    const fixes = opts.baseline ? rankFixes(findings) : result.topFixes;
    const meta: RunMeta = {
      tool: 'audit',
      target: docs.map((d) => d.file).join(', '),
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      version: '0.1.0',
      stats: { ...result.stats, findings: findings.length },
      score: s,
      checks: result.checks,
      topFixes: fixes,
      ...(notes.length ? { notes } : {}),
      ...(suppressed?.length ? { suppressed } : {}),
    };
    // The baseline is already applied (the score must not count accepted findings).
    const withoutBaseline = { ...opts };
    delete withoutBaseline.baseline;
    const run = runReport(findings, meta, withoutBaseline, { out: io.out, color: shouldColor() });
    // With -c, the run goes to the config's store (posture, admin API, console read it there).
    if (values.config && values['no-record'] !== true) await recordRun(values.config, findings, meta, io);
    if (values['suggest-policies'] && (opts.format === 'text' || opts.output !== undefined))
      io.out('\n' + suggestedPolicies(findings).trimEnd());
    if (minScore !== undefined && s.overall < minScore) {
      io.err(`rampart audit: score ${s.overall} is below --min-score ${minScore}`);
      return 1;
    }
    return run.exitCode;
  },
};

export default auditCommand;
