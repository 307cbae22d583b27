/**
 * vitest globalSetup: starts one throw-away PostgreSQL 15 cluster for the whole test
 * run and hands its URL to tests as `inject('pgUrl')` (and to child processes as
 * RAMPART_TEST_PG_URL). Tests get their own database from `freshPgDatabase()`
 * (test/helpers/pg.ts), so files running in parallel never collide.
 *
 * - Set RAMPART_TEST_PG_URL before running vitest to use an existing server instead
 *   (CI service container); nothing is started or stopped then.
 * - PostgreSQL refuses to run as root: as root, initdb/pg_ctl run as the `postgres`
 *   OS user (runuser) in a fresh temp dir it owns.
 * - Missing binaries fail the run loudly with how to install them.
 */
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test PostgreSQL server's admin database (create your own with freshPgDatabase()). */
    pgUrl: string;
  }
}

const execFile = promisify(execFileCb);

const PG_USER = 'postgres';
const DB_NAME = 'rampart_test';

function findBinDir(): string {
  const explicit = process.env.RAMPART_PG_BIN;
  if (explicit && existsSync(join(explicit, 'pg_ctl'))) return explicit;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter(
          (v) => existsSync(join(base, v, 'bin', 'pg_ctl')) && existsSync(join(base, v, 'bin', 'initdb')),
        )
        .sort((a, b) => Number(b) - Number(a))
    : [];
  // Prefer 15 (what production targets), else the newest installed.
  const pick = versions.includes('15') ? '15' : versions[0];
  if (!pick) {
    throw new Error(
      'PostgreSQL server binaries not found (looked for /usr/lib/postgresql/<version>/bin/{initdb,pg_ctl}).\n' +
        'The store tests need a real PostgreSQL. Install it with:\n' +
        '  apt-get update && apt-get install -y postgresql   # Debian/Ubuntu (postgresql-15 on bookworm)\n' +
        'or point RAMPART_TEST_PG_URL at an existing server (postgres://user:pass@host:5432/db), or RAMPART_PG_BIN at a bin dir.',
    );
  }
  return join(base, pick, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function osUserIds(user: string): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    execFile('id', ['-u', user]),
    execFile('id', ['-g', user]),
  ]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.RAMPART_TEST_PG_URL;
  if (external) {
    project.provide('pgUrl', external);
    return async () => {};
  }

  const bin = findBinDir();
  const asRoot = process.getuid?.() === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    try {
      owner = await osUserIds(PG_USER);
    } catch {
      throw new Error(
        `Tests run as root but there is no "${PG_USER}" OS user to run PostgreSQL as (it refuses root). ` +
          'Install the server package, which creates it: apt-get install -y postgresql',
      );
    }
  }
  // The command line of a PostgreSQL binary, run as the postgres user when we are root.
  const pgCommand = (cmd: string, args: string[]): [file: string, args: string[]] =>
    asRoot ? ['runuser', ['-u', PG_USER, '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
  const runPg = (cmd: string, args: string[]) => {
    const [file, argv] = pgCommand(cmd, args);
    return execFile(file, argv, { cwd: '/' });
  };

  const dir = mkdtempSync(join(tmpdir(), 'rampart-pg-'));
  chmodSync(dir, 0o700);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');

  const cleanupDir = (): void => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort (a server being killed may still be writing)
    }
  };
  /** True from the first `pg_ctl start` on: a server may be running and must be stopped. */
  let mayRun = false;
  let started = false;
  const stopArgs = ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30'];
  // Last resort when the run ends without teardown (Ctrl-C, crash): stop synchronously.
  const onExit = (): void => {
    if (mayRun) {
      mayRun = false;
      try {
        const [file, argv] = pgCommand('pg_ctl', stopArgs);
        execFileSync(file, argv, { cwd: '/', stdio: 'ignore' });
      } catch {
        // not running
      }
    }
    cleanupDir();
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (sig: NodeJS.Signals): void => {
    for (const s of signals) process.removeListener(s, onSignal);
    onExit();
    // Keep the signal's usual effect unless someone else (vitest) handles it.
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  // Prepended: vitest's own SIGINT/SIGTERM/exit listeners call process.exit(), which
  // skips any listener registered after them.
  process.prependOnceListener('exit', onExit);
  for (const s of signals) process.prependListener(s, onSignal);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    for (const s of signals) process.removeListener(s, onSignal);
    if (mayRun) {
      mayRun = false;
      await runPg('pg_ctl', stopArgs).catch(() => undefined);
    }
    cleanupDir();
  };

  try {
    await runPg('initdb', [
      '-D',
      data,
      '-U',
      PG_USER,
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    let port = 0;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 5 && !started; attempt++) {
      port = await freePort();
      const opts = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        `-c unix_socket_directories=${dir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=300',
        '-c shared_buffers=32MB',
      ].join(' ');
      mayRun = true;
      try {
        await runPg('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', opts]);
        started = true;
      } catch (err) {
        lastErr = err; // most likely the port was taken between probe and bind: retry
      }
    }
    if (!started) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
      throw new Error(
        `Could not start the test PostgreSQL: ${(lastErr as Error)?.message ?? lastErr}\n${tail}`,
      );
    }

    const adminUrl = `postgres://${PG_USER}@127.0.0.1:${port}/postgres`;
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${DB_NAME}`);
    } finally {
      await client.end();
    }
    const url = `postgres://${PG_USER}@127.0.0.1:${port}/${DB_NAME}`;
    project.provide('pgUrl', url);
    process.env.RAMPART_TEST_PG_URL = url;
  } catch (err) {
    await stop();
    throw err;
  }

  return async () => {
    delete process.env.RAMPART_TEST_PG_URL;
    await stop();
  };
}
