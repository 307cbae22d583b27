/**
 * `rampart start --workers N`: a node:cluster primary that runs N gateway workers on the
 * same listeners (the primary accepts and hands connections round-robin). Workers are plain
 * `rampart start` processes; they share nothing in memory, so exact limits across them need
 * the Redis counter store (`counters.url`), exactly as for separate machines
 * (docs/deploy.md). The primary forwards SIGHUP (reload) and SIGINT/SIGTERM (drain and
 * stop) to every worker and replaces a worker that dies, giving up when workers keep
 * dying right after starting (a broken config would otherwise loop forever).
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { CommandIO } from './command.ts';
import { UsageError } from './command.ts';

/** `auto` = the machine's cores (os.availableParallelism). */
export function parseWorkers(value: string | undefined): number {
  if (value === undefined) return 1;
  if (value === 'auto') return Math.max(1, availableParallelism());
  if (!/^[1-9]\d{0,2}$/.test(value))
    throw new UsageError(`--workers expects a number 1-999 or 'auto', got '${value}'`);
  return Number(value);
}

/** True in a worker this module forked. */
export const isClusterWorker = (): boolean => cluster.isWorker;

/** The worker number (1…N) in a worker, undefined in a single process. */
export const workerNumber = (): number | undefined => (cluster.isWorker ? cluster.worker?.id : undefined);

/** Runs the primary until SIGINT/SIGTERM; resolves with the exit code. */
export async function runPrimary(workers: number, io: CommandIO): Promise<number> {
  let stopping = false;
  let quickDeaths = 0;
  const started = new Map<number, number>();
  const fork = (): Worker => {
    const w = cluster.fork({ RAMPART_WORKER: '1' });
    started.set(w.id, Date.now());
    return w;
  };
  for (let i = 0; i < workers; i++) fork();
  io.out(`rampart: primary ${process.pid} started ${workers} worker(s)`);

  return new Promise<number>((resolveExit) => {
    const all = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const done = () => {
      if (all().length === 0) {
        process.off('SIGHUP', reload);
        resolveExit(quickDeaths > 5 ? 1 : 0);
      }
    };
    cluster.on('exit', (w, code, signal) => {
      const age = Date.now() - (started.get(w.id) ?? 0);
      started.delete(w.id);
      if (stopping) return done();
      if (age < 5000) quickDeaths++;
      else quickDeaths = 0;
      if (quickDeaths > 5) {
        io.err(`rampart: workers keep exiting right after start (last: ${signal ?? code}); giving up`);
        stopping = true;
        for (const other of all()) other.process.kill('SIGTERM');
        return done();
      }
      io.err(`rampart: worker ${w.process.pid} exited (${signal ?? code}); starting a new one`);
      fork();
    });
    const stop = () => {
      if (stopping) return;
      stopping = true;
      for (const w of all()) w.process.kill('SIGTERM');
      done();
    };
    const reload = () => {
      for (const w of all()) w.process.kill('SIGHUP');
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.on('SIGHUP', reload);
  });
}
