import { Type } from '@sinclair/typebox';
import { LEAKY_RESPONSE_HEADERS } from '../../upstream.ts';
import { definePolicy, type RequestContext, type ResponseContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

const schema = Type.Object(
  {
    hstsMaxAge: Type.Integer({
      minimum: 0,
      description: 'Strict-Transport-Security max-age on TLS responses (0 = off).',
      default: 63072000,
    }),
    hstsIncludeSubDomains: Type.Boolean({ description: 'Add includeSubDomains to HSTS.', default: true }),
    contentSecurityPolicy: Type.String({
      description: 'Content-Security-Policy for API responses.',
      default: "default-src 'none'; frame-ancestors 'none'",
    }),
    cacheControl: Type.String({
      description: 'Cache-Control when the upstream sets none (APIs answer per-user data).',
      default: 'no-store',
    }),
    remove: Type.Array(Type.String(), {
      description:
        'Extra response headers to remove (Server, X-Powered-By and other version headers always are).',
      default: [],
    }),
  },
  { additionalProperties: false },
);

/**
 * security-headers: OWASP REST/Secure Headers for JSON APIs, added to every response
 * (upstream or local), and implementation-revealing headers removed (ASVS 13.4.6).
 * Header values are computed once at build time; the per-response work is assignments.
 */
export const securityHeaders = definePolicy({
  name: 'security-headers',
  priority: PRIORITIES['security-headers'],
  schema,
  create(options) {
    const fixed: Array<[string, string]> = [
      ['x-content-type-options', 'nosniff'],
      ['x-frame-options', 'DENY'],
      ['content-security-policy', options.contentSecurityPolicy],
      ['referrer-policy', 'no-referrer'],
      ['cross-origin-resource-policy', 'same-origin'],
    ];
    const hsts =
      options.hstsMaxAge > 0
        ? `max-age=${options.hstsMaxAge}${options.hstsIncludeSubDomains ? '; includeSubDomains' : ''}`
        : undefined;
    return {
      // Removed while the gateway parses the upstream head (nothing to delete per response).
      dropResponseHeaders: [...LEAKY_RESPONSE_HEADERS, ...options.remove],
      onResponse: function securityHeadersResponse(ctx: RequestContext, res: ResponseContext) {
        const h = res.headers;
        for (let i = 0; i < fixed.length; i++) {
          const [k, v] = fixed[i]!;
          if (h[k] === undefined) h[k] = v;
        }
        if (h['cache-control'] === undefined) h['cache-control'] = options.cacheControl;
        if (hsts && ctx.secure) h['strict-transport-security'] = hsts;
      },
    };
  },
});
