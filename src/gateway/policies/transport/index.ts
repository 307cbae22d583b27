import { Type } from '@sinclair/typebox';
import { problem } from '../../../core/errors.ts';
import { IpMatcher } from '../../ip.ts';
import { definePolicy, deny, type RequestContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

const schema = Type.Object(
  {
    requireTls: Type.Boolean({
      description:
        "Refuse requests that did not arrive over TLS (directly, or per a trusted proxy's X-Forwarded-Proto).",
      default: true,
    }),
    allow: Type.Array(Type.String(), {
      description: 'If set, only these client addresses/CIDR blocks may call (checked after deny).',
      default: [],
    }),
    deny: Type.Array(Type.String(), {
      description: 'Client addresses/CIDR blocks that may never call.',
      default: [],
    }),
  },
  { additionalProperties: false },
);

/** transport: TLS requirement and IP allow/deny lists (CIDR) on the resolved client address. */
export const transport = definePolicy({
  name: 'transport',
  priority: PRIORITIES.transport,
  schema,
  create(options) {
    const allow = new IpMatcher(options.allow);
    const denyList = new IpMatcher(options.deny);
    const tlsDenial = deny(problem('tls-required', { detail: 'This API is only served over HTTPS' }));
    const ipDenial = deny(problem('ip-denied', { detail: 'Requests from this address are not allowed' }));
    return {
      onRequest: function transportRequest(ctx: RequestContext) {
        if (options.requireTls && !ctx.secure) {
          const proto = ctx.trustedPeer ? ctx.headers['x-forwarded-proto'] : undefined;
          if (proto !== 'https') return tlsDenial;
        }
        if (denyList.has(ctx.ip)) return ipDenial;
        if (allow.size > 0 && !allow.has(ctx.ip)) return ipDenial;
        return undefined;
      },
    };
  },
});
