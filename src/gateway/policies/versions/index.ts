/**
 * The `versions` policy (priority 360, right after routing): the lifecycle of API
 * versions on the wire (docs/versions.md).
 *
 * - Announces a deprecation with `Deprecation` (RFC 9745, structured-field Date) and a
 *   sunset with `Sunset` (RFC 8594, IMF-fixdate), plus `Link` rel `deprecation`,
 *   `sunset` and `successor-version` (RFC 8288, RFC 5829) on every response of the version
 *   — including the gateway's own denials, since they are answers of that version too.
 * - Retires the version at its sunset instant: `410 Gone` problem+json naming the
 *   successor, before authentication (a retired version has nothing left to protect).
 * - Reports every call to a deprecated version as a `deprecated-version-used` event with
 *   the consumer, so the inventory can say whom to tell before the sunset.
 *
 * Header values are computed once per operation in `forRoute`; per request the policy
 * compares the request's start time with the instants, nothing more.
 */
import { Type } from '@sinclair/typebox';
import { problem } from '../../../core/errors.ts';
import type { RampartEvent } from '../../../core/events.ts';
import {
  lifecycleHeaders,
  linkValue,
  parseLifecycleDate,
  type LifecycleDates,
} from '../../../core/lifecycle.ts';
import {
  definePolicy,
  deny,
  type Denial,
  type RequestContext,
  type ResponseContext,
  type RouteHooks,
  type RouteInfo,
} from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

const LIFECYCLE_DATE = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2}))?$';

const schema = Type.Object(
  {
    announce: Type.Boolean({
      description:
        'Send Deprecation and Sunset as soon as the dates are configured (both RFCs define them as announcements of a possibly future instant). false: only from the deprecation instant on.',
      default: true,
    }),
    retire: Type.Boolean({
      description: 'Answer 410 Gone from the sunset instant on (false: keep serving, headers only).',
      default: true,
    }),
  },
  { additionalProperties: false, description: 'API version lifecycle headers and retirement.' },
);

/** `x-rampart.deprecation` on an operation (or a path / the document): its own schedule. */
export const deprecationKey = Type.Object(
  {
    date: Type.Optional(
      Type.String({
        pattern: LIFECYCLE_DATE,
        description: 'When the operation is (or will be) deprecated: YYYY-MM-DD or an RFC 3339 date-time.',
      }),
    ),
    sunset: Type.Optional(
      Type.String({
        pattern: LIFECYCLE_DATE,
        description: 'When the operation is retired (410 Gone): YYYY-MM-DD or an RFC 3339 date-time.',
      }),
    ),
    link: Type.Optional(
      Type.String({
        format: 'uri',
        description: 'Deprecation notice for this operation (Link rel="deprecation").',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "This operation's own deprecation schedule (docs/versions.md).",
  },
);

interface DeprecationKey {
  date?: string;
  sunset?: string;
  link?: string;
}

/** The route's lifecycle: the version's from rampart.yaml, refined by the operation. */
function routeLifecycle(route: RouteInfo): LifecycleDates | undefined {
  const v = route.lifecycle;
  const op = route.rampart.deprecation as DeprecationKey | undefined;
  const at = (s: string | undefined) => (s === undefined ? undefined : parseLifecycleDate(s));
  const l: LifecycleDates = {};
  const vDep = at(v.deprecated);
  const vSun = at(v.sunset);
  const oDep = at(op?.date);
  const oSun = at(op?.sunset);
  // The earlier instant wins: an operation can leave before its version, never after.
  const dep = [vDep, oDep].filter((t): t is number => t !== undefined);
  const sun = [vSun, oSun].filter((t): t is number => t !== undefined);
  if (dep.length) l.deprecated = Math.min(...dep);
  else if (route.operation.deprecated) l.deprecated = 0; // RFC 9745 needs a date: any past one means "in effect".
  if (sun.length) l.sunset = Math.min(...sun);
  if (l.deprecated === undefined && l.sunset === undefined) return undefined;
  if (v.successor) l.successor = v.successor;
  const link = op?.link ?? v.deprecationLink;
  if (link) l.deprecationLink = link;
  if (v.sunsetLink) l.sunsetLink = v.sunsetLink;
  return l;
}

function consumerOf(
  ctx: RequestContext,
): Pick<Extract<RampartEvent, { type: 'deprecated-version-used' }>, 'consumer' | 'consumerKind'> {
  const p = ctx.principal;
  if (!p) return { consumerKind: 'anonymous' };
  const client = p.claims.client_id ?? p.claims.azp;
  if (p.kind === 'user' && typeof client === 'string' && client !== '' && p.claims.sub === undefined)
    return { consumer: client, consumerKind: 'client' };
  return { consumer: p.id, consumerKind: p.kind };
}

/** Adds link values to whatever Link field the response already has. */
function appendLinks(res: ResponseContext, links: readonly string[]): void {
  if (!links.length) return;
  const cur = res.headers.link;
  if (cur === undefined) res.headers.link = links.length === 1 ? links[0]! : [...links];
  else res.headers.link = [...(Array.isArray(cur) ? cur : [String(cur)]), ...links];
}

export const versions = definePolicy({
  name: 'versions',
  priority: PRIORITIES.versions,
  schema,
  xRampart: { deprecation: deprecationKey },
  create(options) {
    return {
      forRoute(route) {
        const l = routeLifecycle(route);
        if (!l) return undefined;
        const h = lifecycleHeaders(l);
        const deprecatedAt = l.deprecated;
        const sunsetAt = l.sunset;
        const links = h.links;
        const successorLink = l.successor ? [linkValue(l.successor, 'successor-version')] : [];
        const api = route.api;
        const base = route.base;
        const template = route.template;
        let gone: Denial | undefined;
        if (sunsetAt !== undefined && options.retire) {
          const when = new Date(sunsetAt).toISOString();
          gone = deny(
            problem('gone', {
              detail: l.successor
                ? `${base} was retired on ${when}; use ${l.successor}`
                : `${base} was retired on ${when}`,
              ...(l.successor ? { successor: l.successor } : {}),
              sunset: when,
            }),
            h.sunset ? { sunset: h.sunset } : {},
          );
        }
        const hooks: RouteHooks = {
          onResponse: function versionHeaders(ctx: RequestContext, res: ResponseContext) {
            const now = ctx.startedAt;
            const deprecated = deprecatedAt !== undefined && now >= deprecatedAt;
            if (gone !== undefined && now >= sunsetAt!) {
              appendLinks(res, successorLink);
              return;
            }
            if (!options.announce && !deprecated) return;
            if (h.deprecation) res.headers.deprecation = h.deprecation;
            if (h.sunset) res.headers.sunset = h.sunset;
            appendLinks(res, links);
            ctx.emit({
              type: 'deprecated-version-used',
              at: now,
              requestId: ctx.id,
              ip: ctx.ip,
              api,
              version: base,
              method: ctx.method,
              route: template,
              state: deprecated ? 'deprecated' : 'announced',
              ...consumerOf(ctx),
            });
          },
        };
        if (gone !== undefined) {
          const retired = gone;
          const at = sunsetAt!;
          hooks.onRequest = function versionRetired(ctx: RequestContext) {
            if (ctx.startedAt >= at) return retired;
          };
        }
        return hooks;
      },
    };
  },
});
