/** Every audit rule, table-driven: what it flags, at which severity, and what it leaves alone. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { audit, RULES } from '../../src/audit/index.ts';
import { parseOpenApi } from '../../src/core/openapi-loader.ts';
import { adminWithoutRole, objectIdWithoutOwner } from '../../src/audit/rules/authorization.ts';
import {
  authEnumeration,
  authFlowUnthrottled,
  credentialsInUrl,
  insecureScheme,
  noSecurity,
} from '../../src/audit/rules/authentication.ts';
import { sensitiveFlowUnlimited, ssrfInput, thirdPartyUnvalidated } from '../../src/audit/rules/flows.ts';
import { deprecatedWithoutSunset, internalOperation } from '../../src/audit/rules/inventory.ts';
import {
  fileParameter,
  httpServer,
  missingErrorResponses,
  verboseErrorSchema,
} from '../../src/audit/rules/misconfiguration.ts';
import { massAssignment, openResponse, sensitiveResponse } from '../../src/audit/rules/properties.ts';
import { redosPattern, redosProne, unboundedInput } from '../../src/audit/rules/resources.ts';
import { xRampartInvalid } from '../../src/audit/rules/x-rampart.ts';
import { auditObject, docOf, idParam, json, ok, testRule } from './rule-harness.ts';

const closed = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...extra,
});
const owner = { owner: { lookup: 'GET /orders/{orderId}', field: 'ownerId', claim: 'sub' } };

testRule(objectIdWithoutOwner, [
  {
    name: 'sequential integer id without owner rule: high',
    doc: {
      paths: {
        '/orders/{orderId}': {
          get: {
            parameters: [idParam('orderId')],
            responses: ok({ type: 'object', properties: { ownerId: { type: 'integer' } } }),
          },
        },
      },
    },
    expect: [{ operation: 'GET /v1/orders/{orderId}', severity: 'high', message: /sequential integer/ }],
  },
  {
    name: 'uuid id: medium',
    doc: {
      paths: {
        '/orders/{orderId}': {
          delete: { parameters: [{ ...idParam('orderId', 'string') }], responses: ok() },
        },
      },
    },
    expect: [{ operation: 'DELETE /v1/orders/{orderId}', severity: 'medium' }],
  },
  {
    name: 'an x-rampart owner rule protects it',
    doc: {
      paths: {
        '/orders/{orderId}': {
          get: { 'x-rampart': owner, parameters: [idParam('orderId')], responses: ok() },
        },
      },
    },
    expect: [],
  },
  {
    name: 'admin-only operations see every object by design',
    doc: {
      paths: {
        '/orders/{orderId}': {
          get: { 'x-rampart': { roles: ['admin'] }, parameters: [idParam('orderId')], responses: ok() },
        },
      },
    },
    expect: [],
  },
  {
    name: 'a path without an object id',
    doc: {
      paths: {
        '/orders': { get: { responses: ok() } },
        '/files/{name}': { get: { parameters: [idParam('name', 'string')], responses: ok() } },
      },
    },
    expect: [],
  },
]);

it('object-id-without-owner suggests an owner rule on the object read, with its owner field', () => {
  const { findings } = auditObject(objectIdWithoutOwner, {
    doc: {
      paths: {
        '/orders/{orderId}': {
          get: {
            parameters: [idParam('orderId')],
            responses: ok({ type: 'object', properties: { customerId: { type: 'integer' } } }),
          },
        },
        '/orders/{orderId}/refunds': { post: { parameters: [idParam('orderId')], responses: ok() } },
      },
    },
  });
  expect(findings.map((f) => f.remediation.xRampart)).toEqual([
    `x-rampart:\n  owner: { lookup: "GET /orders/{orderId}", field: customerId, claim: sub, bypassRoles: [ admin ] }`,
    `x-rampart:\n  owner: { lookup: "GET /orders/{orderId}", field: customerId, claim: sub, bypassRoles: [ admin ] }`,
  ]);
});

testRule(noSecurity, [
  {
    name: 'a public write: high',
    doc: { paths: { '/orders': { post: { security: [], responses: ok() } } } },
    expect: [{ operation: 'POST /v1/orders', severity: 'high', message: /changes state/ }],
  },
  {
    name: 'an admin path with an optional (empty) requirement: high',
    doc: { paths: { '/admin/stats': { get: { security: [{}], responses: ok() } } } },
    expect: [{ operation: 'GET /v1/admin/stats', severity: 'high', message: /administrative/ }],
  },
  {
    name: 'a _-prefixed debug path in a document with no security at all: high',
    doc: { security: undefined, paths: { '/_debug': { get: { responses: ok() } } } },
    expect: [{ operation: 'GET /v1/_debug', severity: 'high', message: /debug/ }],
  },
  {
    name: 'a public read: info, to confirm',
    doc: { paths: { '/catalogue': { get: { security: [], responses: ok() } } } },
    expect: [{ operation: 'GET /v1/catalogue', severity: 'info' }],
  },
  {
    name: 'sign-in, sign-up and probes are public by nature; secured operations are fine',
    doc: {
      paths: {
        '/auth/login': { post: { security: [], responses: ok() } },
        '/signup': { post: { security: [], responses: ok() } },
        '/health': { get: { security: [], responses: ok() } },
        '/orders': { post: { responses: ok() } },
      },
    },
    expect: [],
  },
]);

testRule(insecureScheme, [
  {
    name: 'basic auth with an http server: high; api key in query: medium; implicit flow: medium',
    doc: {
      servers: [{ url: 'http://api.example.com' }],
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          key: { type: 'apiKey', in: 'query', name: 'api_key' },
          oauth: {
            type: 'oauth2',
            flows: { implicit: { authorizationUrl: 'https://a.example/auth', scopes: {} } },
          },
        },
      },
    },
    expect: [
      { severity: 'high', message: /HTTP Basic and a server is plain/ },
      { severity: 'medium', message: /query parameter 'api_key'/ },
      { severity: 'medium', message: /implicit flow/ },
    ],
  },
  {
    name: 'credentials in a server URL',
    doc: { servers: [{ url: 'https://user:pw@api.example.com' }] },
    expect: [{ severity: 'high', message: /credentials in its URL/ }],
  },
  {
    name: 'bearer and header API keys over https are fine',
    doc: { components: { securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } } },
    expect: [],
  },
]);

testRule(credentialsInUrl, [
  {
    name: 'a token in the query',
    doc: {
      paths: {
        '/export': {
          get: {
            parameters: [{ name: 'access_token', in: 'query', schema: { type: 'string' } }],
            responses: ok(),
          },
        },
      },
    },
    expect: [{ operation: 'GET /v1/export', severity: 'medium' }],
  },
  {
    name: 'ordinary query parameters',
    doc: {
      paths: {
        '/export': {
          get: { parameters: [{ name: 'format', in: 'query', schema: { type: 'string' } }], responses: ok() },
        },
      },
    },
    expect: [],
  },
]);

testRule(authFlowUnthrottled, [
  {
    name: 'sign-in with no limit and no 429: high',
    doc: {
      paths: {
        '/login': {
          post: { security: [], responses: { '200': { description: 'ok' }, '401': { description: 'no' } } },
        },
      },
    },
    expect: [{ operation: 'POST /v1/login', severity: 'high' }],
  },
  {
    name: '429 documented but not enforced: low',
    doc: {
      paths: {
        '/oauth/token': {
          post: {
            security: [],
            responses: { '200': { description: 'ok' }, '429': { description: 'slow down' } },
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/oauth/token', severity: 'low' }],
  },
  {
    name: 'x-rampart bruteForce closes it',
    doc: {
      paths: {
        '/login': {
          post: {
            security: [],
            'x-rampart': { bruteForce: { per: 'username', limit: 5, window: 900 } },
            responses: ok(),
          },
        },
      },
    },
    expect: [],
  },
  {
    name: 'the gateway brute-force policy (rampart.yaml) closes it',
    doc: { paths: { '/login': { post: { security: [], responses: ok() } } } },
    gateway: { configFile: 'rampart.yaml', policies: { 'brute-force': { limit: 5 } }, tls: true },
    expect: [],
  },
]);

testRule(authEnumeration, [
  {
    name: 'sign-in documents 404 for unknown accounts',
    doc: {
      paths: {
        '/login': {
          post: {
            security: [],
            responses: {
              '200': { description: 'ok' },
              '401': { description: 'wrong password' },
              '404': { description: 'no such user' },
            },
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/login', severity: 'medium' }],
  },
  {
    name: 'one 401 for every failure',
    doc: {
      paths: {
        '/login': {
          post: {
            security: [],
            responses: { '200': { description: 'ok' }, '401': { description: 'invalid credentials' } },
          },
        },
      },
    },
    expect: [],
  },
  {
    name: 'the 404 is documented but the gateway folds every failure (x-rampart.uniformFailure)',
    doc: {
      paths: {
        '/login': {
          post: {
            security: [],
            'x-rampart': { uniformFailure: true },
            responses: {
              '200': { description: 'ok' },
              '401': { description: 'wrong password' },
              '404': { description: 'no such user' },
            },
          },
        },
      },
    },
    expect: [],
  },
]);

testRule(massAssignment, [
  {
    name: 'a writable role: high',
    doc: {
      paths: {
        '/me': {
          patch: {
            requestBody: json(closed({ name: { type: 'string' }, role: { type: 'string' } })),
            responses: ok(),
          },
        },
      },
    },
    expect: [{ operation: 'PATCH /v1/me', severity: 'high', message: /'role'/ }],
  },
  {
    name: 'an open body over a resource with isAdmin: high',
    doc: {
      paths: {
        '/users/{userId}': {
          get: {
            parameters: [idParam('userId')],
            responses: ok(closed({ isAdmin: { type: 'boolean', readOnly: true } })),
          },
          put: {
            parameters: [idParam('userId')],
            requestBody: json({ type: 'object', properties: { name: { type: 'string' } } }),
            responses: ok(),
          },
        },
      },
    },
    expect: [
      { operation: 'PUT /v1/users/{userId}', severity: 'high', message: /undeclared properties.*isAdmin/ },
    ],
  },
  {
    name: 'an open body, nothing privileged: low',
    doc: {
      paths: {
        '/notes': {
          post: {
            requestBody: json({ type: 'object', properties: { text: { type: 'string' } } }),
            responses: ok(),
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/notes', severity: 'low' }],
  },
  {
    name: 'readOnly role in a closed body',
    doc: {
      paths: {
        '/me': {
          patch: { requestBody: json(closed({ role: { type: 'string', readOnly: true } })), responses: ok() },
        },
      },
    },
    expect: [],
  },
  {
    name: 'an admin-only operation granting scopes: by design, not mass assignment',
    doc: {
      paths: {
        '/admin/keys': {
          post: {
            'x-rampart': { roles: ['admin'] },
            requestBody: json(closed({ name: { type: 'string' }, scopes: { type: 'array' } })),
            responses: ok(),
          },
        },
        '/keys': {
          post: {
            'x-rampart': { roles: ['admin', 'viewer'] },
            requestBody: json(closed({ name: { type: 'string' }, scopes: { type: 'array' } })),
            responses: ok(),
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/keys', severity: 'high', message: /'scopes'/ }],
  },
]);

testRule(sensitiveResponse, [
  {
    name: 'a password hash in a profile: high',
    doc: {
      paths: {
        '/me': {
          get: { responses: ok(closed({ id: { type: 'integer' }, passwordHash: { type: 'string' } })) },
        },
      },
    },
    expect: [{ operation: 'GET /v1/me', severity: 'high', message: /passwordHash/ }],
  },
  {
    name: 'a boolean or a count named after a secret carries none',
    doc: {
      paths: {
        '/me': {
          get: {
            responses: ok(
              closed({
                totp: { type: 'boolean' },
                recoveryCodesLeft: { type: 'integer' },
                otp: { type: 'string' },
              }),
            ),
          },
        },
      },
    },
    expect: [{ operation: 'GET /v1/me', severity: 'high', message: /'otp'/ }],
  },
  {
    name: 'a national id only admins see (x-rampart.visibleTo [admin]): the gateway strips it for the others',
    doc: {
      paths: {
        '/me': {
          get: {
            responses: ok(
              closed({
                id: { type: 'integer' },
                nationalId: { type: 'string', 'x-rampart': { visibleTo: ['admin'] } },
                ssn: { type: 'string', 'x-rampart': { visibleTo: ['admin', 'doctor'] } },
              }),
            ),
          },
        },
      },
    },
    // ssn is visible to doctors too: still flagged; nationalId is not.
    expect: [{ operation: 'GET /v1/me', severity: 'high', message: /^(?!.*nationalId).*ssn/ }],
  },
  {
    name: 'an API token outside sign-in: medium',
    doc: { paths: { '/me': { get: { responses: ok(closed({ apiToken: { type: 'string' } })) } } } },
    expect: [{ operation: 'GET /v1/me', severity: 'medium' }],
  },
  {
    name: 'contact data on a public list: medium',
    doc: {
      paths: {
        '/people': {
          get: {
            security: [],
            responses: ok({ type: 'array', items: closed({ email: { type: 'string' } }) }),
          },
        },
      },
    },
    expect: [{ operation: 'GET /v1/people', severity: 'medium', message: /personal data/ }],
  },
  {
    name: 'the token a sign-in returns, and writeOnly passwords, are fine',
    doc: {
      paths: {
        '/login': {
          post: {
            security: [],
            requestBody: json(closed({ password: { type: 'string', writeOnly: true } })),
            responses: ok(closed({ token: { type: 'string' } })),
          },
        },
        '/me': {
          put: {
            requestBody: json(closed({ password: { type: 'string' } })),
            responses: ok(closed({ password: { type: 'string', writeOnly: true } })),
          },
        },
      },
    },
    expect: [],
  },
]);

testRule(openResponse, [
  {
    name: 'an open success response',
    doc: {
      paths: { '/a': { get: { responses: ok({ type: 'object', properties: { a: { type: 'string' } } }) } } },
    },
    expect: [{ operation: 'GET /v1/a', severity: 'low' }],
  },
  {
    name: 'a closed one',
    doc: { paths: { '/a': { get: { responses: ok(closed({ a: { type: 'string' } })) } } } },
    expect: [],
  },
]);

testRule(unboundedInput, [
  {
    name: 'page size without maximum: medium (one finding, several fields)',
    doc: {
      paths: {
        '/items': {
          get: {
            parameters: [
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1 } },
              { name: 'q', in: 'query', schema: { type: 'string' } },
              { name: 'tag', in: 'query', schema: { type: 'string' } },
            ],
            responses: ok(),
          },
        },
      },
    },
    expect: [
      {
        operation: 'GET /v1/items',
        severity: 'medium',
        message: /page size 'limit' has no maximum; 'q \(query\)', 'tag \(query\)' unbounded/,
      },
    ],
  },
  {
    name: 'unbounded body fields with no body limit: medium; with bodyLimit: low',
    doc: {
      paths: {
        '/notes': { post: { requestBody: json(closed({ text: { type: 'string' } })), responses: ok() } },
        '/memos': {
          post: {
            'x-rampart': { bodyLimit: 65536 },
            requestBody: json(closed({ text: { type: 'string' } })),
            responses: ok(),
          },
        },
      },
    },
    expect: [
      { operation: 'POST /v1/notes', severity: 'medium' },
      { operation: 'POST /v1/memos', severity: 'low' },
    ],
  },
  {
    name: 'bounded by maxLength, enum, anchored pattern, format, maximum, maxItems',
    doc: {
      paths: {
        '/ok': {
          post: {
            parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 } }],
            requestBody: json(
              closed({
                a: { type: 'string', maxLength: 10 },
                b: { type: 'string', enum: ['x'] },
                c: { type: 'string', pattern: '^[a-z]{1,8}$' },
                d: { type: 'string', format: 'uuid' },
                e: { type: 'integer', maximum: 5 },
                f: { type: 'array', maxItems: 3, items: { type: 'string', maxLength: 3 } },
              }),
            ),
            responses: ok(),
          },
        },
      },
    },
    expect: [],
  },
]);

testRule(redosPattern, [
  {
    name: 'a nested quantifier in a body pattern',
    doc: {
      paths: {
        '/register': {
          post: {
            security: [],
            requestBody: json(closed({ email: { type: 'string', pattern: '^([a-z0-9.]+)+@x\\.com$' } })),
            responses: ok(),
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/register', severity: 'medium' }],
  },
  {
    name: 'linear patterns',
    doc: {
      paths: {
        '/register': {
          post: {
            security: [],
            requestBody: json(closed({ email: { type: 'string', pattern: '^[a-z0-9.]+@x\\.com$' } })),
            responses: ok(),
          },
        },
      },
    },
    expect: [],
  },
]);

describe('redosProne', () => {
  it.each([
    ['^(a+)+$', true],
    ['^([a-zA-Z0-9._%+-]+)+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$', true],
    ['(x|y+)*', true],
    ['^(\\d*){2,}$', true],
    ['^[a-z]+( [a-z]+)*$', false],
    ['^[A-Za-z0-9.,:-]+( [A-Za-z0-9.,:-]+)*$', false],
    ['^(ab)+$', false],
    ['^[a-z0-9-]{1,64}\\.txt$', false],
  ])('%s → %s', (p, prone) => expect(redosProne(p)).toBe(prone));
});

testRule(adminWithoutRole, [
  {
    name: 'an admin operation any signed-in user may call',
    doc: { paths: { '/admin/users': { get: { responses: ok() } } } },
    expect: [{ operation: 'GET /v1/admin/users', severity: 'high' }],
  },
  {
    name: 'x-rampart roles or OAuth scopes restrict it',
    doc: {
      components: {
        securitySchemes: {
          oauth: {
            type: 'oauth2',
            flows: { clientCredentials: { tokenUrl: 'https://a.example/t', scopes: { admin: 'x' } } },
          },
        },
      },
      paths: {
        '/admin/users': { get: { 'x-rampart': { roles: ['admin'] }, responses: ok() } },
        '/admin/coupons': { post: { security: [{ oauth: ['admin'] }], responses: ok() } },
      },
    },
    expect: [],
  },
]);

testRule(sensitiveFlowUnlimited, [
  {
    name: 'coupon redemption without limit or 409: medium',
    doc: {
      paths: { '/carts/{cartId}/coupons': { post: { parameters: [idParam('cartId')], responses: ok() } } },
    },
    expect: [{ operation: 'POST /v1/carts/{cartId}/coupons', severity: 'medium' }],
  },
  {
    name: '409 documented: low; rateLimit declared: nothing',
    doc: {
      paths: {
        '/transfers': {
          post: { responses: { '201': { description: 'ok' }, '409': { description: 'duplicate' } } },
        },
        '/payments': {
          post: { 'x-rampart': { rateLimit: { per: 'user', limit: 3, window: 60 } }, responses: ok() },
        },
      },
    },
    expect: [{ operation: 'POST /v1/transfers', severity: 'low' }],
  },
]);

testRule(ssrfInput, [
  {
    name: 'a URL in the body: medium',
    doc: {
      paths: {
        '/webhooks': {
          post: {
            requestBody: json(closed({ target: { type: 'string', format: 'uri', maxLength: 200 } })),
            responses: ok(),
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/webhooks', severity: 'medium' }],
  },
  {
    name: 'x-rampart ssrf covers the field',
    doc: {
      paths: {
        '/avatar': {
          put: {
            'x-rampart': { ssrf: { fields: ['imageUrl'] } },
            requestBody: json(closed({ imageUrl: { type: 'string' } })),
            responses: ok(),
          },
        },
      },
    },
    expect: [],
  },
]);

testRule(httpServer, [
  {
    name: 'a public http server: medium; loopback: info',
    doc: { servers: [{ url: 'http://api.example.com' }, { url: 'http://localhost:8080' }] },
    expect: [{ severity: 'medium' }, { severity: 'info' }],
  },
  {
    name: 'the gateway listening without TLS on all interfaces (rampart.yaml)',
    doc: {},
    gateway: { configFile: 'rampart.yaml', policies: {}, tls: false, listenHost: '0.0.0.0' },
    expect: [{ severity: 'medium', message: /without TLS/ }],
  },
  { name: 'https only', doc: {}, expect: [] },
]);

testRule(verboseErrorSchema, [
  {
    name: 'a 500 with a stack trace',
    doc: {
      paths: {
        '/a': {
          get: {
            responses: {
              ...ok(),
              '500': {
                description: 'x',
                ...json({ type: 'object', properties: { stackTrace: { type: 'string' } } }),
              },
            },
          },
        },
      },
    },
    expect: [{ operation: 'GET /v1/a', severity: 'medium' }],
  },
  {
    name: 'problem details',
    doc: {
      paths: {
        '/a': {
          get: {
            responses: {
              ...ok(),
              '500': {
                description: 'x',
                ...json({
                  type: 'object',
                  properties: { type: { type: 'string' }, detail: { type: 'string' } },
                }),
              },
            },
          },
        },
      },
    },
    expect: [],
  },
]);

testRule(fileParameter, [
  {
    name: 'a file name as any string',
    doc: {
      paths: { '/downloads/{name}': { get: { parameters: [idParam('name', 'string')], responses: ok() } } },
    },
    expect: [{ operation: 'GET /v1/downloads/{name}', severity: 'medium' }],
  },
  {
    name: 'a pattern constrains it',
    doc: {
      paths: {
        '/downloads/{name}': {
          get: {
            parameters: [
              { ...idParam('name', 'string'), schema: { type: 'string', pattern: '^[a-z]+\\.pdf$' } },
            ],
            responses: ok(),
          },
        },
      },
    },
    expect: [],
  },
]);

testRule(missingErrorResponses, [
  {
    name: 'secured, role-restricted, rate-limited, none of it documented',
    doc: {
      paths: {
        '/a': {
          get: {
            'x-rampart': { roles: ['x'], rateLimit: { per: 'user', limit: 1, window: 1 } },
            responses: ok(),
          },
        },
      },
    },
    expect: [{ operation: 'GET /v1/a', severity: 'info', message: /401, 403, 429/ }],
  },
  {
    name: 'a default response covers it',
    doc: { paths: { '/a': { get: { responses: { ...ok(), default: { description: 'error' } } } } } },
    expect: [],
  },
]);

testRule(xRampartInvalid, [
  {
    name: 'a misspelt key, an owner lookup that does not exist, ssrf on a missing field, roles on a public operation',
    doc: {
      paths: {
        '/orders/{orderId}': {
          get: {
            security: [],
            'x-rampart': {
              rolse: ['admin'],
              roles: ['admin'],
              owner: { lookup: 'GET /order/{orderId}', field: 'ownerId' },
              ssrf: { fields: ['url'] },
            },
            parameters: [idParam('orderId')],
            responses: ok(),
          },
        },
      },
    },
    expect: [
      {
        operation: 'GET /v1/orders/{orderId}',
        severity: 'medium',
        message:
          /\/x-rampart\/rolse: unknown key 'rolse' — did you mean 'roles'\?; roles are required but .*owner.lookup names GET \/order\/\{orderId\}, which is not in this document.*ssrf.fields 'url' is not an input/,
      },
    ],
  },
  {
    name: 'document-level lifecycle keys the gateway does not read (it reads rampart.yaml and x-rampart.deprecation)',
    doc: { 'x-rampart': { deprecated: '2027-01-01', sunset: '2026-01-01' } },
    expect: [
      {
        severity: 'medium',
        message:
          /^Document-level x-rampart: \/x-rampart\/deprecated: unknown key 'deprecated' — did you mean 'deprecation'\?; \/x-rampart\/sunset: unknown key 'sunset'/,
      },
    ],
  },
  {
    name: 'invalid values of known keys, as the policies’ schemas define them',
    doc: {
      paths: {
        '/a': {
          post: {
            'x-rampart': { rateLimit: { per: 'user', limit: 0, window: 60 }, auth: 'sometimes' },
            responses: ok(),
          },
        },
      },
    },
    expect: [
      {
        operation: 'POST /v1/a',
        severity: 'medium',
        message:
          /\/paths\/~1a\/post\/x-rampart\/auth: expected "required" or "optional" or "public", got "sometimes"; \/paths\/~1a\/post\/x-rampart\/rateLimit\/limit: expected integer at least 1, got 0/,
      },
    ],
  },
  {
    name: 'a role list that is a string, a sunset before its deprecation date',
    doc: {
      paths: {
        '/a': {
          get: {
            'x-rampart': { roles: 'admin', deprecation: { date: '2027-01-01', sunset: '2026-06-01' } },
            responses: ok(),
          },
        },
      },
    },
    expect: [
      {
        operation: 'GET /v1/a',
        severity: 'medium',
        message:
          /x-rampart\/roles: .*array.*deprecation.sunset 2026-06-01 is before deprecation.date 2027-01-01/,
      },
    ],
  },
  {
    name: 'an invalid value on a path item (it applies to every operation below)',
    doc: { paths: { '/a': { 'x-rampart': { bodyLimit: -1 }, get: { responses: ok() } } } },
    expect: [{ severity: 'medium', message: /^Path \/a x-rampart: \/paths\/~1a\/x-rampart\/bodyLimit: / }],
  },
  {
    name: 'valid extensions',
    doc: {
      'x-rampart': { rateLimit: { per: 'user', limit: 10, window: 60 } },
      paths: {
        '/orders/{orderId}': {
          get: { 'x-rampart': owner, parameters: [idParam('orderId')], responses: ok() },
        },
      },
    },
    expect: [],
  },
]);

it('audit/x-rampart-invalid points at the invalid value itself (pointer and line), not only the operation', () => {
  const r = auditObject(xRampartInvalid, {
    doc: {
      paths: {
        '/a': { get: { 'x-rampart': { rateLimit: { per: 'user', limit: 0, window: 60 } }, responses: ok() } },
      },
    },
  });
  expect(r.findings).toHaveLength(1);
  const loc = r.findings[0]!.evidence.location!;
  expect(loc.pointer).toBe('/paths/~1a/get/x-rampart/rateLimit/limit');
  expect(loc.line).toBeGreaterThan(1);
  // The same document without the gateway's schemas: no schema judgement at all (the CLI always passes them).
  const text = JSON.stringify(
    docOf({ paths: { '/a': { get: { 'x-rampart': { rateLimit: { limit: 0 } }, responses: ok() } } } }),
  );
  const doc = parseOpenApi(text, 'case.json');
  expect(audit([{ doc, file: 'case.json', base: '/v1' }], { rules: [xRampartInvalid] }).findings).toEqual([]);
});

testRule(internalOperation, [
  {
    name: 'a public debug endpoint: high',
    doc: { paths: { '/debug/vars': { get: { security: [], responses: ok() } } } },
    expect: [{ operation: 'GET /v1/debug/vars', severity: 'high' }],
  },
  {
    name: 'an authenticated internal endpoint: low',
    doc: { paths: { '/internal/jobs': { post: { responses: ok() } } } },
    expect: [{ operation: 'POST /v1/internal/jobs', severity: 'low' }],
  },
  { name: 'ordinary paths', doc: { paths: { '/orders': { get: { responses: ok() } } } }, expect: [] },
]);

testRule(deprecatedWithoutSunset, [
  {
    name: 'every operation deprecated, no sunset, no successor: medium',
    doc: { paths: { '/a': { get: { deprecated: true, responses: ok() } } } },
    expect: [{ severity: 'medium', message: /no sunset date and no successor/ }],
  },
  {
    name: 'one deprecated operation without sunset: low',
    doc: {
      paths: { '/a': { get: { deprecated: true, responses: ok() } }, '/b': { get: { responses: ok() } } },
    },
    expect: [{ operation: 'GET /v1/a', severity: 'low' }],
  },
  {
    name: 'the version lifecycle from rampart.yaml closes it',
    doc: { paths: { '/a': { get: { deprecated: true, responses: ok() } } } },
    lifecycle: { deprecated: '2026-01-01', sunset: '2027-01-01', successor: '/v2' },
    expect: [],
  },
]);

testRule(thirdPartyUnvalidated, [
  {
    name: 'relays an upstream answer through an open, unbounded response: medium',
    doc: {
      paths: {
        '/quotes': {
          post: {
            description: 'Calls the partner pricing API.',
            responses: {
              ...ok({ type: 'object', properties: { price: { type: 'number' } } }),
              '502': { description: 'upstream' },
            },
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/quotes', severity: 'medium' }],
  },
  {
    name: 'a callback without a payload schema: medium',
    doc: {
      paths: {
        '/subscriptions': {
          post: {
            callbacks: {
              onEvent: {
                '{$request.body#/url}': {
                  post: { requestBody: { content: { 'application/json': {} } }, responses: ok() },
                },
              },
            },
            responses: ok(closed({})),
          },
        },
      },
    },
    expect: [{ operation: 'POST /v1/subscriptions', severity: 'medium' }],
  },
  {
    name: 'closed and bounded answers, or no third party',
    doc: {
      paths: {
        '/quotes': {
          post: {
            description: 'Calls the partner pricing API.',
            responses: ok(closed({ price: { type: 'integer', maximum: 100000 } })),
          },
        },
        '/local': { get: { responses: ok({ type: 'object', properties: { a: { type: 'string' } } }) } },
      },
    },
    expect: [],
  },
]);

it('every rule in RULES has a table here', () => {
  const tested = [
    objectIdWithoutOwner,
    noSecurity,
    insecureScheme,
    credentialsInUrl,
    authFlowUnthrottled,
    authEnumeration,
    massAssignment,
    sensitiveResponse,
    openResponse,
    unboundedInput,
    redosPattern,
    adminWithoutRole,
    sensitiveFlowUnlimited,
    ssrfInput,
    httpServer,
    verboseErrorSchema,
    fileParameter,
    missingErrorResponses,
    xRampartInvalid,
    internalOperation,
    deprecatedWithoutSunset,
    thirdPartyUnvalidated,
  ].map((r) => r.id);
  expect(RULES.map((r) => r.id).sort()).toEqual([...tested].sort());
  expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
});

it('docs/audit.md documents every rule', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/audit.md', import.meta.url)), 'utf8');
  for (const r of RULES) expect(doc, r.id).toContain(`| \`${r.id}\` | ${r.owasp} |`);
});
