/**
 * `rampart start --workers N`: a node:cluster primary that runs N gateway workers on the
 * same listeners (the primary accepts and hands connections round-robin). Workers are plain
 * `rampart start` processes; they share nothing in memory, so exact limits across them need
 * the Redis counter store (`counters.url`), exactly as for separate machines
 * (docs/deploy.md). The primary forwards SIGHUP (reload) and SIGINT/SIGTERM (drain and
 * stop) to every worker and replaces a worker that dies, giving up when workers keep
 * dying right after starting (a broken config would otherwise loop forever). With the
 * monitor on, the primary also runs the cluster's alert rules, anomaly baselines, alert desk
 * and notifiers; workers forward event summaries to it over the IPC channel
 * (src/monitor/cluster.ts, docs/monitoring.md "Several workers").
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { CommandIO } from './command.ts';
import { UsageError } from './command.ts';
import type { Port } from '../monitor/index.ts';

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

/** A worker's IPC channel to its primary, as the monitor's cluster link uses it. */
export function primaryPort(): Port {
  return {
    send: (message, done) => {
      if (!process.send || !process.connected) return done?.(new Error('no channel to the primary'));
      process.send(message, undefined, {}, done);
    },
    onMessage: (listener) => process.on('message', listener),
  };
}

/** The primary's IPC channel to one worker. */
export function workerPort(w: Worker): Port {
  return {
    send: (message, done) => {
      if (!w.isConnected()) return done?.(new Error('worker disconnected'));
      w.send(message, undefined, done);
    },
    onMessage: (listener) => w.on('message', listener),
  };
}

/** What the primary does besides forking: the cluster's alerting (src/monitor/cluster.ts). */
export interface PrimaryHooks {
  forked(w: Worker): void;
  exited(w: Worker): void;
  /** After the last worker stopped. */
  stop(): Promise<void>;
}

/** Runs the primary until SIGINT/SIGTERM; resolves with the exit code. */
export async function runPrimary(workers: number, io: CommandIO, hooks?: PrimaryHooks): Promise<number> {
  let stopping = false;
  let quickDeaths = 0;
  const started = new Map<number, number>();
  const fork = (): Worker => {
    const w = cluster.fork({ RAMPART_WORKER: '1' });
    started.set(w.id, Date.now());
    hooks?.forked(w);
    return w;
  };
  for (let i = 0; i < workers; i++) fork();
  io.out(`rampart: primary ${process.pid} started ${workers} worker(s)`);

  return new Promise<number>((resolveExit) => {
    const all = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const done = () => {
      if (all().length === 0) {
        process.off('SIGHUP', reload);
        const code = quickDeaths > 5 ? 1 : 0;
        void (hooks?.stop() ?? Promise.resolve()).then(
          () => resolveExit(code),
          (err: unknown) => {
            io.err(`rampart: stopping the primary's monitor failed: ${(err as Error).message}`);
            resolveExit(1);
          },
        );
      }
    };
    cluster.on('exit', (w, code, signal) => {
      const age = Date.now() - (started.get(w.id) ?? 0);
      started.delete(w.id);
      hooks?.exited(w);
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
