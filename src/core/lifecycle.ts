/**
 * The lifecycle of an API version (or a single operation): active → deprecated (RFC 9745
 * `Deprecation`) → retired at its sunset instant (RFC 8594 `Sunset`, then 410 Gone).
 * Shared by the gateway's `versions` policy, the changelog and the inventory, so all
 * three agree on the state of a version at any instant.
 *
 * Dates in rampart.yaml are `YYYY-MM-DD` (00:00:00 UTC of that day) or an RFC 3339
 * date-time for an exact instant.
 */

export type LifecycleState = 'active' | 'deprecated' | 'retired';

export interface LifecycleDates {
  /** Epoch ms from which the version is deprecated. */
  deprecated?: number;
  /** Epoch ms from which the version is retired (410). */
  sunset?: number;
  /** Base path of the successor version, e.g. `/v2`. */
  successor?: string;
  /** URL of a human-readable deprecation policy or changelog (`Link rel="deprecation"`). */
  deprecationLink?: string;
  /** URL describing the sunset (`Link rel="sunset"`). */
  sunsetLink?: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Epoch ms of a lifecycle date, or undefined when it is not a valid date or date-time. */
export function parseLifecycleDate(s: string): number | undefined {
  const d = DATE.exec(s);
  if (d) {
    const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    const t = Date.UTC(y, m - 1, day);
    const back = new Date(t);
    // Date.UTC rolls 2026-02-30 over to March: refuse instead.
    return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === day
      ? t
      : undefined;
  }
  if (DATE_TIME.test(s)) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

export function lifecycleState(l: LifecycleDates, now: number): LifecycleState {
  if (l.sunset !== undefined && now >= l.sunset) return 'retired';
  if (l.deprecated !== undefined && now >= l.deprecated) return 'deprecated';
  return 'active';
}

/** RFC 9745 §2.1: a structured-field Date, `@` + integer seconds since the epoch. */
export function deprecationHeader(epochMs: number): string {
  return `@${Math.floor(epochMs / 1000)}`;
}

/** RFC 8594 §3: an HTTP-date in IMF-fixdate form, e.g. `Sat, 31 Dec 2026 23:59:59 GMT`. */
export function sunsetHeader(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toUTCString();
}

/** A Link field value (RFC 8288) with the target in angle brackets and a quoted rel. */
export function linkValue(target: string, rel: string): string {
  // Targets come from config (validated URIs or base paths); refuse anything that could split the field.
  if (/[\s<>"]/.test(target)) throw new Error(`invalid Link target: ${JSON.stringify(target)}`);
  return `<${target}>; rel="${rel}"`;
}

/**
 * The announcement headers of a version, computed once: the `Deprecation` and `Sunset`
 * values whenever those dates are configured (both RFCs define them as announcements of
 * a possibly future instant) and the `Link` values.
 */
export interface LifecycleHeaders {
  deprecation?: string;
  sunset?: string;
  links: string[];
}

export function lifecycleHeaders(l: LifecycleDates): LifecycleHeaders {
  const links: string[] = [];
  const h: LifecycleHeaders = { links };
  if (l.deprecated !== undefined) h.deprecation = deprecationHeader(l.deprecated);
  if (l.sunset !== undefined) h.sunset = sunsetHeader(l.sunset);
  if (l.deprecationLink) links.push(linkValue(l.deprecationLink, 'deprecation'));
  if (l.sunsetLink) links.push(linkValue(l.sunsetLink, 'sunset'));
  if (l.successor && (l.deprecated !== undefined || l.sunset !== undefined))
    links.push(linkValue(l.successor, 'successor-version'));
  return h;
}
