import { Type, type Static } from '@sinclair/typebox';
import { ruleSchema } from './rules/schema.ts';

// Optional without a schema default: defaults inside a union's members are not applied
// by the validator, so buildNotifier() applies them (warning, 5000 ms).
const Severity = Type.Optional(
  Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')], {
    description: 'Lowest severity this notifier receives. Default warning.',
  }),
);
const Timeout = Type.Optional(
  Type.Integer({
    minimum: 100,
    maximum: 60_000,
    description: 'Deadline of one delivery attempt, in ms. Default 5000.',
  }),
);
const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'Notifier name (unique).' });
const Url = Type.String({ pattern: '^https?://', description: 'Receiver URL (http or https).' });
const AllowPrivate = Type.Optional(
  Type.Boolean({
    description:
      'Let the receiver resolve to a private, loopback or link-local address (an Alertmanager inside the cluster, a local test receiver). Default false: public addresses only (SSRF guard, checked again at connect time).',
  }),
);

export const notifierSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('webhook'),
      name: Name,
      url: Url,
      secret: Type.String({
        minLength: 16,
        description:
          'HMAC-SHA256 key the x-rampart-signature header is made with (use ${ENV} interpolation).',
      }),
      minSeverity: Severity,
      timeoutMs: Timeout,
      allowPrivate: AllowPrivate,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('slack'),
      name: Name,
      url: Url,
      minSeverity: Severity,
      timeoutMs: Timeout,
      allowPrivate: AllowPrivate,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('alertmanager'),
      name: Name,
      url: Url,
      minSeverity: Severity,
      timeoutMs: Timeout,
      allowPrivate: AllowPrivate,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('email'),
      name: Name,
      host: Type.String({ minLength: 1, description: 'SMTP relay host.' }),
      port: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 65535, description: 'SMTP port. Default 587.' }),
      ),
      security: Type.Optional(
        Type.Union([Type.Literal('starttls'), Type.Literal('tls'), Type.Literal('none')], {
          description: 'starttls (587, the default), tls (465) or none (a loopback relay only).',
        }),
      ),
      username: Type.Optional(Type.String({ description: 'AUTH PLAIN user (only sent over TLS).' })),
      password: Type.Optional(
        Type.String({ description: 'AUTH PLAIN password (use ${ENV} interpolation).' }),
      ),
      from: Type.String({ minLength: 3, description: 'Envelope and header sender.' }),
      to: Type.Array(Type.String({ minLength: 3 }), { minItems: 1, description: 'Recipients.' }),
      ca: Type.Optional(
        Type.String({
          description:
            "PEM file of a private CA the relay's certificate is verified against (STARTTLS and implicit TLS), instead of the system roots. Checked by rampart check.",
          'x-rampart-path': true,
        }),
      ),
      minSeverity: Severity,
      timeoutMs: Timeout,
      allowPrivate: Type.Optional(
        Type.Boolean({
          description:
            'Let the relay resolve to a private, loopback or link-local address (a relay inside the network). Default false: public addresses only (SSRF guard, checked again at connect time).',
        }),
      ),
    },
    { additionalProperties: false },
  ),
]);

