import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { buildNotifier } from '../../src/monitor/index.ts';
import { alertmanagerPayload } from '../../src/monitor/notifiers/alertmanager.ts';
import { DeliveryError } from '../../src/monitor/notifiers/types.ts';
import { EmailNotifier } from '../../src/monitor/notifiers/email.ts';
import { Outbox } from '../../src/monitor/notifiers/outbox.ts';
import { SlackNotifier } from '../../src/monitor/notifiers/slack.ts';
import { AlertmanagerNotifier } from '../../src/monitor/notifiers/alertmanager.ts';
import { signWebhook, verifyWebhook, WebhookNotifier } from '../../src/monitor/notifiers/webhook.ts';
import type { Alert } from '../../src/monitor/rules/engine.ts';
import { startSmtpSink } from '../helpers/smtp-sink.ts';
import { forEachStore } from '../helpers/stores.ts';

const T0 = Date.UTC(2026, 0, 1, 12);
const SECRET = 'a-webhook-secret-of-some-length';

const alert = (over: Partial<Alert> = {}): Alert => ({
  fingerprint: 'f00dfeedf00dfeed',
  rule: 'failed-logins-per-ip',
  severity: 'critical',
  state: 'firing',
  labels: { alertname: 'failed-logins-per-ip', severity: 'critical', ip: '10.0.0.9' },
  summary: '50 failed logins from 10.0.0.9 in 1m',
  description: 'One address keeps failing to sign in.',
  value: 50,
  threshold: 50,
  startsAt: T0,
  ...over,
});

