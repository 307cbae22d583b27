import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunMeta } from '../../core/findings.ts';
import {
  REPORT_CLI_OPTIONS,
  REPORT_CLI_USAGE,
  ReportOptionError,
  reportOptions,
  runReport,
  shouldColor,
} from '../../report/index.ts';
import { downloadAdvisories, OSV_NPM_ARCHIVE } from '../../code/dependencies/scan.ts';
import { loadAdvisories, type OsvAdvisory } from '../../code/dependencies/osv.ts';
import { scanHistory, scanTree } from '../../code/scan.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { recordRun } from '../record-run.ts';

const usage = `Usage: rampart code [PATH] [options]

Scans a source tree (default .) for hardcoded secrets, insecure API code patterns
(JS/TS, with intra-file data flow from request inputs) and, with --advisories,
known-vulnerable dependencies in package-lock.json, pnpm-lock.yaml and yarn.lock.
See docs/code-scan.md.

Options:
${REPORT_CLI_USAGE}
  --advisories PATH   OSV advisories: a .json file, a .zip archive (osv.dev npm/all.zip) or a directory
  --update-advisories [URL]
                      download an OSV archive (default ${OSV_NPM_ARCHIVE})
                      to --advisories (default .rampart/advisories/npm.zip), then scan
  --exclude GLOB      skip matching paths (repeatable; .gitignore and node_modules are always honoured)
  --history           also scan every line added in the git history for secrets (reports the commit)
  -c, --config FILE   record the run in this rampart.yaml's store (posture and the console read it)`;

const code: Command = {
  name: 'code',
  summary: 'Scan source code for secrets, insecure patterns and vulnerable dependencies',
  usage,
  async run(argv, io) {
    // `--update-advisories` takes an optional URL: normalise the bare form for parseArgs.
    const args = argv.flatMap((a, i) =>
      a === '--update-advisories' &&
      (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-') || !/^https?:/.test(argv[i + 1]!))
        ? [`--update-advisories=${OSV_NPM_ARCHIVE}`]
        : [a],
    );
    const { values, positionals } = parseOptions(
      args,
      {
        ...REPORT_CLI_OPTIONS,
        advisories: { type: 'string' },
        'update-advisories': { type: 'string' },
        exclude: { type: 'string', multiple: true },
        history: { type: 'boolean' },
        config: { type: 'string', short: 'c' },
      },
      true,
    );
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
    let opts;
    try {
      opts = reportOptions(values);
    } catch (err) {
      if (err instanceof ReportOptionError) throw new UsageError(err.message);
      throw err;
    }
    const root = resolve(positionals[0] ?? '.');
    if (!existsSync(root)) throw new Error(`${positionals[0] ?? '.'}: no such file or directory`);
    const startedAt = new Date().toISOString();
    const notes: string[] = [];
    let advisoriesPath = values.advisories;
    if (values['update-advisories'] !== undefined) {
      const url = values['update-advisories'];
      if (!/^https?:\/\//.test(url))
        throw new UsageError(`--update-advisories expects an http(s) URL, got '${url}'`);
      advisoriesPath ??= '.rampart/advisories/npm.zip';
      const { bytes } = await downloadAdvisories(url, advisoriesPath);
      io.err(`rampart code: downloaded ${bytes} bytes of advisories to ${advisoriesPath}`);
    }
    let advisories: OsvAdvisory[] | undefined;
    if (advisoriesPath !== undefined) {
      if (!existsSync(advisoriesPath))
        throw new Error(`--advisories ${advisoriesPath}: no such file or directory`);
      advisories = loadAdvisories(advisoriesPath, notes);
      notes.push(`dependencies: ${advisories.length} npm advisories loaded from ${advisoriesPath}`);
    }
    const tty = process.stderr.isTTY === true;
    let lastShown = 0;
    const result = scanTree(root, {
      ...(values.exclude ? { exclude: values.exclude } : {}),
      ...(advisories ? { advisories } : {}),
      ...(tty
        ? {
            progress: (done: number, total: number) => {
              const now = Date.now();
              if (done !== total && now - lastShown < 100) return;
              lastShown = now;
              process.stderr.write(`\rrampart code: ${done}/${total} files${done === total ? '\n' : ''}`);
            },
          }
        : {}),
    });
    const findings = [...result.findings];
    if (values.history) findings.push(...scanHistory(root, notes));
    const meta: RunMeta = {
      tool: 'code',
      target: positionals[0] ?? '.',
      startedAt,
      finishedAt: new Date().toISOString(),
      version: '0.1.0',
      stats: { ...result.stats, findings: findings.length },
      notes: [...notes, ...result.notes],
      checks: result.checks,
      targets: result.files,
    };
    const run = runReport(findings, meta, opts, { out: io.out, color: shouldColor(process.stdout) });
    if (values.config) await recordRun(values.config, findings, meta, io);
    return run.exitCode;
  },
};

export default code;
