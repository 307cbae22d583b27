import { Type, type Static } from '@sinclair/typebox';
import { egressSchema } from './egress/index.ts';
import { policiesSchema } from './policies/index.ts';
import { SPOOFABLE_REQUEST_HEADERS } from './upstream.ts';

/**
 * The schema of rampart.yaml. TypeBox schemas are JSON Schema: the same object
 * validates the file at load (ajv, defaults applied) and is published as
 * rampart.schema.json for editors (`rampart schema`).
 */
const Cidr = Type.String({
  description: 'An IPv4/IPv6 address or CIDR block, e.g. 10.0.0.0/8 or ::1/128',
  minLength: 2,
});
const Duration = (description: string, def: number) =>
  Type.Integer({ minimum: 1, description, default: def });

/**
 * The embedded default store. Its folder (`data/` beside the config) is Rampart's own and is
 * created on start; any other SQLite path's directory must already exist.
 */
export const DEFAULT_STORE = 'sqlite://./data/rampart.db';

export const tlsSchema = Type.Object(
  {
    enabled: Type.Boolean({
      description: 'TLS on the public listener. Turn off only behind a TLS-terminating trusted proxy.',
      default: true,
    }),
    cert: Type.Optional(
      Type.String({
        description: 'PEM certificate chain file (relative to this file).',
        'x-rampart-path': true,
      }),
    ),
    key: Type.Optional(
      Type.String({ description: 'PEM private key file (relative to this file).', 'x-rampart-path': true }),
    ),
    devCertDir: Type.String({
      description:
        'Where a self-signed development certificate is generated and kept when cert/key are not set.',
      default: './data/tls',
      'x-rampart-path': true,
    }),
    expiryWarningDays: Type.Array(Type.Integer({ minimum: 1 }), {
      description: 'Warn (log + cert-expiry event) when the certificate expires within these many days.',
      default: [30, 7],
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'TLS 1.3 only: TLS 1.2 and older handshakes fail.',
  },
);

export const listenSchema = Type.Object(
  {
    host: Type.String({ description: 'Public listener address.', default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'Public HTTPS port.', default: 8443 }),
    tls: tlsSchema,
    http: Type.Object(
      {
        port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Plain HTTP port.' })),
        mode: Type.Union([Type.Literal('redirect'), Type.Literal('off')], {
          description: 'redirect: answer 308 to the HTTPS URL; off: no plain listener.',
          default: 'off',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    acceptedHosts: Type.Array(
      Type.String({
        minLength: 1,
        pattern:
          '^(?:[A-Za-z0-9_-]{1,63}(?:\\.[A-Za-z0-9_-]{1,63})*\\.?|\\[[0-9A-Fa-f:.]+\\])(?::\\d{1,5})?$',
      }),
      {
        description:
          'Hosts this listener serves (Host header, or the authority of an absolute-form target): `api.example.com` on any port, `api.example.com:8443` on that port only. Others are answered 421 Misdirected Request. Empty: any valid host.',
        default: [],
      },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const limitsSchema = Type.Object(
  {
    maxHeaderBytes: Type.Integer({
      minimum: 1024,
      description: 'Total request header size (431 beyond).',
      default: 16384,
    }),
    maxHeaderCount: Type.Integer({
      minimum: 8,
      maximum: 1000,
      description:
        'Request header fields (lines) at most; one more is answered 431 instead of being silently truncated (Apache LimitRequestFields: 100).',
      default: 100,
    }),
    maxBodyBytes: Type.Integer({
      minimum: 0,
      description: 'Request body size (413 beyond).',
      default: 1048576,
    }),
    maxJsonDepth: Type.Integer({ minimum: 1, description: 'JSON nesting depth (400 beyond).', default: 32 }),
    maxJsonElements: Type.Integer({
      minimum: 1,
      description: 'Total JSON values (object members + array items) in one body (400 beyond).',
      default: 10000,
    }),
    headersTimeoutMs: Duration(
      'Time to receive the complete request headers (408 / close: slowloris).',
      10000,
    ),
    requestTimeoutMs: Duration('Time to receive the whole request including body (408).', 30000),
    keepAliveTimeoutMs: Duration('Idle keep-alive timeout for client connections.', 5000),
    maxConnections: Type.Integer({
      minimum: 0,
      description:
        'Client connections open at once per process (per worker with --workers); further ones are closed on accept. 0 = no cap.',
      default: 0,
    }),
    upstreamConnectTimeoutMs: Duration('Upstream connect timeout (504).', 5000),
    upstreamResponseTimeoutMs: Duration('Time to the upstream response headers (504).', 30000),
  },
  { additionalProperties: false, default: {} },
);

/** A lifecycle date: YYYY-MM-DD or an RFC 3339 date-time (validity checked by config-rules). */
const LIFECYCLE_DATE = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2}))?$';

export const versionSchema = Type.Object(
  {
    base: Type.String({
      pattern: '^/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?$',
      description:
        'Base path, e.g. /v2; / for an API whose document has no version prefix (paths like /orders). Longer bases win.',
    }),
    spec: Type.Optional(
      Type.String({
        description:
          'OpenAPI 3.0/3.1 document of this version (relative to this file). Required, except in an API with mode: learn (no document yet).',
        'x-rampart-path': true,
      }),
    ),
    upstream: Type.Optional(
      Type.String({ format: 'uri', description: 'Overrides the API upstream for this version.' }),
    ),
    stripBase: Type.Boolean({
      description: 'Remove the base path before forwarding (the upstream serves /orders, not /v2/orders).',
      default: false,
    }),
    deprecated: Type.Optional(
      Type.String({
        pattern: LIFECYCLE_DATE,
        description:
          'Deprecation instant: YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time. Announced with the RFC 9745 Deprecation header.',
      }),
    ),
    sunset: Type.Optional(
      Type.String({
        pattern: LIFECYCLE_DATE,
        description:
          'Sunset instant: YYYY-MM-DD (00:00 UTC) or an RFC 3339 date-time. Announced with the RFC 8594 Sunset header; 410 Gone from then on.',
      }),
    ),
    successor: Type.Optional(Type.String({ description: 'Base path of the successor version.' })),
    deprecationLink: Type.Optional(
      Type.String({
        format: 'uri',
        description: 'URL of the deprecation policy or changelog, sent as Link rel="deprecation".',
      }),
    ),
    sunsetLink: Type.Optional(
      Type.String({ format: 'uri', description: 'URL describing the sunset, sent as Link rel="sunset".' }),
    ),
  },
  { additionalProperties: false },
);

export const apiSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'Short name, used in metrics and events.',
    }),
    upstream: Type.String({ format: 'uri', description: 'Upstream base URL, e.g. http://127.0.0.1:9000.' }),
    connections: Type.Integer({ minimum: 1, description: 'Upstream keep-alive pool size.', default: 64 }),
    dropRequestHeaders: Type.Array(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), {
      description:
        'More request header names never forwarded to this API (besides hop-by-hop, gateway-owned and the spoofable list).',
      default: [],
    }),
    trustedRequestHeaders: Type.Array(Type.Union(SPOOFABLE_REQUEST_HEADERS.map((n) => Type.Literal(n))), {
      description:
        'Headers of the spoofable list (True-Client-IP, CF-Connecting-IP, X-Original-URL, X-HTTP-Method-Override, …; docs/architecture.md) this API receives when the peer is a trusted proxy. Never from other peers. Default: none.',
      default: [],
    }),
    mode: Type.Union([Type.Literal('enforce'), Type.Literal('learn')], {
      description:
        'enforce: the documents are the contract. learn: no document yet; every request under the bases is forwarded after the pre-routing policies only (headers, request id, CORS, transport, limits) and the contract is learned into the store (docs/learn.md).',
      default: 'enforce',
    }),
    learn: Type.Boolean({
      description:
        "Also learn from this API's traffic beside its documents (the enforcing chain unchanged; learning only observes what reaches the upstream). Implied by mode: learn.",
      default: false,
    }),
    learnSample: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          'Share of learned exchanges whose bodies are sampled for schema inference, 0-1 (default 1); paths, statuses and headers are learned from every exchange.',
      }),
    ),
    versions: Type.Array(versionSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const configSchema = Type.Object(
  {
    listen: listenSchema,
    admin: Type.Object(
      {
        host: Type.String({
          description: 'Admin listener (health, metrics, admin API). Keep on loopback.',
          default: '127.0.0.1',
        }),
        port: Type.Integer({ minimum: 0, maximum: 65535, description: 'Admin port.', default: 9901 }),
        tls: Type.Object(
          {
            cert: Type.Optional(
              Type.String({ minLength: 1, description: 'PEM certificate (chain) of the admin listener.' }),
            ),
            key: Type.Optional(
              Type.String({ minLength: 1, description: 'PEM private key of the admin listener.' }),
            ),
          },
          {
            additionalProperties: false,
            default: {},
            description:
              'TLS 1.3 for the admin listener: required when admin.host is not a loopback address (start refuses otherwise).',
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.String({
      description: 'sqlite://./path.db (embedded default), sqlite::memory:, or postgres://…',
      default: DEFAULT_STORE,
    }),
    trustedProxies: Type.Array(Cidr, {
      description: 'Peers whose Forwarded/X-Forwarded-* and X-Request-Id headers are trusted.',
      default: [],
    }),
    forwardedHeader: Type.Boolean({
      description:
        'Also send the RFC 7239 Forwarded header upstream (X-Forwarded-For, -Proto and -Host always are).',
      default: false,
    }),
    limits: limitsSchema,
    policies: policiesSchema(),
    apis: Type.Array(apiSchema, {
      description: 'Protected APIs, one entry per API with its versions.',
      default: [],
    }),
    egress: Type.Optional(egressSchema),
    log: Type.Object(
      {
        level: Type.String({
          enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
          default: 'info',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, $id: 'https://rampart.dev/schemas/rampart.json', title: 'rampart.yaml' },
);

export type RampartConfig = Static<typeof configSchema>;
export type ApiConfig = Static<typeof apiSchema>;
export type VersionConfig = Static<typeof versionSchema>;
export type LimitsConfig = Static<typeof limitsSchema>;
export type TlsConfig = Static<typeof tlsSchema>;