export const monitorConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({
      description: 'Run the monitor (events, metrics, audit log, alerts).',
      default: true,
    }),
    queueSize: Type.Integer({
      minimum: 1024,
      maximum: 1_048_576,
      description: 'Events waiting for the monitor at most; beyond, events are dropped and counted.',
      default: 65536,
    }),
    auditLog: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Persist security decisions to the store.', default: true }),
        batchSize: Type.Integer({
          minimum: 1,
          maximum: 10000,
          description: 'Rows per write transaction at most.',
          default: 500,
        }),
        flushIntervalMs: Type.Integer({
          minimum: 10,
          maximum: 10000,
          description: 'How often pending records are written (bounds what a crash can lose).',
          default: 200,
        }),
        maxPending: Type.Integer({
          minimum: 100,
          description:
            'Records waiting for an unavailable store at most; beyond, they are dropped and counted.',
          default: 100000,
        }),
        retentionDays: Type.Number({
          minimum: 0,
          description: 'Delete records older than this (0: keep).',
          default: 90,
        }),
        maxRows: Type.Integer({
          minimum: 0,
          description: 'Keep at most this many records, oldest deleted first (0: no bound).',
          default: 5_000_000,
        }),
        requests: Type.Union([Type.Literal('none'), Type.Literal('errors'), Type.Literal('all')], {
          description:
            'Which completed requests to record besides the security events: none, errors (status ≥ 400) or all.',
          default: 'errors',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    metrics: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Serve /metrics on the admin listener.', default: true }),
        bearerToken: Type.Optional(
          Type.String({
            minLength: 16,
            description: 'Token non-loopback scrapers send (Authorization: Bearer).',
          }),
        ),
        allow: Type.Array(Type.String(), {
          description:
            'Addresses or CIDRs that may scrape without a token (loopback too, unless loopback: false).',
          default: [],
        }),
        loopback: Type.Boolean({
          description:
            'Loopback peers may scrape without a token (a scraper on the same host). Turn it off when a reverse proxy on the same host forwards to the admin listener: every proxied request would come from loopback.',
          default: true,
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    defaultRules: Type.Boolean({
      description: 'Run the shipped alert rules (docs/monitoring.md).',
      default: true,
    }),
    rules: Type.Array(ruleSchema, {
      description:
        'Alert rules: custom ones, and overrides of shipped ones by id (enabled: false turns one off).',
      default: [],
    }),
    anomaly: Type.Object(
      {
        enabled: Type.Boolean({
          description: 'Learn per-route and per-consumer baselines and alert on outliers.',
          default: true,
        }),
        warmupHours: Type.Number({
          minimum: 0,
          description: 'Hours of traffic a baseline needs before it may alert.',
          default: 24,
        }),
        score: Type.Number({
          minimum: 2,
          description: 'Robust z-score that counts as anomalous.',
          default: 6,
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    notifiers: Type.Array(notifierSchema, { description: 'Where alerts are delivered.', default: [] }),
    otlp: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({
            pattern: '^https?://',
            description:
              'OTLP/HTTP receiver (a collector), e.g. http://127.0.0.1:4318; /v1/metrics and /v1/logs are appended.',
          }),
          intervalMs: Type.Integer({ minimum: 1000, description: 'Export interval.', default: 10000 }),
          timeoutMs: Type.Integer({
            minimum: 100,
            description: 'Deadline of one export request.',
            default: 5000,
          }),
          headers: Type.Record(Type.String(), Type.String(), {
            description: 'Extra request headers (an authorization header: use ${ENV} interpolation).',
            default: {},
          }),
          events: Type.Boolean({ description: 'Export security events as OTLP log records.', default: true }),
          maxBuffered: Type.Integer({
            minimum: 100,
            description: 'Events kept between exports (more are counted as dropped).',
            default: 10000,
          }),
          serviceName: Type.String({
            minLength: 1,
            description: 'The resource service.name.',
            default: 'rampart',
          }),
        },
        {
          additionalProperties: false,
          description: 'Export metrics and events over OTLP/HTTP (JSON encoding). Off unless set.',
        },
      ),
    ),
    externalUrl: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description: 'Base URL of the admin listener as receivers should link it.',
      }),
    ),
    delivery: Type.Object(
      {
        maxAttempts: Type.Integer({
          minimum: 1,
          maximum: 100,
          description: 'Attempts per notification.',
          default: 12,
        }),
        baseDelayMs: Type.Integer({
          minimum: 10,
          description: 'First retry delay (doubles per attempt).',
          default: 1000,
        }),
        maxDelayMs: Type.Integer({ minimum: 100, description: 'Longest retry delay.', default: 600000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Monitoring: metrics, audit log, alert rules, anomalies, notifiers. See docs/monitoring.md.',
  },
);

export type MonitorConfig = Static<typeof monitorConfigSchema>;
export type NotifierConfig = Static<typeof notifierSchema>;
