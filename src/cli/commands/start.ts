import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createLogger } from '../../core/logger.ts';
import { DEMO_USERS, type LabServer } from '../../lab/index.ts';
import { demoConfigObject, startDemoLab } from '../demo.ts';
import { formatSourceError } from '../../core/source-errors.ts';
import { App, StartupErrors, configFromObject, readConfig, startPrimaryMonitor } from '../app.ts';
import { parseOptions, parsePort, UsageError, type Command } from '../command.ts';
import {
  isClusterWorker,
  parseWorkers,
  primaryPort,
  runPrimary,
  workerNumber,
  workerPort,
} from '../cluster.ts';
import { validateConfigFile } from '../validate.ts';
import { postureProviders } from '../posture-input.ts';
import { buildConsole, consoleBuilt } from '../../console/build.ts';

const usage = `Usage: rampart start [-c rampart.yaml] [--port N] [--admin-port N] [--workers N|auto]

Starts the gateway (and the admin listener) from rampart.yaml. Without a config file
(none given and no ./rampart.yaml), runs the built-in demo: the deliberately vulnerable
lab API on loopback with the gateway in front of it on https://127.0.0.1:8443.

Options:
  -c, --config FILE   config file (default $RAMPART_CONFIG, else ./rampart.yaml if present)
  --port N            public port (overrides listen.port)
  --admin-port N      admin port (overrides admin.port)
  --data DIR          data directory of the built-in demo (default ./data)
  --workers N|auto    run N gateway processes on the same ports (node:cluster; auto =
                      one per core). Limits are exact across them only with a shared
                      Redis (counters.url); see docs/deploy.md

Signals: SIGHUP reloads the config (a bad one is refused and the old one keeps
serving); SIGINT/SIGTERM drain in-flight requests and stop.`;

const port = (v: string | undefined, flag: string): number | undefined =>
  v === undefined ? undefined : parsePort(v, flag);

