import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../core/clock.ts';
import type { EventSink } from '../core/events.ts';
import { ScanHistory, type ScanDiff } from './history.ts';
import { loadAuthFile } from './identities.ts';
import { runScan } from './runner.ts';

/** `scans:` in rampart.yaml: APIs `rampart start` scans on an interval. */
export const scansSchema = Type.Object(
  {
    results: Type.String({
      default: 'data/scans',
      description: 'Directory for stored results (one JSON report per run), relative to the config file.',
    }),
    jobs: Type.Array(
      Type.Object(
        {
          name: Type.String({
            pattern: '^[A-Za-z0-9._-]{1,64}$',
            description: 'Name of the scan (results folder, events).',
          }),
          spec: Type.Array(Type.String({ minLength: 1 }), {
            minItems: 1,
            description: 'OpenAPI documents (paths relative to the config file, or URLs).',
          }),
          target: Type.String({ pattern: '^https?://', description: 'Base URL of the running API.' }),
          auth: Type.Optional(
            Type.String({
              description: 'Login recipes file (see docs/scanner.md), relative to the config file.',
            }),
          ),
          interval: Type.Integer({
            minimum: 300,
            description:
              'Seconds between scans (at least 300). The first scan runs one interval after start.',
          }),
          checks: Type.Optional(
            Type.Array(Type.String(), { description: 'Check ids to run (default all).' }),
          ),
          unsafe: Type.Boolean({
            default: false,
            description: 'Also write to objects the scan did not create.',
          }),
          maxRequests: Type.Integer({ minimum: 1, default: 5000, description: 'Request budget per scan.' }),
          maxDuration: Type.Integer({ minimum: 1, default: 300, description: 'Seconds a scan may take.' }),
          rate: Type.Integer({
            minimum: 0,
            default: 20,
            description: 'Requests per second (0 = unlimited).',
          }),
        },
        { additionalProperties: false },
      ),
      { description: 'One entry per API to scan.' },
    ),
  },
  {
    additionalProperties: false,
    description: 'Scheduled active scans run by rampart start (docs/scanner.md#scheduled-scans).',
  },
);
export type ScansConfig = Static<typeof scansSchema>;
type Job = ScansConfig['jobs'][number];

export interface ScanRunSummary {
  name: string;
  file?: string;
  diff?: ScanDiff;
  error?: string;
  partial?: boolean;
}

/**
 * Runs each configured scan every `interval` seconds (never two runs of one job at
 * once), stores the result, compares it with the previous run and emits a `scan`
 * event per run and a `scan-finding` event per new finding. Time comes from the clock;
 * `tick()` is what the timer calls, so tests drive it with a ManualClock.
 */
export class ScanScheduler {
  private readonly next = new Map<string, number>();
  private readonly running = new Set<string>();
  private readonly inflight = new Map<string, Promise<ScanRunSummary>>();
  private timer: NodeJS.Timeout | undefined;
  /** Where runs are stored (`scans.results`). */
  readonly history: ScanHistory;

  constructor(
    private readonly config: ScansConfig,
    private readonly o: {
      baseDir: string;
      clock: Clock;
      emit: EventSink;
      log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
    },
  ) {
    this.history = new ScanHistory(resolve(o.baseDir, config.results));
    for (const j of config.jobs) this.next.set(j.name, o.clock.now() + j.interval * 1000);
  }

  start(everyMs = 30_000): void {
    this.timer = setInterval(() => void this.tick(), everyMs);
    this.timer.unref();
  }

  /** Starts every job that is due; resolves when they have finished. */
  async tick(): Promise<ScanRunSummary[]> {
    const now = this.o.clock.now();
    const due = this.config.jobs.filter(
      (j) => (this.next.get(j.name) ?? 0) <= now && !this.running.has(j.name),
    );
    return Promise.all(due.map((j) => this.run(j)));
  }

  run(job: Job): Promise<ScanRunSummary> {
    this.running.add(job.name);
    const p = this.execute(job).finally(() => this.inflight.delete(job.name));
    this.inflight.set(job.name, p);
    return p;
  }

  private async execute(job: Job): Promise<ScanRunSummary> {
    this.next.set(job.name, this.o.clock.now() + job.interval * 1000);
    try {
      const identities = job.auth ? await loadAuthFile(resolve(this.o.baseDir, job.auth)) : [];
      const result = await runScan({
        specs: job.spec.map((s) => (/^https?:\/\//.test(s) ? s : resolve(this.o.baseDir, s))),
        target: job.target,
        identities,
        unsafe: job.unsafe,
        maxRequests: job.maxRequests,
        maxDurationMs: job.maxDuration * 1000,
        rate: job.rate,
        ...(job.checks ? { checks: job.checks } : {}),
      });
      const { file, diff } = await this.history.record(
        job.name,
        result.findings,
        result.meta,
        result.partial,
      );
      const at = this.o.clock.now();
      this.o.emit({
        type: 'scan',
        at,
        api: job.name,
        outcome: result.partial ? 'partial' : 'completed',
        new: diff.new.length,
        fixed: diff.fixed.length,
        open: diff.open.length,
      });
      for (const f of diff.new)
        this.o.emit({
          type: 'scan-finding',
          at,
          api: job.name,
          findingId: f.id,
          check: f.check,
          severity: f.severity,
          ...(f.operation ? { operation: f.operation } : {}),
          ...(f.owasp ? { owasp: f.owasp } : {}),
        });
      this.o.log?.info(
        { scan: job.name, new: diff.new.length, fixed: diff.fixed.length, open: diff.open.length, file },
        'scan finished',
      );
      return { name: job.name, file, diff, partial: result.partial };
    } catch (err) {
      const error = (err as Error).message;
      this.o.emit({
        type: 'scan',
        at: this.o.clock.now(),
        api: job.name,
        outcome: 'failed',
        detail: error.slice(0, 300),
      });
      this.o.log?.warn({ scan: job.name, err: error }, 'scan could not run');
      return { name: job.name, error };
    } finally {
      this.running.delete(job.name);
    }
  }

  /** The configured jobs: name, interval (seconds) and whether a run is going on. */
  jobs(): Array<{ name: string; interval: number; running: boolean }> {
    return this.config.jobs.map((j) => ({
      name: j.name,
      interval: j.interval,
      running: this.running.has(j.name),
    }));
  }

  /**
   * Starts a run of one job now, in the background (the admin API's "scan now"): 'unknown'
   * for a name that is not configured, 'running' when a run of it is already going on.
   */
  runNow(name: string): 'started' | 'running' | 'unknown' {
    const job = this.config.jobs.find((j) => j.name === name);
    if (!job) return 'unknown';
    if (this.running.has(name)) return 'running';
    void this.run(job);
    return 'started';
  }

  /** The run of `name` going on now, if any (resolves with its summary when it ends). */
  current(name: string): Promise<ScanRunSummary> | undefined {
    return this.inflight.get(name);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
