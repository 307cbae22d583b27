import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { systemClock } from '../../core/clock.ts';
import { formatSourceError } from '../../core/source-errors.ts';
import { POSTURE_FORMATS, renderPosture, type PostureFormat } from '../../posture/render.ts';
import { configFromObject, readConfig, StartupErrors } from '../app.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';
import { demoConfigObject } from '../demo.ts';
import { postureReport, type PostureSource } from '../posture-input.ts';

const usage = `Usage: rampart posture [-c rampart.yaml] [--format text|json|markdown|html] [--fail-under N] [--out FILE]

Scores how well the configured APIs follow the API security checklist (MFA, versioning,
scans, monitoring, secure coding, data exposure, penetration-style testing, TLS, rate
limiting, role-based access) and the OWASP API Security Top 10 2023: for each, what is
prevented (the policies of every operation's compiled chain), detected (the latest stored
scan, audit and code-scan results and their age) and monitored (the alert rules watching
it, and whether a recorded rampart simulate fired them). Prints a score per item and
overall, the trend across runs and the next actions ranked by the points they add.
Everything is derived from rampart.yaml, its documents, stored results and the store;
without a config file it judges the built-in demo. See docs/posture.md.

Options:
  -c, --config FILE   configuration (default $RAMPART_CONFIG, else ./rampart.yaml, else the demo)
  --format FORMAT     text (default), json, markdown or html
  --out FILE          write the report to FILE instead of standard output
  --fail-under N      exit 1 when the overall score is below N (0-100)
  --data DIR          data directory of the built-in demo (default ./data)
  --no-record         do not append this run to the history (posture.history)
  --no-traffic        do not read the store

Exit codes: 0 done (score at or above --fail-under), 1 score below --fail-under,
2 usage error, 3 the configuration or the history could not be read.`;

function failUnder(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,3}$/.test(v) || Number(v) > 100)
    throw new UsageError(`--fail-under expects a whole number 0-100, got '${v}'`);
  return Number(v);
}

async function sourceOf(config: string | undefined, data: string | undefined): Promise<PostureSource> {
  const named = config ?? (process.env.RAMPART_CONFIG || undefined);
  const path = named ?? (existsSync('rampart.yaml') ? 'rampart.yaml' : undefined);
  if (named !== undefined && !existsSync(named))
    throw new UsageError(`no configuration at ${named} (from ${config ? '-c' : 'RAMPART_CONFIG'})`);
  if (path) {
    if (data !== undefined)
      throw new UsageError(`--data is for the built-in demo; ${path} names its own paths under posture:`);
    const { config: c, baseDir } = await readConfig(path);
    return { config: c, baseDir, label: path };
  }
  const dataDir = resolve(data ?? 'data');
  // Judged, not run: the lab and its insurer are not started (posture contacts no upstream).
  const object = demoConfigObject({
    dataDir,
    labUrl: 'http://127.0.0.1:9',
    insurerUrl: 'http://127.0.0.1:9',
  });
  return {
    config: configFromObject(object, dataDir),
    baseDir: dataDir,
    label: 'built-in demo (no rampart.yaml)',
  };
}

const posture: Command = {
  name: 'posture',
  summary: 'Score the APIs against the security checklist and the OWASP API Top 10, with next actions',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      config: { type: 'string', short: 'c' },
      format: { type: 'string', default: 'text' },
      out: { type: 'string' },
      'fail-under': { type: 'string' },
      data: { type: 'string' },
      'no-record': { type: 'boolean', default: false },
      'no-traffic': { type: 'boolean', default: false },
    });
    const format = values.format as PostureFormat;
    if (!POSTURE_FORMATS.includes(format))
      throw new UsageError(`--format must be one of ${POSTURE_FORMATS.join(', ')}, got '${values.format}'`);
    const threshold = failUnder(values['fail-under']);
    let src: PostureSource;
    let report;
    try {
      src = await sourceOf(values.config, values.data);
      report = await postureReport(src, systemClock, {
        traffic: !values['no-traffic'],
        record: !values['no-record'],
      });
    } catch (err) {
      if (err instanceof UsageError) throw err;
      if (err instanceof StartupErrors) {
        io.err(
          `rampart posture: the configuration has ${err.errors.length} error(s):\n${err.errors.map(formatSourceError).join('\n')}`,
        );
        return 3;
      }
      io.err(`rampart posture: ${(err as Error).message}`);
      return 3;
    }
    const text = renderPosture(report, format);
    if (values.out) await writeFile(values.out, text);
    else io.out(text.replace(/\n$/, ''));
    if (threshold !== undefined && report.score < threshold) {
      io.err(`rampart posture: score ${report.score} is below --fail-under ${threshold}`);
      return 1;
    }
    return 0;
  },
};

export default posture;
