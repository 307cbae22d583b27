import type { IncomingMessage, ServerResponse } from 'node:http';
import { problem, PROBLEM_CONTENT_TYPE, type ProblemCode } from '../core/errors.ts';
import type { Db } from '../store/index.ts';
import { BadCursor, queryAuditLog, type AuditQuery } from './audit-log.ts';
import { LiveFeed } from './feed.ts';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.ts';
import type { Monitor } from './index.ts';

/** Who may call an endpoint: `metrics` (loopback, token or allow-list) or `admin` (admin credential). */
export type MonitorAccess = 'metrics' | 'read' | 'admin';

export interface MonitorRoute {
  method: 'GET';
  path: string;
  access: MonitorAccess;
  handle(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void | Promise<void>;
}

const HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

export function sendProblem(
  res: ServerResponse,
  code: ProblemCode,
  detail: string,
  headers: Record<string, string> = {},
): void {
  const p = problem(code, { detail });
  const body = JSON.stringify(p);
  res.writeHead(p.status, {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    ...HEADERS,
    ...headers,
  });
  res.end(body);
}

function sendJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...HEADERS,
  });
  res.end(text);
}

class BadParam extends Error {}

function time(v: string | null, name: string): number | undefined {
  if (v === null || v === '') return undefined;
  if (/^\d{1,16}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new BadParam(`${name} must be epoch milliseconds or an RFC 3339 time, got '${v.slice(0, 40)}'`);
  return t;
}

/** Audit-log filters from query parameters (shared with `rampart audit-log`'s flags). */
export function auditQueryFrom(p: URLSearchParams): AuditQuery {
  const known = new Set([
    'from',
    'to',
    'principal',
    'ip',
    'route',
    'decision',
    'category',
    'type',
    'limit',
    'cursor',
    'format',
  ]);
  for (const k of p.keys())
    if (!known.has(k)) throw new BadParam(`unknown parameter '${k}'; use ${[...known].join(', ')}`);
  const q: AuditQuery = {};
  const from = time(p.get('from'), 'from');
  const to = time(p.get('to'), 'to');
  if (from !== undefined) q.from = from;
  if (to !== undefined) q.to = to;
  for (const k of ['principal', 'ip', 'route', 'decision', 'category', 'type', 'cursor'] as const) {
    const v = p.get(k);
    if (v) q[k] = v.slice(0, 512);
  }
  const limit = p.get('limit');
  if (limit !== null) {
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000)
      throw new BadParam(`limit must be 1..1000, got '${limit.slice(0, 20)}'`);
    q.limit = Number(limit);
  }
  if (q.decision && !['allow', 'deny', 'error', 'alert', 'info'].includes(q.decision))
    throw new BadParam(`decision must be allow, deny, error, alert or info, got '${q.decision}'`);
  return q;
}

function guarded(res: ServerResponse, fn: () => void | Promise<void>): void | Promise<void> {
  const fail = (err: unknown) => {
    if (err instanceof BadParam || err instanceof BadCursor)
      return sendProblem(res, 'bad-request', err.message);
    throw err;
  };
  try {
    const r = fn();
    if (r instanceof Promise) return r.catch(fail);
  } catch (err) {
    fail(err);
  }
}

/** The monitor's endpoints on the admin listener. */
export function monitorRoutes(monitor: Monitor, db: Db, metricsEnabled: boolean): MonitorRoute[] {
  const routes: MonitorRoute[] = [
    {
      method: 'GET',
      path: '/admin/audit-log',
      access: 'read',
      handle: (req, res, params) =>
        guarded(res, async () => {
          const q = auditQueryFrom(params);
          const ndjson =
            params.get('format') === 'ndjson' || (req.headers.accept ?? '').includes('application/x-ndjson');
          if (!ndjson) return sendJson(res, await queryAuditLog(db, q));
          // Export: every matching record, page by page, one JSON object per line.
          let page = await queryAuditLog(db, { ...q, limit: 1000 });
          res.writeHead(200, { 'content-type': 'application/x-ndjson', ...HEADERS });
          for (;;) {
            for (const item of page.items) res.write(JSON.stringify(item) + '\n');
            if (!page.next || res.destroyed) break;
            page = await queryAuditLog(db, { ...q, limit: 1000, cursor: page.next });
          }
          res.end();
        }),
    },
    {
      method: 'GET',
      path: '/admin/alerts',
      access: 'read',
      handle: (_req, res, params) =>
        guarded(res, () =>
          sendJson(res, {
            ...monitor.alerts(time(params.get('since'), 'since') ?? 0),
            rules: monitor.engine.ruleIds,
          }),
        ),
    },
    {
      method: 'GET',
      path: '/admin/feed',
      access: 'read',
      handle: (req, res, params) => {
        if (!monitor.feed.attach(req, res, LiveFeed.filterFrom(params)))
          sendProblem(res, 'too-many-requests', 'Too many live-feed clients', { 'retry-after': '10' });
      },
    },
    {
      method: 'GET',
      path: '/admin/monitor',
      access: 'read',
      handle: async (_req, res) =>
        sendJson(res, {
          // In a --workers cluster: which worker answered, and the primary's view of all of them.
          cluster: (await monitor.clusterStatus()) ?? null,
          queue: {
            capacity: monitor.queue.capacity,
            pending: monitor.queue.pending,
            accepted: monitor.queue.accepted,
            dropped: monitor.queue.dropped,
          },
          auditLog: monitor.audit
            ? {
                boot: monitor.audit.boot,
                acknowledgedSeq: monitor.audit.acknowledgedSeq,
                acknowledgedAt: monitor.audit.acknowledgedAt,
                pending: monitor.audit.pendingCount,
                written: monitor.audit.written,
                dropped: monitor.audit.dropped,
              }
            : null,
          feedClients: monitor.feed.size,
          rules: monitor.engine.ruleIds,
        }),
    },
  ];
  if (metricsEnabled)
    routes.push({
      method: 'GET',
      path: '/metrics',
      access: 'metrics',
      handle: async (_req, res) => {
        const text = await monitor.exposition();
        res.writeHead(200, {
          'content-type': PROMETHEUS_CONTENT_TYPE,
          'content-length': Buffer.byteLength(text),
          ...HEADERS,
        });
        res.end(text);
      },
    });
  return routes;
}