const start: Command = {
  name: 'start',
  summary: 'Run the gateway (or the built-in demo in front of the lab)',
  usage,
  async run(argv, io) {
    const args = parseOptions(argv, {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      data: { type: 'string' },
      workers: { type: 'string' },
    });
    const workers = parseWorkers(args.values.workers);
    const publicPort = port(args.values.port, '--port');
    const adminPort = port(args.values['admin-port'], '--admin-port');
    const log = createLogger();
    // -c, else $RAMPART_CONFIG, else ./rampart.yaml; the demo only when none of them names a file.
    const named = args.values.config ?? (process.env.RAMPART_CONFIG || undefined);
    const configPath = named ?? (existsSync('rampart.yaml') ? 'rampart.yaml' : undefined);
    if (named !== undefined && !existsSync(named)) {
      io.err(
        `rampart start: no configuration at ${named} (from ${args.values.config ? '-c' : 'RAMPART_CONFIG'})`,
      );
      return 1;
    }
    if (!isClusterWorker() && !consoleBuilt()) {
      // The web console is built by `npm run build`; an installed package builds it once here.
      try {
        await buildConsole();
      } catch (err) {
        io.err(`rampart start: warning: the web console could not be built: ${(err as Error).message}`);
      }
    }
    if (workers > 1 && !isClusterWorker()) {
      if (!configPath)
        throw new UsageError('--workers needs a config file (the built-in demo runs in one process)');
      let primary: Awaited<ReturnType<typeof startPrimaryMonitor>>;
      try {
        const { config, baseDir } = await readConfig(configPath); // refuse a broken config before forking
        if (!config.counters.url && !config.counters.cluster)
          io.err(
            'rampart start: warning: counters are in memory, so each worker counts its own limits; set counters.url (Redis) for exact limits across workers',
          );
        // The cluster's alerting: rules, baselines, desk and notifiers run once, here.
        primary = await startPrimaryMonitor(config, baseDir, log);
      } catch (err) {
        if (err instanceof StartupErrors) {
          io.err(`rampart start: the configuration has ${err.errors.length} error(s):\n${err.message}`);
          return 1;
        }
        throw err;
      }
      const hub = primary?.monitor.hub;
      return runPrimary(workers, io, {
        forked: (w) => hub?.connect(w.id, w.process.pid, workerPort(w)),
        exited: (w) => hub?.disconnect(w.id),
        stop: async () => {
          await primary?.stop();
          log.flush?.();
        },
      });
    }
    const quiet = (workerNumber() ?? 1) > 1; // one banner per cluster
    let lab: LabServer | undefined;
    let app: App;
    try {
      if (configPath) {
        // The same judgement as `rampart check`: every error in one pass, and its warnings.
        const v = await validateConfigFile(configPath);
        for (const w of v.warnings) log.warn({ where: formatSourceError(w) }, 'configuration warning');
        if (v.errors.length) throw new StartupErrors(v.errors);
        const { config, baseDir } = await readConfig(configPath);
        if (publicPort !== undefined) config.listen.port = publicPort;
        if (adminPort !== undefined) config.admin.port = adminPort;
        const worker = workerNumber();
        app = await App.start({
          config,
          baseDir,
          configPath: resolve(configPath),
          log,
          ...(worker !== undefined ? { clusterWorker: { worker, port: primaryPort() } } : {}),
          ...postureProviders({ config, baseDir, label: configPath }),
        });
      } else {
        const dataDir = resolve(args.values.data ?? 'data');
        // The demo's own data folder (its store, keys, dev certificate) is made here; a
        // configured store's directory must exist (`rampart check` says so).
        await mkdir(dataDir, { recursive: true });
        const demo = await startDemoLab();
        lab = demo.lab;
        const origin = `https://localhost:${publicPort || 8443}`;
        const config = configFromObject(
          demoConfigObject({
            dataDir,
            labUrl: lab.url,
            insurerUrl: demo.insurerUrl,
            port: publicPort,
            adminPort,
          }),
          dataDir,
        );
        app = await App.start({
          config,
          baseDir: dataDir,
          log,
          ...postureProviders({ config, baseDir: dataDir, label: 'built-in demo' }),
        });
        demo.useEgress(app.egress!.url);
        // `rampart users` run here finds the demo's store; this tells it the demo's issuer.
        await writeFile(resolve(dataDir, 'demo.json'), JSON.stringify({ issuer: `${origin}/auth` }) + '\n');
      }
    } catch (err) {
      await lab?.close();
      if (err instanceof StartupErrors) {
        io.err(
          `rampart start: the configuration has ${err.errors.length} error(s):\n${err.errors.map(formatSourceError).join('\n')}`,
        );
        return 1;
      }
      throw err;
    }
    const url = app.gateway.url;
    const out = quiet ? () => undefined : (line: string) => io.out(line);
    out('');
    out(`  Rampart gateway   ${url}`);
    out(`  Admin (health)    ${app.admin.url}/healthz`);
    if (app.monitor)
      out(`  Metrics           ${app.admin.url}/metrics   (audit log, alerts, live feed: /admin/…)`);
    if (lab) {
      out('  No rampart.yaml (and no -c or RAMPART_CONFIG): running the BUILT-IN DEMO.');
      out(`  Lab upstream      ${lab.url}  (deliberately vulnerable; loopback only)`);
      out('');
      out('  Try it (the development certificate is self-signed, hence -k):');
      out(`    curl -k ${url}/v2/health`);
      out(`    curl -k --path-as-is '${url}/v2/records/1/../../debug'   # path trick: 400 from the gateway`);
      out(`    curl -k ${url}/debug/vars                            # undocumented endpoint: 404`);
      out(`  Demo users: ${DEMO_USERS.map((u) => u.username).join(', ')} (see docs/lab.md)`);
    }
    if (app.identity) {
      out('');
      out(
        `  Identity / MFA    ${app.identity.config.issuer}/ui   (JWKS: ${app.identity.config.issuer}/.well-known/jwks.json)`,
      );
      if (lab)
        out(
          args.values.data === undefined
            ? '  Create a user:    npx rampart users add --admin alice   (here, while the demo runs or after)'
            : `  Create a user:    npx rampart users add --admin alice --store sqlite://${resolve(args.values.data, 'rampart.db')}`,
        );
    }
    out('');
    out('  Ctrl-C stops everything cleanly; SIGHUP reloads the config.');
    return new Promise<number>((resolveExit) => {
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping: draining in-flight requests');
        await app.stop();
        await lab?.close();
        log.info({ signal }, 'stopped');
        log.flush?.();
        process.off('SIGHUP', reload);
        resolveExit(0);
        // The IPC channel to the primary would keep a stopped worker alive.
        if (isClusterWorker() && process.connected) process.disconnect();
      };
      const reload = async () => {
        const r = await app.reload();
        if (r.ok) log.info('configuration reloaded');
        else log.error({ error: r.error }, 'reload refused; the previous configuration keeps serving');
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGHUP', reload);
      // A worker whose primary is gone (killed) stops too instead of serving on as an orphan.
      if (isClusterWorker()) process.once('disconnect', () => void stop('primary gone'));
    });
  },
};

export default start;
