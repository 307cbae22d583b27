import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SCENARIOS, simulate, type SimulateReport } from '../../monitor/simulate.ts';
import { parseOptions, UsageError, type Command } from '../command.ts';

const usage = `Usage: rampart simulate SCENARIO --target URL [options]

Sends fake traffic of a named scenario to a Rampart gateway in front of the lab (the
built-in demo of \`rampart start\`), then reads the admin API and reports which alerts
fired and how many seconds after the scenario began. Exit code 0 when every rule the
scenario should set off fired (and, for normal, when none did), 1 otherwise.

Scenarios:
${Object.entries(SCENARIOS)
  .map(
    ([k, s]) =>
      `  ${k.padEnd(20)} ${s.description}${s.expects.length ? ` [${s.expects.join(', ')}]` : ' [no alert]'}`,
  )
  .join('\n')}

Options:
  --target URL         gateway base URL, e.g. https://127.0.0.1:8443
  --admin URL          admin listener (default http://127.0.0.1:9901); reads /admin/alerts
  --admin-token T      admin credential (default: $RAMPART_ADMIN_TOKEN); an API key with role:admin
  --requests N         requests to send (default: the scenario's)
  --concurrency N      parallel requests (default: the scenario's)
  --max-seconds S      hard bound on the traffic phase (default 60)
  --wait-seconds S     how long to wait for the alerts afterwards (default 5)
  -k, --insecure       accept a self-signed certificate (the demo's)
  --no-admin           send traffic only; do not read alerts
  --record DIR         write the result (scenario, time, expected and fired rules) to
                       DIR/<time>-<scenario>.json: rampart posture counts the rules it fired
                       as tested (posture.evidence.simulations, default data/simulations)`;

function positive(v: string | undefined, flag: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,7}$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new UsageError(`${flag} expects a whole number 1-${max}, got '${v}'`);
  return Number(v);
}

/** What `rampart posture` reads back (src/cli/posture-input.ts): one JSON file per run. */
async function recordSimulation(dir: string, r: SimulateReport, at: Date): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${at.toISOString().replace(/[:.]/g, '-')}-${r.scenario}.json`);
  const record = {
    format: 'rampart-simulation',
    version: 1,
    scenario: r.scenario,
    at: at.toISOString(),
    sent: r.sent,
    expected: r.expected,
    fired: r.fired.map((f) => ({ rule: f.rule, afterSeconds: f.afterSeconds })),
    missing: r.missing,
  };
  await writeFile(file, JSON.stringify(record, null, 2) + '\n');
  return file;
}

const command: Command = {
  name: 'simulate',
  summary: 'Send a named attack or normal traffic scenario and report the alerts it fired',
  usage,
  async run(argv, io) {
    const args = parseOptions(
      argv,
      {
        target: { type: 'string' },
        admin: { type: 'string' },
        'admin-token': { type: 'string' },
        requests: { type: 'string' },
        concurrency: { type: 'string' },
        'max-seconds': { type: 'string' },
        'wait-seconds': { type: 'string' },
        insecure: { type: 'boolean', short: 'k' },
        'no-admin': { type: 'boolean' },
        record: { type: 'string' },
      },
      true,
    );
    const name = args.positionals[0];
    if (!name) throw new UsageError('name a scenario');
    if (args.positionals.length > 1) throw new UsageError(`unexpected argument '${args.positionals[1]}'`);
    if (!SCENARIOS[name])
      throw new UsageError(`unknown scenario '${name}'; one of ${Object.keys(SCENARIOS).join(', ')}`);
    const target = args.values.target;
    if (!target || !/^https?:\/\//.test(target))
      throw new UsageError('--target expects the gateway URL (http:// or https://)');
    const useAdmin = !args.values['no-admin'];
    if (args.values.record !== undefined && !useAdmin)
      throw new UsageError('--record needs the alerts: drop --no-admin');
    const requests = positive(args.values.requests, '--requests', 100_000);
    const concurrency = positive(args.values.concurrency, '--concurrency', 256);
    const tty = process.stderr.isTTY;
    const startedAt = new Date();
    const report = await simulate(name, {
      target,
      ...(useAdmin ? { admin: args.values.admin ?? 'http://127.0.0.1:9901' } : {}),
      ...((args.values['admin-token'] ?? process.env.RAMPART_ADMIN_TOKEN)
        ? { adminToken: args.values['admin-token'] ?? process.env.RAMPART_ADMIN_TOKEN! }
        : {}),
      ...(requests !== undefined ? { requests } : {}),
      ...(concurrency !== undefined ? { concurrency } : {}),
      maxMs: (positive(args.values['max-seconds'], '--max-seconds', 3600) ?? 60) * 1000,
      waitMs: (positive(args.values['wait-seconds'], '--wait-seconds', 600) ?? 5) * 1000,
      insecure: args.values.insecure === true,
      progress: (line) => (tty ? process.stderr.write(`\r${line}\u001b[K`) : undefined),
    });
    if (tty) process.stderr.write('\n');
    const statuses = Object.entries(report.statuses)
      .map(([k, v]) => `${k}×${v}`)
      .join(' ');
    io.out(
      `${name}: ${report.sent} requests in ${(report.durationMs / 1000).toFixed(1)} s (${statuses}${report.errors ? `, ${report.errors} failed` : ''})`,
    );
    if (!useAdmin) return 0;
    if (report.fired.length === 0) io.out('no alert fired');
    for (const f of report.fired)
      io.out(`  fired  ${f.rule.padEnd(26)} after ${f.afterSeconds.toFixed(1)} s  ${f.summary}`);
    for (const m of report.missing) io.out(`  MISSING ${m} (expected for this scenario)`);
    const ok = report.missing.length === 0 && (report.expected.length > 0 || report.fired.length === 0);
    if (args.values.record !== undefined) {
      const file = await recordSimulation(args.values.record, report, startedAt);
      io.out(`  recorded ${file}`);
    }
    if (!ok && report.expected.length === 0) io.out('  the normal mix should fire no alert');
    return ok ? 0 : 1;
  },
};

export default command;
