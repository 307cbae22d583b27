import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { PROBLEM_BASE } from '../../src/core/errors.ts';
import type { ApiKeys } from '../../src/identity/api-keys.ts';
import { call } from '../helpers/gateway.ts';
import { until } from '../helpers/until.ts';
import { startMonitorStack, type MonitorStack } from '../helpers/monitor.ts';

let s: MonitorStack;

beforeAll(async () => {
  s = await startMonitorStack({
    monitor: {
      rules: [
        {
          id: 'profile-read',
          kind: 'threshold',
          match: { type: 'request', route: '/v2/users/me' },
          window: '1m',
          threshold: 1,
          severity: 'info',
        },
      ],
    },
  });
  for (let i = 0; i < 5; i++) await call(`${s.gatewayUrl}/v2/health`);
  await call(`${s.gatewayUrl}/v2/doctors`);
  await call(`${s.gatewayUrl}/debug/vars`);
  await call(`${s.gatewayUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ops-admin', password: 'not the password at all' }),
  });
});
afterAll(() => s?.close());

describe('/metrics', () => {
  it('answers loopback scrapers without credentials, in an exposition format promtool accepts', async () => {
    const r = await request(`${s.adminUrl}/metrics`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await r.body.text();
    expect(text).toMatch(
      /^http_server_request_duration_seconds_bucket\{http_request_method="GET",http_route="\/v2\/health",http_response_status_class="2xx",le="\+Inf"\} 5$/m,
    );
    expect(text).toMatch(/^rampart_shadow_endpoint_probes_total\{reason="unknown-path"\} 1$/m);
    expect(text).toMatch(/^rampart_auth_failures_total\{action="login",reason="bad-password"\} 1$/m);
    expect(text).toMatch(/^rampart_monitor_events_dropped_total\{stage="queue"\} 0$/m);
    expect(text).not.toContain('/debug/vars'); // raw paths are never labels
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stderr + check.stdout).toBe('');
    expect(check.status).toBe(0);
  });
});

describe('admin endpoints need an admin credential', () => {
  for (const path of ['/admin/audit-log', '/admin/alerts', '/admin/feed', '/admin/monitor']) {
    it(`${path}: 401 without, 401 with a bad key, 403 with a non-admin key`, async () => {
      const none = await s.admin(path, null);
      expect(none.status).toBe(401);
      expect(none.json().type).toBe(PROBLEM_BASE + 'unauthenticated');
      expect(none.headers['www-authenticate']).toMatch(/^Bearer realm="rampart-admin"/);
      const bad = await s.admin(path, 'rk_nothing_valid');
      expect(bad.status).toBe(401);
      expect(bad.json().type).toBe(PROBLEM_BASE + 'invalid-token');
      const user = await s.app.identity!.users.add({
        username: `plain-${path.length}`,
        password: 'another long passphrase here',
        roles: [],
      });
      const key = await (s.app.identity!.apiKeys as ApiKeys).create(user.id, { name: 'k', scopes: [] }, []);
      const plain = await s.admin(path, key.key);
      expect(plain.status).toBe(403);
      expect(plain.json().type).toBe(PROBLEM_BASE + 'forbidden');
    });
  }
  it('health and readiness stay open', async () => {
    expect((await s.admin('/healthz', null)).status).toBe(200);
    expect((await s.admin('/readyz', null)).status).toBe(200);
  });
});

describe('audit log API', () => {
  it('filters by type and decision, pages with a cursor, exports NDJSON', async () => {
    const shadow = await until('the shadow-endpoint record', async () => {
      const r = (await s.admin('/admin/audit-log?type=shadow-endpoint')).json();
      return r.items.length ? r : undefined;
    });
    expect(shadow.items[0]).toMatchObject({
      type: 'shadow-endpoint',
      decision: 'deny',
      category: 'API9:2023',
    });
    expect(shadow.items[0].event.path).toBe('/debug/vars');
    const auth = (await s.admin('/admin/audit-log?type=auth&decision=deny')).json();
    expect(auth.items[0].event).toMatchObject({
      action: 'login',
      outcome: 'failure',
      reason: 'bad-password',
    });
    expect(JSON.stringify(auth)).not.toContain('not the password');
    const first = (await s.admin('/admin/audit-log?limit=1')).json();
    expect(first.items).toHaveLength(1);
    const second = (await s.admin(`/admin/audit-log?limit=1&cursor=${first.next}`)).json();
    expect(second.items[0].id).not.toBe(first.items[0].id);
    expect(second.items[0].at).toBeLessThanOrEqual(first.items[0].at);
    const all = (await s.admin('/admin/audit-log')).json().items.length;
    const nd = await s.admin('/admin/audit-log?format=ndjson');
    expect(nd.headers['content-type']).toBe('application/x-ndjson');
    const lines = nd.text.trim().split('\n');
    expect(lines.length).toBe(all);
    expect(JSON.parse(lines[0]!).id).toBe(first.items[0].id);
  });
  it('refuses bad parameters with problem+json', async () => {
    const r = await s.admin('/admin/audit-log?limit=0');
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({
      type: PROBLEM_BASE + 'bad-request',
      detail: expect.stringContaining('limit'),
    });
    expect((await s.admin('/admin/audit-log?cursor=bm9wZQ')).json().detail).toContain('cursor');
    expect((await s.admin('/admin/audit-log?pricipal=x')).json().detail).toContain(
      "unknown parameter 'pricipal'",
    );
  });
});

describe('alerts and the live feed', () => {
  it('the first probe of an undocumented path raised the shadow-endpoint alert', async () => {
    const a = (await s.admin('/admin/alerts')).json();
    expect(
      a.recent.find(
        (x: { rule: string; state: string }) => x.rule === 'shadow-endpoint' && x.state === 'firing',
      ),
    ).toBeTruthy();
    expect(a.rules).toContain('failed-logins');
  });
  it('streams events as server-sent events, filtered by type', async () => {
    const controller = new AbortController();
    const r = await request(`${s.adminUrl}/admin/feed?type=shadow-endpoint`, {
      headers: { authorization: `Bearer ${s.adminKey}` },
      signal: controller.signal,
    });
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const got = new Promise<string>((resolve) => {
      let buf = '';
      r.body.on('data', (c: Buffer) => {
        buf += c.toString();
        if (buf.includes('\n\nid:') || /event: shadow-endpoint\ndata: .*\n\n/.test(buf)) resolve(buf);
      });
    });
    await call(`${s.gatewayUrl}/v2/health`); // filtered out
    await call(`${s.gatewayUrl}/wp-login.php`);
    const text = await got;
    controller.abort();
    expect(text).not.toContain('event: request');
    const data = JSON.parse(/event: shadow-endpoint\ndata: (.*)\n/.exec(text)![1]!);
    expect(data).toMatchObject({ type: 'shadow-endpoint', path: '/wp-login.php' });
  });
});

describe('the live feed carries alert state changes', () => {
  it('an alert firing reaches a feed filtered to type=alert', async () => {
    const controller = new AbortController();
    const r = await request(`${s.adminUrl}/admin/feed?type=alert`, {
      headers: { authorization: `Bearer ${s.adminKey}` },
      signal: controller.signal,
    });
    const got = new Promise<string>((resolve) => {
      let buf = '';
      r.body.on('data', (c: Buffer) => {
        buf += c.toString();
        if (/event: alert\ndata: .*\n\n/.test(buf)) resolve(buf);
      });
    });
    await call(`${s.gatewayUrl}/v2/users/me`);
    const text = await got;
    controller.abort();
    const data = JSON.parse(/event: alert\ndata: (.*)\n/.exec(text)![1]!);
    expect(data).toMatchObject({
      rule: 'profile-read',
      state: 'firing',
      severity: 'info',
      labels: { alertname: 'profile-read' },
    });
  });
});

describe('rampart audit-log and rampart tail', () => {
  const io = () => {
    const lines: string[] = [];
    return { lines, out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
  };
  it('audit-log queries the store with filters and exports NDJSON; bad filters are usage errors', async () => {
    const store = `sqlite://${join(s.dir, 'rampart.db')}`;
    const a = io();
    expect(
      await main(['audit-log', '--store', store, '--type', 'shadow-endpoint', '--decision', 'deny'], a),
    ).toBe(0);
    expect(a.lines.join('\n')).toMatch(/deny {2}shadow-endpoint {2}API9:2023 .* \/debug\/vars/);
    const b = io();
    expect(await main(['audit-log', '--store', store, '--ndjson', '--type', 'auth'], b)).toBe(0);
    expect(b.lines.map((l) => JSON.parse(l).type)).toContain('auth');
    const c = io();
    expect(await main(['audit-log', '--store', store, '--decision', 'maybe'], c)).toBe(2);
    expect(c.lines[0]).toContain('--decision must be allow, deny, error, alert or info');
  });
  it('tail prints the live feed, filtered, until the stream ends', async () => {
    const out: string[] = [];
    const err: string[] = [];
    let ended: number | undefined;
    const done = main(
      ['tail', '--admin', s.adminUrl, '--admin-token', s.adminKey, '--type', 'shadow-endpoint'],
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    ).then((code) => (ended = code));
    // The client says when its stream is open; if it ends first, fail with what it printed
    // (an earlier version waited on the feed's client count and hid the client's own error).
    await until(
      'the tail client',
      async () => {
        if (ended !== undefined)
          throw new Error(`tail ended (${ended}) before connecting: ${err.join(' | ')}`);
        return err.some((l) => l.startsWith('rampart tail: following ')) ? true : undefined;
      },
      20_000,
    );
    expect(s.app.monitor!.feed.size).toBeGreaterThan(0);
    await call(`${s.gatewayUrl}/phpmyadmin`);
    await until('a tail line', async () => (out.length ? true : undefined));
    s.app.monitor!.feed.close();
    expect(await done).toBe(0);
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}shadow-endpoint method=GET path=\/phpmyadmin reason/);
    expect(err).toEqual([`rampart tail: following ${s.adminUrl}/admin/feed (Ctrl-C stops)`]);
    const bad = io();
    expect(await main(['tail', '--admin', s.adminUrl, '--admin-token', 'nope'], bad)).toBe(1);
    expect(bad.lines[0]).toContain('answered 401');
  });
});
