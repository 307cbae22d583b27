/**
 * "A hanging or failing endpoint never slows the gateway" (#14), through the whole App: an
 * alert's webhook receiver accepts the connection and never answers; while that delivery is
 * in flight the gateway keeps answering every request, and the alert is listed. Structural,
 * not timed: the receiver holds the delivery open for the whole of the traffic below.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call } from '../helpers/gateway.ts';
import { startMonitorStack, type MonitorStack } from '../helpers/monitor.ts';
import { until } from '../helpers/until.ts';

let s: MonitorStack;
let receiver: Server;
const held: Array<{ req: IncomingMessage; res: ServerResponse }> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    held.push({ req, res }); // never answered while the test runs
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  s = await startMonitorStack({
    monitor: {
      rules: [
        {
          id: 'health-read',
          kind: 'threshold',
          match: { type: 'request', route: '/v2/health' },
          window: '1m',
          threshold: 1,
          severity: 'critical',
        },
      ],
      notifiers: [
        {
          type: 'webhook',
          name: 'stuck',
          url,
          secret: 'a-webhook-secret-of-length',
          timeoutMs: 60_000,
          allowPrivate: true,
        },
      ],
    },
  });
});

afterAll(async () => {
  for (const h of held) h.res.destroy();
  await s?.close();
  await new Promise((r) => receiver.close(r));
});

it('keeps serving while an alert delivery hangs at the receiver', async () => {
  expect((await call(`${s.gatewayUrl}/v2/health`)).status).toBe(200);
  // The alert fires and its delivery reaches the receiver, which holds it.
  await until('the delivery at the receiver', async () => (held.length > 0 ? true : undefined), 10_000);
  expect(held).toHaveLength(1);
  expect(held[0]!.req.headers['x-rampart-signature']).toBeDefined();

  // The delivery is still open: 100 requests are all answered meanwhile.
  const answers = await Promise.all(
    Array.from({ length: 100 }, () => call(`${s.gatewayUrl}/v2/health`).then((r) => r.status)),
  );
  expect(answers.every((st) => st === 200)).toBe(true);
  expect(held[0]!.res.writableEnded).toBe(false);
  expect(held[0]!.req.socket.destroyed).toBe(false);

  const alerts = await s.admin('/admin/alerts');
  expect(alerts.status).toBe(200);
  expect(JSON.stringify(alerts.json())).toContain('health-read');
});
