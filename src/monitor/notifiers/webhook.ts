import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Alert } from '../rules/engine.ts';
import { postJson, type ReceiverEgress } from './http.ts';
import { severityAtLeast, type Notifier } from './types.ts';

export const SIGNATURE_HEADER = 'x-rampart-signature';
export const DELIVERY_HEADER = 'x-rampart-delivery';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the timestamp is signed too). */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * What a receiver runs: the signature must match and be at most `toleranceSeconds` old
 * (replays of an old capture fail); a receiver also remembers delivery ids it accepted
 * within the tolerance to refuse an exact replay inside it.
 * @example
 * if (!verifyWebhook(secret, req.headers['x-rampart-signature'], rawBody, Date.now() / 1000)) reject();
 */
export function verifyWebhook(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const want = Buffer.from(signWebhook(secret, body, t).slice(-64), 'hex');
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}

/** The generic JSON body every HTTP notifier's receiver can read. */
export function alertJson(a: Alert): Record<string, unknown> {
  return {
    rule: a.rule,
    state: a.state,
    severity: a.severity,
    summary: a.summary,
    ...(a.description ? { description: a.description } : {}),
    labels: a.labels,
    value: a.value,
    ...(a.threshold !== undefined ? { threshold: a.threshold } : {}),
    startsAt: new Date(a.startsAt).toISOString(),
    ...(a.endsAt !== undefined ? { endsAt: new Date(a.endsAt).toISOString() } : {}),
    fingerprint: a.fingerprint,
    ...(a.explanation ? { explanation: a.explanation } : {}),
  };
}

export interface WebhookOptions {
  name: string;
  url: string;
  secret: string;
  minSeverity: 'info' | 'warning' | 'critical';
  timeoutMs: number;
  /** The SSRF guard; absent only for a receiver configured with `allowPrivate`. */
  egress?: ReceiverEgress;
}

/** Generic webhook, signed with HMAC-SHA256 over the timestamp and the body. */
export class WebhookNotifier implements Notifier {
  readonly type = 'webhook';
  readonly name: string;
  constructor(
    private readonly o: WebhookOptions,
    private readonly now: () => number,
  ) {
    this.name = o.name;
  }
  wants(a: Alert): boolean {
    return severityAtLeast(a, this.o.minSeverity);
  }
  send(a: Alert, d: { id: string }): Promise<void> {
    const body = JSON.stringify({ delivery: d.id, alert: alertJson(a) });
    return postJson(
      this.o.url,
      body,
      {
        [SIGNATURE_HEADER]: signWebhook(this.o.secret, body, Math.floor(this.now() / 1000)),
        [DELIVERY_HEADER]: d.id,
      },
      this.o.timeoutMs,
      this.o.egress,
    );
  }
}
