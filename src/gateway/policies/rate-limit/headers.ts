/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers -10, structured fields,
 * RFC 9651): `RateLimit-Policy` lists every quota policy of the operation
 * (`"minute";q=100;w=60`), `RateLimit` the current state of each (`"minute";r=42;t=18`).
 * Names are sf-strings; `qu` names the quota unit when it is not requests. Optionally the
 * legacy `X-RateLimit-Limit/-Remaining/-Reset` trio for the most constrained limit.
 */
import type { LimitState } from '../../../core/counters.ts';

export interface HeaderLimit {
  name: string;
  limit: number;
  windowSeconds: number;
  unit?: 'requests' | 'content-bytes';
  /** `sfString(name)`, computed once per route (the state field is written per request). */
  quoted?: string;
}

/** An sf-string: printable ASCII with `"` and `\` escaped (names are validated to be ASCII). */
export const sfString = (s: string): string => `"${s.replace(/[\\"]/g, (c) => '\\' + c)}"`;

/** `RateLimit-Policy`, computed once per route. */
export function policyField(limits: readonly HeaderLimit[]): string {
  return limits
    .map(
      (l) =>
        `${sfString(l.name)};q=${l.limit};w=${l.windowSeconds}${l.unit && l.unit !== 'requests' ? `;qu=${sfString(l.unit)}` : ''}`,
    )
    .join(', ');
}

/** `RateLimit`: remaining units and seconds until the quota is back to full, per limit. */
export function stateField(limits: readonly HeaderLimit[], states: readonly LimitState[]): string {
  let out = '';
  for (let i = 0; i < limits.length; i++) {
    const s = states[i]!;
    if (i) out += ', ';
    const l = limits[i]!;
    out += `${l.quoted ?? sfString(l.name)};r=${s.remaining};t=${Math.ceil(s.resetMs / 1000)}`;
  }
  return out;
}

/** The most constrained limit: fewest remaining relative to its size (a denied one first). */
export function tightest(limits: readonly HeaderLimit[], states: readonly LimitState[]): number {
  let best = 0;
  for (let i = 1; i < states.length; i++) {
    const a = states[i]!;
    const b = states[best]!;
    if (a.allowed !== b.allowed) {
      if (!a.allowed) best = i;
      continue;
    }
    if (!a.allowed && a.retryMs > b.retryMs) best = i;
    else if (a.allowed && a.remaining / limits[i]!.limit < b.remaining / limits[best]!.limit) best = i;
  }
  return best;
}

/** Seconds for Retry-After: at least 1. */
export const retrySeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));