interface Seen {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver: answers with the statuses in `plan` (then 200), or hangs with 'hang'. */
async function receiver(plan: Array<number | 'hang'> = []) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      const next = plan.shift() ?? 200;
      if (next === 'hang') return; // never answers
      res.writeHead(next).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('signed webhook', () => {
  it('signs timestamp and body with HMAC-SHA256; a receiver verifies, refuses tampering and stale replays', async () => {
    const rx = await receiver();
    const clock = new ManualClock(T0);
    const n = new WebhookNotifier(
      { name: 'ops', url: rx.url, secret: SECRET, minSeverity: 'warning', timeoutMs: 2000 },
      () => clock.now(),
    );
    await n.send(alert(), { id: 'd-1' });
    const { headers, body } = rx.seen[0]!;
    const sig = headers['x-rampart-signature'] as string;
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(headers['x-rampart-delivery']).toBe('d-1');
    expect(JSON.parse(body)).toMatchObject({
      delivery: 'd-1',
      alert: { rule: 'failed-logins-per-ip', state: 'firing', startsAt: '2026-01-01T12:00:00.000Z' },
    });
    const now = T0 / 1000;
    expect(verifyWebhook(SECRET, sig, body, now)).toBe(true);
    expect(verifyWebhook(SECRET, sig, body.replace('critical', 'info'), now)).toBe(false);
    expect(verifyWebhook('another-secret-entirely', sig, body, now)).toBe(false);
    expect(verifyWebhook(SECRET, sig, body, now + 301)).toBe(false); // a replay after the tolerance
    // The timestamp is signed: moving it forward breaks the signature.
    const moved = sig.replace(/^t=\d+/, `t=${now + 200}`);
    expect(verifyWebhook(SECRET, moved, body, now + 200)).toBe(false);
    expect(signWebhook(SECRET, body, now)).toBe(sig);
    expect(n.wants(alert({ severity: 'info' }))).toBe(false);
    await rx.close();
  });
});

describe('SSRF guard on receivers (configured notifiers)', () => {
  const clock = new ManualClock(T0);
  const configs = (url: string, allowPrivate?: boolean) =>
    [
      { type: 'webhook', name: 'hook', url, secret: SECRET, minSeverity: 'info' },
      { type: 'slack', name: 'chat', url, minSeverity: 'info' },
      { type: 'alertmanager', name: 'am', url, minSeverity: 'info' },
    ].map((c) => ({ ...c, ...(allowPrivate !== undefined ? { allowPrivate } : {}) }) as never);

  it('a receiver on a private address is refused (not retried, nothing sent) unless allowPrivate', async () => {
    const rx = await receiver();
    try {
      for (const c of configs(rx.url)) {
        const err = await buildNotifier(c, clock, 'http://127.0.0.1:9901')
          .send(alert(), { id: 'd', attempt: 1 })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DeliveryError);
        expect((err as DeliveryError).retry).toBe(false);
        expect((err as Error).message).toMatch(/SSRF guard: host '127\.0\.0\.1' is not a public address/);
      }
      expect(rx.seen).toHaveLength(0);
      for (const c of configs(rx.url, true))
        await buildNotifier(c, clock, 'http://127.0.0.1:9901').send(alert(), { id: 'd', attempt: 1 });
      expect(rx.seen).toHaveLength(3);
    } finally {
      await rx.close();
    }
  });

  it.each([['169.254.169.254'], ['10.1.2.3'], ['172.16.0.9'], ['::ffff:127.0.0.1'], ['100.100.100.200']])(
    'a receiver host resolving to %s is refused before any connection',
    async (address) => {
      const asked: string[] = [];
      const n = buildNotifier(configs('https://hooks.example/alert')[0]!, clock, 'http://x', async (h) => {
        asked.push(h);
        return [address];
      });
      await expect(n.send(alert(), { id: 'd', attempt: 1 })).rejects.toThrow(/not a public address/);
      expect(asked).toEqual(['hooks.example']);
    },
  );

  it('DNS rebinding: public when checked, loopback at connect time → no request reaches the receiver', async () => {
    const rx = await receiver();
    const port = new URL(rx.url).port;
    let calls = 0;
    try {
      const n = buildNotifier(
        configs(`http://rebind.example:${port}/hook`)[1]!,
        clock,
        'http://x',
        async () => (++calls === 1 ? ['93.184.216.34'] : ['127.0.0.1']),
      );
      const err = await n.send(alert(), { id: 'd', attempt: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeliveryError);
      expect((err as Error).message).toMatch(/not a public address/);
      expect(calls).toBe(2);
      expect(rx.seen).toHaveLength(0);
    } finally {
      await rx.close();
    }
  });
});

describe('Slack and Alertmanager formats', () => {
  it('Slack incoming webhook: {"text"} with state, rule and summary, mrkdwn-escaped', async () => {
    const rx = await receiver();
    await new SlackNotifier('slack', rx.url, 'info', 2000).send(alert({ summary: 'a <b> & c' }));
    const body = JSON.parse(rx.seen[0]!.body);
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toContain('*[FIRING] failed-logins-per-ip* (critical) a &lt;b&gt; &amp; c');
    expect(body.text).toContain('ip=10.0.0.9');
    await rx.close();
  });
  it('Alertmanager webhook v4: version, status, alerts[{status, labels, annotations, startsAt, endsAt, fingerprint}]', async () => {
    const rx = await receiver();
    await new AlertmanagerNotifier('am', rx.url, 'http://127.0.0.1:9901', 'info', 2000).send(
      alert({ state: 'resolved', endsAt: T0 + 60_000 }),
    );
    const p = JSON.parse(rx.seen[0]!.body);
    expect(p).toMatchObject({
      version: '4',
      status: 'resolved',
      receiver: 'am',
      groupLabels: { alertname: 'failed-logins-per-ip' },
      truncatedAlerts: 0,
      alerts: [
        {
          status: 'resolved',
          labels: { alertname: 'failed-logins-per-ip', severity: 'critical', ip: '10.0.0.9' },
          annotations: { summary: '50 failed logins from 10.0.0.9 in 1m' },
          startsAt: '2026-01-01T12:00:00.000Z',
          endsAt: '2026-01-01T12:01:00.000Z',
          fingerprint: 'f00dfeedf00dfeed',
        },
      ],
    });
    expect(alertmanagerPayload(alert(), 'r', 'http://x').alerts).toMatchObject([
      { endsAt: '0001-01-01T00:00:00Z' },
    ]);
    await rx.close();
  });
});

describe('e-mail over SMTP (a real SMTP sink on loopback)', () => {
  it('delivers an RFC 5322 message; header injection is neutralised; a 4xx is retryable', async () => {
    const sink = await startSmtpSink();
    const clock = new ManualClock(T0);
    const n = new EmailNotifier(
      {
        name: 'mail',
        host: '127.0.0.1',
        port: sink.port,
        security: 'none',
        from: 'rampart@example.test',
        to: ['ops@example.test', 'sec@example.test'],
        minSeverity: 'warning',
        timeoutMs: 2000,
      },
      () => clock.now(),
    );
    await n.send(
      alert({ summary: 'evil\r\nBcc: victim@example.test', description: '.a line starting with a dot' }),
      { id: 'm-1' },
    );
    const m = sink.messages[0]!;
    expect(m.from).toBe('rampart@example.test');
    expect(m.to).toEqual(['ops@example.test', 'sec@example.test']);
    expect(m.data).toMatch(
      /^Subject: \[Rampart FIRING\] failed-logins-per-ip: evil Bcc: victim@example.test$/m,
    );
    expect(m.data.slice(0, m.data.indexOf('\r\n\r\n'))).not.toMatch(/^Bcc:/m); // the head has no injected field
    expect(m.data).toContain('\r\n.a line starting with a dot\r\n'); // dot-stuffed on the wire, unstuffed by the sink
    expect(m.data).toContain('Message-ID: <m-1@rampart>');
    sink.failNext = 1;
    await expect(n.send(alert(), { id: 'm-2' })).rejects.toMatchObject({ retry: true });
    await sink.close();
  });
});

forEachStore('durable delivery (outbox)', (getDb) => {
  it('retries with exponential back-off and keeps undelivered alerts across a restart', async () => {
    const rx = await receiver([500, 503]);
    const clock = new ManualClock(T0);
    const make = () =>
      new Outbox(
        getDb(),
        [new SlackNotifier('slack', rx.url, 'info', 2000)],
        { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60_000, pollMs: 60_000 },
        clock,
        silentLogger,
      );
    const first = make();
    await first.enqueue(alert());
    await first.run();
    expect(rx.seen).toHaveLength(1); // 500
    await first.run();
    expect(rx.seen).toHaveLength(1); // not due yet (1 s back-off)
    await first.stop(); // "restart"
    const second = make();
    clock.advance(1000);
    await second.run();
    expect(rx.seen).toHaveLength(2); // 503; next in 2 s
    clock.advance(1999);
    await second.run();
    expect(rx.seen).toHaveLength(2);
    clock.advance(1);
    await second.run();
    expect(rx.seen).toHaveLength(3);
    expect(await second.pending()).toBe(0);
    const row = await getDb().one<{ attempts: number; last_error: string }>(
      'SELECT attempts, last_error FROM monitor_outbox',
    );
    expect(Number(row!.attempts)).toBe(3);
    await second.stop();
    await rx.close();
  });

  it('a hanging receiver costs one delivery its timeout; other notifiers are not held up', async () => {
    const hang = await receiver(['hang']);
    const ok = await receiver();
    const clock = new ManualClock(T0);
    const box = new Outbox(
      getDb(),
      [new SlackNotifier('hangs', hang.url, 'info', 300), new SlackNotifier('fine', ok.url, 'info', 2000)],
      { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000, pollMs: 60_000 },
      clock,
      silentLogger,
    );
    const t = Date.now();
    await box.enqueue(alert({ fingerprint: 'another' }));
    await box.run();
    expect(Date.now() - t).toBeLessThan(2000);
    expect(ok.seen).toHaveLength(1);
    expect(hang.seen).toHaveLength(1);
    const rows = await getDb().query<{
      notifier: string;
      delivered_at: number | null;
      last_error: string | null;
    }>(
      "SELECT notifier, delivered_at, last_error FROM monitor_outbox WHERE alert LIKE '%another%' ORDER BY notifier",
    );
    expect(rows[0]).toMatchObject({ notifier: 'fine' });
    expect(rows[0]!.delivered_at).not.toBeNull();
    expect(rows[1]).toMatchObject({ notifier: 'hangs', delivered_at: null });
    expect(rows[1]!.last_error).toMatch(/timeout|abort/i);
    await box.stop();
    await hang.close();
    await ok.close();
  });

  it('a 4xx answer is not retried (the receiver refuses the message as it is)', async () => {
    const rx = await receiver([400]);
    const clock = new ManualClock(T0);
    const box = new Outbox(
      getDb(),
      [new SlackNotifier('bad', rx.url, 'info', 2000)],
      { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100, pollMs: 60_000 },
      clock,
      silentLogger,
    );
    await box.enqueue(alert({ fingerprint: 'refused' }));
    await box.run();
    clock.advance(1000);
    await box.run();
    expect(rx.seen).toHaveLength(1);
    const row = await getDb().one<{ dead: number }>(
      "SELECT dead FROM monitor_outbox WHERE alert LIKE '%refused%'",
    );
    expect(Number(row!.dead)).toBe(1);
    await box.stop();
    await rx.close();
  });
});
