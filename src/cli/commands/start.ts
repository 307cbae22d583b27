import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLogger } from '../../core/logger.ts';
import { startLab, DEMO_USERS, type LabServer } from '../../lab/index.ts';
import { DEMO_POLICIES, demoApis } from '../demo.ts';
import { formatSourceError } from '../../core/source-errors.ts';
import { App, StartupErrors, configFromObject, readConfig } from '../app.ts';
import { parseOptions, parsePort, type Command } from '../command.ts';

const usage = `Usage: rampart start [-c rampart.yaml] [--port N] [--admin-port N]

Starts the gateway (and the admin listener) from rampart.yaml. Without a config file
(none given and no ./rampart.yaml), runs the built-in demo: the deliberately vulnerable
lab API on loopback with the gateway in front of it on https://127.0.0.1:8443.

Options:
  -c, --config FILE   config file (default ./rampart.yaml if present)
  --port N            public port (overrides listen.port)
  --admin-port N      admin port (overrides admin.port)
  --data DIR          data directory of the built-in demo (default ./data)

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
    });
    const publicPort = port(args.values.port, '--port');
    const adminPort = port(args.values['admin-port'], '--admin-port');
    const log = createLogger();
    const configPath = args.values.config ?? (existsSync('rampart.yaml') ? 'rampart.yaml' : undefined);
    let lab: LabServer | undefined;
    let app: App;
    try {
      if (configPath) {
        const { config, baseDir } = await readConfig(configPath);
        if (publicPort !== undefined) config.listen.port = publicPort;
        if (adminPort !== undefined) config.admin.port = adminPort;
        app = await App.start({ config, baseDir, configPath: resolve(configPath), log });
      } else {
        const dataDir = resolve(args.values.data ?? 'data');
        lab = await startLab({ mode: 'vulnerable' });
        const origin = `https://localhost:${publicPort || 8443}`;
        const config = configFromObject(
          {
            listen: {
              host: '127.0.0.1',
              port: publicPort ?? 8443,
              tls: { devCertDir: resolve(dataDir, 'tls') },
            },
            admin: { port: adminPort ?? 9901 },
            store: `sqlite://${resolve(dataDir, 'rampart.db')}`,
            policies: DEMO_POLICIES,
            identity: {
              issuer: `${origin}/auth`,
              keyFile: resolve(dataDir, 'identity-kek.key'),
              passkeys: { rpId: 'localhost', origins: [origin] },
            },
            apis: demoApis(lab.url),
          },
          dataDir,
        );
        app = await App.start({ config, baseDir: dataDir, log });
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
    io.out('');
    io.out(`  Rampart gateway   ${url}`);
    io.out(`  Admin (health)    ${app.admin.url}/healthz`);
    if (app.monitor)
      io.out(`  Metrics           ${app.admin.url}/metrics   (audit log, alerts, live feed: /admin/…)`);
    if (lab) {
      io.out(`  Lab upstream      ${lab.url}  (deliberately vulnerable; loopback only)`);
      io.out('');
      io.out('  Try it (the development certificate is self-signed, hence -k):');
      io.out(`    curl -k ${url}/v2/health`);
      io.out(
        `    curl -k --path-as-is '${url}/v2/records/1/../../debug'   # path trick: 400 from the gateway`,
      );
      io.out(`    curl -k ${url}/debug/vars                            # undocumented endpoint: 404`);
      io.out(`  Demo users: ${DEMO_USERS.map((u) => u.username).join(', ')} (see docs/lab.md)`);
    }
    if (app.identity) {
      io.out('');
      io.out(
        `  Identity / MFA    ${app.identity.config.issuer}/ui   (JWKS: ${app.identity.config.issuer}/.well-known/jwks.json)`,
      );
      if (lab)
        io.out(
          `  Create a user:    npx rampart users add --admin alice --store sqlite://${resolve(args.values.data ?? 'data', 'rampart.db')}`,
        );
    }
    io.out('');
    io.out('  Ctrl-C stops everything cleanly; SIGHUP reloads the config.');
    return new Promise<number>((resolveExit) => {
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping: draining in-flight requests');
        await app.stop();
        await lab?.close();
        log.flush?.();
        process.off('SIGHUP', reload);
        resolveExit(0);
      };
      const reload = async () => {
        const r = await app.reload();
        if (r.ok) log.info('configuration reloaded');
        else log.error({ error: r.error }, 'reload refused; the previous configuration keeps serving');
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGHUP', reload);
    });
  },
};

export default start;
