/**
 * `rampart lab attack`: every exploit of exploits.ts against one base URL (the lab itself,
 * or a gateway in front of it), as a report. Plain HTTP(S) from this process; the SSRF
 * exploit's "internal service" is a metadata stub started here on loopback.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { exploits, type ExploitOutcome } from './exploits.ts';
import { flaws } from './flaws.ts';
import { startMetadataStub } from './stubs.ts';

export interface AttackRow {
  id: string;
  owasp: string;
  /** `error`: the exploit itself failed (connection dropped mid-way, …). */
  outcome: ExploitOutcome | 'error';
  exploited: boolean;
  evidence: string;
  answer?: { status: number; problem?: string };
}

export interface AttackReport {
  target: string;
  results: AttackRow[];
  exploited: number;
  blocked: number;
  inconclusive: number;
  errors: number;
}

/** The target answered nothing at all (connection refused, DNS, TLS): exit 1. */
export class TargetUnreachable extends Error {
  override name = 'TargetUnreachable';
}

export interface AttackOptions {
  /** Accept any TLS certificate (a gateway's self-signed development certificate). */
  insecure?: boolean;
  /** Flaw ids to run (default all, in catalogue order). */
  only?: readonly string[];
  /** Called after each flaw (progress). */
  onResult?(row: AttackRow): void;
}

/**
 * Runs every exploit against `target`, one after another (several change the lab's state:
 * running them in parallel would make them interfere), and counts the outcomes.
 * @example
 * const report = await attack('https://127.0.0.1:8443', { insecure: true });
 * report.blocked // flaws whose defence was seen
 */
export async function attack(target: string, opts: AttackOptions = {}): Promise<AttackReport> {
  const base = target.replace(/\/+$/, '');
  const dispatcher = new Agent({
    connect: { rejectUnauthorized: !opts.insecure },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const doFetch = ((u: string, init?: RequestInit) =>
    undiciFetch(u, { ...(init as object), dispatcher })) as unknown as typeof fetch;
  const metadata = await startMetadataStub();
  try {
    try {
      await (await doFetch(`${base}/`, { redirect: 'manual' })).arrayBuffer();
    } catch (err) {
      throw new TargetUnreachable(reason(err));
    }
    const results: AttackRow[] = [];
    for (const flaw of flaws) {
      if (opts.only && !opts.only.includes(flaw.id)) continue;
      let row: AttackRow;
      try {
        const r = await exploits[flaw.id]!(base, {
          internalUrl: metadata.url,
          internalHits: metadata.hits,
          fetch: doFetch,
        });
        row = { id: flaw.id, owasp: flaw.owasp, ...r };
      } catch (err) {
        row = { id: flaw.id, owasp: flaw.owasp, outcome: 'error', exploited: false, evidence: reason(err) };
      }
      results.push(row);
      opts.onResult?.(row);
    }
    const count = (o: AttackRow['outcome']): number => results.filter((r) => r.outcome === o).length;
    return {
      target: base,
      results,
      exploited: count('exploited'),
      blocked: count('blocked'),
      inconclusive: count('inconclusive'),
      errors: count('error'),
    };
  } finally {
    await metadata.close();
    await dispatcher.close();
  }
}

/** The innermost cause's message (fetch wraps the socket error in `cause`), never a stack. */
function reason(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}

/** The report as a table: one row per flaw, then the counts. */
export function formatAttackTable(report: AttackReport): string[] {
  const lines = [`Attacking ${report.target} with ${report.results.length} exploits`, ''];
  const w = Math.max(...report.results.map((r) => r.id.length), 4);
  lines.push(`${'flaw'.padEnd(w)}  ${'owasp'.padEnd(10)}  ${'result'.padEnd(12)}  evidence`);
  for (const r of report.results) {
    const evidence = r.evidence.length > 140 ? r.evidence.slice(0, 139) + '…' : r.evidence;
    lines.push(`${r.id.padEnd(w)}  ${r.owasp.padEnd(10)}  ${r.outcome.padEnd(12)}  ${evidence}`);
  }
  lines.push('');
  lines.push(
    `${report.exploited} exploited, ${report.blocked} blocked, ${report.inconclusive} inconclusive` +
      (report.errors ? `, ${report.errors} error${report.errors === 1 ? '' : 's'}` : '') +
      ` (of ${report.results.length})`,
  );
  return lines;
}

/** The `--json` shape: `{ results: [{ id, owasp, exploited, outcome, evidence, answer? }], exploited, blocked, … }`. */
export function attackJson(report: AttackReport): string {
  return JSON.stringify(
    {
      target: report.target,
      results: report.results.map((r) => ({
        id: r.id,
        owasp: r.owasp,
        exploited: r.exploited,
        outcome: r.outcome,
        evidence: r.evidence,
        ...(r.answer ? { answer: r.answer } : {}),
      })),
      exploited: report.exploited,
      blocked: report.blocked,
      inconclusive: report.inconclusive,
      errors: report.errors,
    },
    null,
    2,
  );
}
