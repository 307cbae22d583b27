import type { Finding } from '../core/findings.ts';
import { ScanHttp, type Exchange } from './http.ts';
import { login, type Identity } from './identities.ts';

export interface ReplayStep {
  method: string;
  url: string;
  expected?: number;
  got?: number;
  same: boolean;
  /** Why the step could not be sent as recorded. */
  skipped?: string;
}

export interface ReplayResult {
  /** true = still reproduces, false = fixed, undefined = could not be verified. */
  reproduces: boolean | undefined;
  steps: ReplayStep[];
}

const MASKED = /\*\*\*\*|…\(\d+ chars(, masked)?\)/;
const sameClass = (a: number, b: number): boolean => a === b || (a >= 200 && a < 300 && b >= 200 && b < 300);

/** Header-borne findings reproduce only when the header problem is still there. */
function sameSignal(
  finding: Finding,
  e: NonNullable<Finding['evidence']['exchanges']>[number],
  x: Exchange,
): boolean {
  const h = x.response!.headers;
  if (finding.check === 'cors') {
    const origin = Object.entries(e.request.headers ?? {}).find(([k]) => k.toLowerCase() === 'origin')?.[1];
    return origin !== undefined && h['access-control-allow-origin'] === origin;
  }
  if (finding.check === 'security-headers') {
    const missing = (finding.evidence.details?.missing as string[] | undefined) ?? [];
    return missing.length === 0
      ? Object.keys(h).some((k) => /x-powered-by|^server$/.test(k))
      : missing.some((n) => h[n] === undefined);
  }
  return true;
}

/**
 * Re-sends a finding's recorded requests to see whether it still reproduces (to verify a
 * fix). Masked credentials are replaced by the named identity's (signed in again through
 * its recipe); requests whose masked parts belong to no identity (forged tokens, masked
 * or clipped bodies) cannot be replayed and make the result "could not verify". A step
 * reproduces when its status matches the recorded one (any 2xx matches any 2xx) and,
 * for header findings (CORS, security headers), the header problem is still there.
 */
export async function replayFinding(
  finding: Finding,
  o: { identities: Identity[]; target?: string; timeoutMs?: number; signal?: AbortSignal },
): Promise<ReplayResult> {
  const exchanges = finding.evidence.exchanges ?? [];
  const steps: ReplayStep[] = [];
  if (exchanges.length === 0) return { reproduces: undefined, steps };
  const origin = o.target ? new URL(o.target).origin : new URL(exchanges[0]!.request.url).origin;
  const http = new ScanHttp({
    target: origin,
    maxRequests: 100,
    rate: 0,
    timeoutMs: o.timeoutMs ?? 10_000,
    signal: o.signal ?? new AbortController().signal,
  });
  try {
    const loggedIn = new Set<string>();
    let verifiable = true;
    for (const e of exchanges) {
      const u = new URL(e.request.url);
      const path = u.pathname + u.search;
      const step: ReplayStep = {
        method: e.request.method,
        url: origin + path,
        same: false,
        ...(e.response ? { expected: e.response.status } : {}),
      };
      steps.push(step);
      const headers: Record<string, string> = {};
      let skip: string | undefined;
      for (const [k, v] of Object.entries(e.request.headers ?? {})) {
        if (!MASKED.test(v)) {
          headers[k] = v;
          continue;
        }
        const id = e.as ? o.identities.find((i) => i.name === e.as) : undefined;
        if (!id) {
          skip = e.as
            ? `identity '${e.as}' is not given (--auth/--identity)`
            : `the ${k} header is masked and belongs to no identity (a forged or anonymous credential)`;
          break;
        }
        if (!loggedIn.has(id.name)) {
          await login(http, id, Date.now());
          loggedIn.add(id.name);
        }
        Object.assign(headers, id.headers);
      }
      if (!skip && e.request.body !== undefined && MASKED.test(e.request.body))
        skip = 'the request body was masked or clipped in the report';
      if (skip || e.response === undefined) {
        step.skipped = skip ?? 'no recorded answer to compare with';
        verifiable = false;
        continue;
      }
      const x: Exchange = await http.send({
        method: e.request.method,
        path,
        headers,
        ...(e.request.body !== undefined ? { body: e.request.body } : {}),
      });
      if (x.response) step.got = x.response.status;
      step.same =
        x.response !== undefined &&
        sameClass(e.response.status, x.response.status) &&
        sameSignal(finding, e, x);
    }
    const sent = steps.filter((s) => !s.skipped);
    if (sent.length === 0) return { reproduces: undefined, steps };
    if (sent.some((s) => !s.same)) return { reproduces: false, steps };
    return { reproduces: verifiable ? true : undefined, steps };
  } finally {
    await http.close();
  }
}
