/**
 * A real, throw-away `redis-server` per test file on a free loopback port (no persistence).
 * `stop()` kills it (SIGKILL: what a crash looks like to clients), `start()` brings it back
 * on the same port, so failover tests can kill and restart it.
 *
 * @example
 * const redis = await startRedis();
 * const store = new RedisCounterStore({ url: redis.url });
 * await redis.stop(); await redis.start();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';

export const REDIS_SERVER = process.env.RAMPART_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface TestRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  start(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.end();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER))
    throw new Error(`${REDIS_SERVER} not found: install redis-server (Debian: apt-get install redis-server)`);
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    const started = Date.now();
    while (!(await reachable(port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (Date.now() - started > 10_000) throw new Error('redis-server did not start within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start, close: stop };
}

export interface TestRedisCluster {
  /** Seed node URLs (redis://127.0.0.1:port each). */
  nodes: string[];
  ports: number[];
  close(): Promise<void>;
}

/**
 * A throw-away 3-master Redis Cluster on loopback (no replicas, no persistence): three
 * `redis-server --cluster-enabled yes` processes in a temporary directory, joined with
 * `redis-cli --cluster create`, ready when every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const cli = REDIS_SERVER.replace(/redis-server$/, 'redis-cli');
  const run = (args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(cli, args, { timeout: 20_000 }, (err, out) => (err ? reject(err) : resolve(out))),
    );
  const dir = await mkdtemp(join(tmpdir(), 'rampart-redis-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = ports.map((port) =>
    spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    ),
  );
  const close = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const started = Date.now();
      while (!(await reachable(port))) {
        if (Date.now() - started > 10_000)
          throw new Error('redis-server (cluster) did not start within 10 s');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await run(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes']);
    const started = Date.now();
    for (;;) {
      const states = await Promise.all(ports.map((p) => run(['-p', String(p), 'cluster', 'info'])));
      if (states.every((s) => /cluster_state:ok/.test(s))) break;
      if (Date.now() - started > 15_000) throw new Error('the Redis cluster did not become ok within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { nodes: ports.map((p) => `redis://127.0.0.1:${p}`), ports, close };
}
