import { readFileSync } from 'node:fs';
import { parseOptions, UsageError, type Command, type CommandIO } from '../command.ts';
import {
  parseJsonReport,
  REPORT_CLI_OPTIONS,
  REPORT_CLI_USAGE,
  ReportOptionError,
  reportOptions,
  runReport,
  shouldColor,
} from '../../report/index.ts';
import { allChecks } from '../../scanner/checks/index.ts';
import { loadAuthFile, parseIdentityFlag, type Identity } from '../../scanner/identities.ts';
import { TamperRelay } from '../../scanner/relay.ts';
import { replayFinding } from '../../scanner/replay.ts';
import { focusFromAudit, type ScanFocus } from '../../scanner/focus.ts';
import { ScanHistory } from '../../scanner/history.ts';
import { DEFAULTS, runScan } from '../../scanner/runner.ts';
import { ScanSetupError } from '../../scanner/spec.ts';

const usage = `Usage: rampart scan --spec FILE|URL --target URL [options]
       rampart scan --replay FINDING_ID --report FILE [--auth FILE] [--identity …] [--target URL]
       rampart scan --list-checks

Actively tests a running API for the OWASP API Security Top 10, driven by its OpenAPI
document(s), with several identities. Safe by default: only the target's origin is
contacted (plus the scanner's own loopback canary), no DELETE/PUT/PATCH reaches objects
the scan did not create, and requests, duration and rate are bounded.

Options:
  --spec FILE|URL          OpenAPI 3.x document (repeatable: current and old versions)
  --target URL             base URL of the running API (its origin is the scan's scope)
  --identity NAME[:ROLE]=HEADER
                           an identity, e.g. alice:user='Authorization: Bearer …' (repeatable);
                           two enable the cross-identity checks, an admin role the function-level ones
  --auth FILE              YAML login recipes (docs/scanner.md): tokens are obtained during the scan
  --checks LIST            comma-separated check ids (default all; see --list-checks)
  --unsafe                 also send writes/replays to objects the scan did not create
  --max-requests N         request budget (default ${DEFAULTS.maxRequests})
  --max-duration SECONDS   stop after this long and report what was found (default ${DEFAULTS.maxDurationMs / 1000})
  --rate N/s               at most N requests per second (default unlimited)
  --timeout SECONDS        per-request timeout (default ${DEFAULTS.timeoutMs / 1000})
  --focus-audit REPORT     an audit's JSON report (rampart audit --format json): the operations it
                           flagged are tested first
  --focus-only             with --focus-audit: test only those operations, with the checks the
                           audit's findings name
  --ca FILE                extra CA certificate(s), PEM, trusted for an https target (repeatable)
  --canary-host HOST       address the SSRF canary listens on / the target can reach (default 127.0.0.1)
  --canary-advertise HOST  host name the target should call the canary by (when listening on 0.0.0.0)
  --jwt-wordlist FILE      extra HMAC secrets to try, one per line, after the bundled 163
  --tamper-upstream PORT=URL
                           run a tampering relay on 127.0.0.1:PORT in front of the upstream URL the
                           target consumes (point the target at it; API10 checks)
  --history DIR [--name NAME]
                           store this run under DIR/NAME (default: the target's host) and print
                           what is new, fixed and still open since the previous complete run
  --replay ID --report FILE
                           re-send a finding's requests from a JSON report: does it still reproduce?
${REPORT_CLI_USAGE}

Exit codes: 0 no finding at or above --fail-on (default high), 1 findings at or above it,
2 usage error, 3 could not scan (bad spec, unreachable target, failed login, stopped
early without such findings; --replay: could not verify). Ctrl-C writes a partial report.
See docs/scanner.md and docs/ci.md.`;

const options = {
  spec: { type: 'string', multiple: true },
  target: { type: 'string' },
  identity: { type: 'string', multiple: true },
  auth: { type: 'string' },
  checks: { type: 'string' },
  unsafe: { type: 'boolean' },
  'max-requests': { type: 'string' },
  'max-duration': { type: 'string' },
  rate: { type: 'string' },
  timeout: { type: 'string' },
  ca: { type: 'string', multiple: true },
  'focus-audit': { type: 'string' },
  'focus-only': { type: 'boolean' },
  'canary-host': { type: 'string' },
  'canary-advertise': { type: 'string' },
  'jwt-wordlist': { type: 'string' },
  'tamper-upstream': { type: 'string', multiple: true },
  replay: { type: 'string' },
  report: { type: 'string' },
  'list-checks': { type: 'boolean' },
  history: { type: 'string' },
  name: { type: 'string' },
  ...REPORT_CLI_OPTIONS,
} as const;

