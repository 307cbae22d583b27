import type { RampartEvent } from '../../core/events.ts';
import { categoryOf } from '../categories.ts';

/**
 * Labels a rule may group by: each has a bounded number of values in practice (or is
 * an address/identity whose groups the rule's `maxGroups` LRU bounds). Raw paths,
 * headers and object ids are not groupable: they are chosen by the client.
 */
export const GROUP_LABELS = [
  'ip',
  'principal',
  'consumer',
  'account',
  'user',
  'route',
  'method',
  'api',
  'policy',
  'category',
  'subject',
  'action',
  'reason',
  'statusClass',
] as const;

/** Fields a filter or `field` may name. */
export const MATCH_FIELDS = [
  ...GROUP_LABELS,
  'type',
  'outcome',
  'status',
  'problem',
  'version',
  'direction',
  'severity',
  'daysLeft',
  'limit',
  'scanner',
  'path',
  'objectId',
  'durationMs',
  'bytesOut',
  'apiKeyId',
] as const;

/** Fields that name client-chosen values: refused in groupBy with a reason. */
export const UNBOUNDED: Record<string, string> = {
  path: 'a raw path is chosen by the client (group by route, the template)',
  objectId: 'object ids are chosen by the client (count them with kind: distinct, field: objectId)',
  requestId: 'every request has its own id',
  durationMs: 'a measurement, not a label',
  bytesOut: 'a measurement, not a label',
};

const STATUS_CLASS = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'];
export const statusClass = (status: number): string => STATUS_CLASS[Math.floor(status / 100)] ?? 'other';

const fullRoutes = new Map<string, Map<string, string>>();

/**
 * The route label: the version's base path + the operation's template (`/v2` +
 * `/records/{recordId}`), so two versions' `/health` stay apart. Cached: no string is
 * built per event once a route has been seen.
 */
export function routeOf(e: RampartEvent): string | undefined {
  const r = e as { route?: string; version?: string };
  if (r.route === undefined) return undefined;
  if (r.version === undefined || r.route.startsWith(r.version + '/')) return r.route;
  let byRoute = fullRoutes.get(r.version);
  if (!byRoute) fullRoutes.set(r.version, (byRoute = new Map()));
  let full = byRoute.get(r.route);
  if (full === undefined) {
    full = r.version + r.route;
    if (byRoute.size < 10_000) byRoute.set(r.route, full);
  }
  return full;
}

/** The value of a field of an event (derived labels included), or undefined. */
export function fieldOf(e: RampartEvent, name: string): string | number | boolean | undefined {
  switch (name) {
    case 'statusClass':
      return e.type === 'request' ? statusClass(e.status) : undefined;
    case 'consumer': {
      const r = e as { principal?: string; apiKeyId?: string; user?: string };
      return r.principal ?? r.apiKeyId ?? r.user ?? e.ip;
    }
    case 'category':
      return e.type === 'denied' ? categoryOf(e.policy, e.owasp) : (e as { owasp?: string }).owasp;
    case 'route':
      return routeOf(e);
    case 'principal':
      return (e as { principal?: string }).principal ?? (e as { user?: string }).user;
    default: {
      const v = (e as unknown as Record<string, unknown>)[name];
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
    }
  }
}
