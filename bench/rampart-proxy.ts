// The rampart gateway for benchmarks, as `rampart start` builds it, on plain HTTP so the
// ratio to the bare proxy measures the chain (TLS costs both sides the same; see
// docs/performance.md). argv: upstream URL, scenario name.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/core/logger.ts';
import { App, configFromObject } from '../src/cli/app.ts';
import { scenarios } from './scenarios.ts';

const [upstream, scenarioName] = process.argv.slice(2) as [string, string];
const scenario = scenarios[scenarioName];
if (!scenario) throw new Error(`unknown scenario ${scenarioName}`);
const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-'));
const spec = join(dir, 'bench.yaml');
writeFileSync(spec, scenario.spec);
const config = configFromObject(
  {
    listen: { host: '127.0.0.1', port: 0, tls: { enabled: false } },
    admin: { port: 0 },
    store: scenario.fileStore ? `sqlite://${join(dir, 'bench.db')}` : 'sqlite::memory:',
    monitor: scenario.monitor ?? { enabled: false },
    policies: { transport: { requireTls: false }, ...scenario.policies },
    limits: { keepAliveTimeoutMs: 60_000 },
    apis: [{ name: 'bench', upstream, versions: [{ base: '/v2', spec }] }],
  },
  dir,
);
const app = await App.start({
  config,
  baseDir: dir,
  log: silentLogger,
  ...(scenario.prepare ? await scenario.prepare(dir) : {}),
});
process.stdout.write(
  JSON.stringify({
    port: app.gateway.port,
    ...(scenario.headers ? { headers: await scenario.headers() } : {}),
  }) + '\n',
);
process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));