function positiveInt(v: string | undefined, flag: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min)
    throw new UsageError(`${flag} expects a whole number ≥ ${min}, got '${v}'`);
  return Number(v);
}

async function identitiesFrom(values: { identity?: string[]; auth?: string }): Promise<Identity[]> {
  const ids: Identity[] = [];
  for (const flag of values.identity ?? []) {
    try {
      ids.push(parseIdentityFlag(flag));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (values.auth) ids.push(...(await loadAuthFile(values.auth)));
  const names = ids.map((i) => i.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UsageError(`identity '${dup}' is given twice`);
  return ids;
}

/** A one-line progress bar on stderr, only when stderr is a terminal. */
function progress(): {
  update(p: { check: string; index: number; total: number; requests: number }): void;
  done(): void;
} {
  const tty = process.stderr.isTTY === true;
  return {
    update(p) {
      if (!tty) return;
      const width = 24;
      const filled = Math.round((p.index / p.total) * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${p.index + 1}/${p.total} ${p.check.padEnd(22)} ${p.requests} requests `,
      );
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

async function replay(values: Record<string, unknown>, io: CommandIO): Promise<number> {
  const id = values.replay as string;
  if (!values.report) throw new UsageError('--replay needs --report FILE (a JSON report of an earlier scan)');
  let report;
  try {
    report = parseJsonReport(readFileSync(values.report as string, 'utf8'), values.report as string);
  } catch (err) {
    io.err(`rampart scan: ${(err as Error).message}`);
    return 3;
  }
  const finding = report.findings.find((f) => f.id === id);
  if (!finding) {
    io.err(`rampart scan: no finding ${id} in ${String(values.report)}`);
    return 3;
  }
  const identities = await identitiesFrom(values as { identity?: string[]; auth?: string });
  const r = await replayFinding(finding, {
    identities,
    ...(values.target ? { target: values.target as string } : {}),
  });
  io.out(`${finding.id} ${finding.check} ${finding.operation ?? ''} — ${finding.title}`);
  for (const s of r.steps)
    io.out(
      `  ${s.method} ${s.url}  ${s.skipped ? `not sent: ${s.skipped}` : `recorded ${s.expected}, now ${s.got ?? 'no answer'}${s.same ? '' : '  (differs)'}`}`,
    );
  if (r.reproduces === undefined) {
    io.out('Could not verify: not every request could be replayed as recorded.');
    return 3;
  }
  io.out(r.reproduces ? 'Still reproduces.' : 'Does not reproduce any more (fixed).');
  return r.reproduces ? 1 : 0;
}

const scan: Command = {
  name: 'scan',
  summary: 'Actively scan a running API for the OWASP API Top 10 (several identities, evidence)',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, options);
    if (values['list-checks']) {
      for (const c of allChecks)
        io.out(`${c.id.padEnd(22)} ${c.owasp.padEnd(11)} ${c.severity.padEnd(9)} ${c.title}`);
      return 0;
    }
    let report;
    try {
      report = reportOptions(values);
    } catch (err) {
      if (err instanceof ReportOptionError) throw new UsageError(err.message);
      throw err;
    }
    try {
      if (values.replay !== undefined) return await replay(values, io);
      if (!values.spec?.length) throw new UsageError('--spec FILE|URL is required');
      if (!values.target) throw new UsageError('--target URL is required');
      const checks = values.checks
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = checks?.filter((c) => !allChecks.some((k) => k.id === c));
      if (unknown?.length)
        throw new UsageError(`unknown check(s) ${unknown.join(', ')}; see rampart scan --list-checks`);
      const rate = values.rate === undefined ? undefined : /^(\d{1,6})(\/s)?$/.exec(values.rate)?.[1];
      if (values.rate !== undefined && rate === undefined)
        throw new UsageError(`--rate expects N or N/s, got '${values.rate}'`);
      const maxRequests = positiveInt(values['max-requests'], '--max-requests');
      const maxDuration = positiveInt(values['max-duration'], '--max-duration');
      const timeout = positiveInt(values.timeout, '--timeout');
      const identities = await identitiesFrom(values);
      let jwtWordlist: string[] | undefined;
      if (values['jwt-wordlist']) {
        try {
          jwtWordlist = readFileSync(values['jwt-wordlist'], 'utf8')
            .split(/\r?\n/)
            .map((l) => l.trim())
            .filter((l) => l && !l.startsWith('#'))
            .slice(0, 1_000_000);
        } catch {
          throw new ScanSetupError(`cannot read the JWT wordlist ${values['jwt-wordlist']}`);
        }
      }
      const ca = (values.ca ?? []).map((f) => {
        try {
          return readFileSync(f, 'utf8');
        } catch (err) {
          throw new ScanSetupError(
            `cannot read --ca ${f}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          );
        }
      });
      if (values['focus-only'] && !values['focus-audit'])
        throw new UsageError('--focus-only needs --focus-audit REPORT');
      let focus: ScanFocus | undefined;
      if (values['focus-audit']) {
        const f = values['focus-audit'];
        let text: string;
        try {
          text = readFileSync(f, 'utf8');
        } catch (err) {
          throw new ScanSetupError(
            `cannot read --focus-audit ${f}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
          );
        }
        let parsed;
        try {
          parsed = parseJsonReport(text, f);
        } catch (err) {
          throw new ScanSetupError(`--focus-audit ${(err as Error).message}`);
        }
        focus = focusFromAudit(parsed, f, values['focus-only'] ?? false);
      }
      const relays: TamperRelay[] = [];
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      const bar = progress();
      try {
        for (const spec of values['tamper-upstream'] ?? []) {
          const m = /^(\d{1,5})=(https?:\/\/.+)$/.exec(spec);
          if (!m) throw new UsageError(`--tamper-upstream expects PORT=URL, got '${spec}'`);
          relays.push(await TamperRelay.start(m[2]!, Number(m[1])));
        }
        const result = await runScan({
          specs: values.spec,
          target: values.target,
          identities,
          unsafe: values.unsafe ?? false,
          relays,
          signal: stop.signal,
          onProgress: (p) => bar.update(p),
          ...(checks ? { checks } : {}),
          ...(maxRequests ? { maxRequests } : {}),
          ...(maxDuration ? { maxDurationMs: maxDuration * 1000 } : {}),
          ...(rate !== undefined ? { rate: Number(rate) } : {}),
          ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
          ...(values['canary-host'] ? { canaryHost: values['canary-host'] } : {}),
          ...(values['canary-advertise'] ? { canaryAdvertise: values['canary-advertise'] } : {}),
          ...(jwtWordlist ? { jwtWordlist } : {}),
          ...(ca.length ? { ca } : {}),
          ...(focus ? { focus } : {}),
        });
        bar.done();
        const run = runReport(result.findings, result.meta, report, {
          out: io.out,
          color: shouldColor(process.stdout),
        });
        if (values.history) {
          const name = values.name ?? new URL(values.target).host.replace(/[^A-Za-z0-9._-]/g, '_');
          const { diff, file } = await new ScanHistory(values.history).record(
            name,
            result.findings,
            result.meta,
            result.partial,
          );
          io.err(
            `rampart scan: stored ${file}: ${diff.new.length} new, ${diff.fixed.length} fixed, ${diff.open.length} still open`,
          );
        }
        const s = result.meta.stats!;
        io.err(
          `rampart scan: ${s.requests} requests in ${(s.durationMs! / 1000).toFixed(1)} s, ${run.findings.length} finding(s)${result.partial ? ' — PARTIAL (stopped early)' : ''}`,
        );
        if (result.partial && run.exitCode === 0) return 3;
        return run.exitCode;
      } finally {
        bar.done();
        process.off('SIGINT', onSignal);
        await Promise.all(relays.map((r) => r.close()));
      }
    } catch (err) {
      if (err instanceof ScanSetupError) {
        io.err(`rampart scan: could not scan: ${err.message}`);
        return 3;
      }
      throw err;
    }
  },
};

export default scan;
