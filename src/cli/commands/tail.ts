import { Client } from 'undici';
import { parseOptions, UsageError, type Command } from '../command.ts';

const usage = `Usage: rampart tail [--admin URL] [--admin-token T] [--type T,T…] [--route R] [--principal P] [--ip A] [--json]

Prints the live feed of the admin listener (server-sent events: security events and
alert state changes) as they happen, one line each. Ctrl-C stops.

Options:
  --admin URL         admin listener (default http://127.0.0.1:9901)
  --admin-token T     admin credential (default: $RAMPART_ADMIN_TOKEN); an API key with role:admin
  --type LIST         only these event types, comma-separated (auth,denied,alert,…)
  --route ROUTE       only events of this route (with its version base)
  --principal ID      only events of this principal
  --ip ADDR           only events from this address
  --json              print the raw JSON of each event`;

interface FeedEvent {
  type?: string;
  at?: number;
  changedAt?: number;
  [k: string]: unknown;
}

/** One terminal line per feed message. */
export function formatFeedLine(kind: string, e: FeedEvent): string {
  const t = new Date(e.at ?? e.changedAt ?? Date.now()).toISOString().slice(11, 23);
  const pick = (...keys: string[]) =>
    keys
      .filter((k) => e[k] !== undefined && e[k] !== null)
      .map((k) => `${k}=${typeof e[k] === 'object' ? JSON.stringify(e[k]) : String(e[k])}`)
      .join(' ');
  if (kind === 'alert')
    return `${t}  ALERT ${String(e.state).toUpperCase()} ${e.rule} (${e.severity}) ${e.summary}`;
  if (kind === 'request')
    return `${t}  ${e.status} ${e.method} ${e.route} ${e.durationMs}ms ${pick('ip', 'principal')}`;
  return `${t}  ${kind} ${pick('method', 'path', 'route', 'policy', 'problem', 'category', 'action', 'outcome', 'reason', 'ip', 'principal', 'user')}`;
}

const command: Command = {
  name: 'tail',
  summary: 'Print the live feed of security events and alerts',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      admin: { type: 'string' },
      'admin-token': { type: 'string' },
      type: { type: 'string' },
      route: { type: 'string' },
      principal: { type: 'string' },
      ip: { type: 'string' },
      json: { type: 'boolean' },
    });
    const admin = (values.admin ?? 'http://127.0.0.1:9901').replace(/\/+$/, '');
    if (!/^https?:\/\//.test(admin)) throw new UsageError('--admin expects the admin listener URL');
    const token = values['admin-token'] ?? process.env.RAMPART_ADMIN_TOKEN;
    const q = new URLSearchParams();
    for (const k of ['type', 'route', 'principal', 'ip'] as const) if (values[k]) q.set(k, values[k]);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // The stream has a connection of its own, never one of undici's shared keep-alive pool:
    // an endless response must not hold a pooled socket, and a pooled socket idle since an
    // earlier request can be one the server is closing (in-process callers — tests, embedders —
    // share that pool). Closed when the stream ends.
    let origin: URL;
    try {
      origin = new URL(admin);
    } catch {
      throw new UsageError(`--admin expects the admin listener URL, got '${admin.slice(0, 100)}'`);
    }
    const client = new Client(origin.origin, { bodyTimeout: 0, pipelining: 0 });
    try {
      const r = await client.request({
        method: 'GET',
        path: `${origin.pathname.replace(/\/$/, '')}/admin/feed?${q}`,
        headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal: controller.signal,
      });
      if (r.statusCode !== 200) {
        const body = await r.body.text();
        io.err(`rampart tail: the admin listener answered ${r.statusCode}: ${body.slice(0, 300)}`);
        return 1;
      }
      io.err(`rampart tail: following ${origin.origin}/admin/feed (Ctrl-C stops)`);
      let buf = '';
      for await (const chunk of r.body) {
        buf += (chunk as Buffer).toString('utf8');
        let end: number;
        while ((end = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const kind = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (!kind || !data) continue;
          io.out(values.json ? data : formatFeedLine(kind, JSON.parse(data) as FeedEvent));
        }
      }
      return 0;
    } catch (err) {
      if (controller.signal.aborted) return 0;
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await client.destroy().catch(() => undefined);
    }
  },
};

export default command;
