import { Type } from '@sinclair/typebox';
import { definePolicy, type RequestContext, type ResponseContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';

const schema = Type.Object(
  {
    header: Type.String({
      description: 'Header carrying the request id, both ways.',
      default: 'x-request-id',
    }),
    trustIncoming: Type.Boolean({
      description: 'Accept an incoming id from trusted proxies (never from other clients).',
      default: true,
    }),
  },
  { additionalProperties: false },
);

// An incoming id is accepted only when it is short and plain: it ends up in logs and headers.
const SAFE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * request-id: every request gets an id (a UUID, or a trusted proxy's), sent upstream
 * and back to the client, and carried by every event and problem document.
 */
export const requestId = definePolicy({
  name: 'request-id',
  priority: PRIORITIES['request-id'],
  schema,
  create(options) {
    const header = options.header.toLowerCase();
    return {
      onRequest: function requestIdRequest(ctx: RequestContext) {
        if (options.trustIncoming && ctx.trustedPeer) {
          const incoming = ctx.headers[header];
          if (typeof incoming === 'string' && SAFE_ID.test(incoming)) ctx.id = incoming;
        }
        if (header !== 'x-request-id') ctx.upstreamHeaders[header] = ctx.id;
      },
      onResponse: function requestIdResponse(ctx: RequestContext, res: ResponseContext) {
        res.headers[header] = ctx.id;
      },
    };
  },
});
