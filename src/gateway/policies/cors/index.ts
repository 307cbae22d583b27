import { Type } from '@sinclair/typebox';
import { problem } from '../../../core/errors.ts';
import { answer, definePolicy, deny, type RequestContext, type ResponseContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

declare module '../../policy.ts' {
  interface PolicyState {
    /** Set when the request was a preflight this policy answered. */
    cors: 'preflight';
  }
}

const schema = Type.Object(
  {
    origins: Type.Array(Type.String({ pattern: '^https?://[^/\\s*]+$' }), {
      description:
        'Allowed origins, exactly (scheme://host[:port]). Empty = no cross-origin access. Never a wildcard.',
      default: [],
    }),
    credentials: Type.Boolean({
      description: 'Send Access-Control-Allow-Credentials for allowed origins.',
      default: false,
    }),
    methods: Type.Array(Type.String(), {
      description: 'Methods allowed in preflight answers.',
      default: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    }),
    headers: Type.Array(Type.String(), {
      description: 'Request headers allowed in preflight answers.',
      default: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
    }),
    exposeHeaders: Type.Array(Type.String(), {
      description: 'Response headers readable by browser scripts.',
      default: [
        'x-request-id',
        'ratelimit',
        'ratelimit-policy',
        'retry-after',
        'deprecation',
        'sunset',
        'link',
      ],
    }),
    maxAge: Type.Integer({ minimum: 0, description: 'Preflight cache lifetime in seconds.', default: 600 }),
  },
  { additionalProperties: false },
);

const UPSTREAM_CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
];

/**
 * cors: an explicit origin allow-list. Allowed origins are echoed one at a time with
 * `Vary: Origin`; any other origin gets no CORS headers (and a 403 on preflight), so an
 * arbitrary origin is never reflected, with or without credentials.
 */
export const cors = definePolicy({
  name: 'cors',
  priority: PRIORITIES.cors,
  schema,
  create(options) {
    const allowed = new Set(options.origins.map((o) => o.toLowerCase()));
    const allowMethods = options.methods.join(', ');
    const allowHeaders = options.headers.join(', ');
    const expose = options.exposeHeaders.join(', ');
    const denied = deny(
      problem('cors-denied', { detail: 'This origin may not call the API from a browser' }),
    );
    return {
      // Never pass through the upstream's own CORS decisions: the gateway owns them.
      dropResponseHeaders: UPSTREAM_CORS_HEADERS,
      onRequest: function corsRequest(ctx: RequestContext) {
        const origin = ctx.headers.origin;
        if (
          ctx.method !== 'OPTIONS' ||
          origin === undefined ||
          ctx.headers['access-control-request-method'] === undefined
        ) {
          return undefined;
        }
        // A preflight: answered here, never forwarded.
        if (!allowed.has(origin.toLowerCase())) return denied;
        ctx.state.cors = 'preflight';
        return answer(204, {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': allowMethods,
          'access-control-allow-headers': allowHeaders,
          'access-control-max-age': String(options.maxAge),
          ...(options.credentials ? { 'access-control-allow-credentials': 'true' } : {}),
          vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        });
      },
      onResponse: function corsResponse(ctx: RequestContext, res: ResponseContext) {
        if (ctx.state.cors === 'preflight') return;
        const h = res.headers;
        const origin = ctx.headers.origin;
        if (origin === undefined) return;
        const vary = h.vary === undefined ? '' : String(h.vary);
        if (!vary) h.vary = 'Origin';
        else if (!/(?:^|,)\s*(?:origin|\*)\s*(?:,|$)/i.test(vary)) h.vary = `${vary}, Origin`;
        if (!allowed.has(origin.toLowerCase())) return;
        h['access-control-allow-origin'] = origin;
        if (options.credentials) h['access-control-allow-credentials'] = 'true';
        if (expose) h['access-control-expose-headers'] = expose;
      },
    };
  },
});
