import type { Alert } from '../rules/engine.ts';
import { postJson, type ReceiverEgress } from './http.ts';
import { severityAtLeast, type Notifier } from './types.ts';

/** Alertmanager's "zero" time for an alert that has not ended. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The Alertmanager webhook payload, version 4 (what Alertmanager sends to webhook
 * receivers, so tools built for it accept Rampart's alerts): one group per alert.
 */
export function alertmanagerPayload(
  a: Alert,
  receiver: string,
  externalURL: string,
): Record<string, unknown> {
  const status = a.state === 'resolved' ? 'resolved' : 'firing';
  const annotations: Record<string, string> = { summary: a.summary };
  if (a.description) annotations.description = a.description;
  if (a.explanation) annotations.explanation = JSON.stringify(a.explanation);
  return {
    version: '4',
    groupKey: `{}:{alertname="${a.rule}"}`,
    truncatedAlerts: 0,
    status,
    receiver,
    groupLabels: { alertname: a.rule },
    commonLabels: a.labels,
    commonAnnotations: annotations,
    externalURL,
    alerts: [
      {
        status,
        labels: a.labels,
        annotations,
        startsAt: new Date(a.startsAt).toISOString(),
        endsAt: a.endsAt !== undefined ? new Date(a.endsAt).toISOString() : ZERO_TIME,
        generatorURL: `${externalURL}/admin/alerts`,
        fingerprint: a.fingerprint,
      },
    ],
  };
}

export class AlertmanagerNotifier implements Notifier {
  readonly type = 'alertmanager';
  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly externalURL: string,
    private readonly minSeverity: 'info' | 'warning' | 'critical',
    private readonly timeoutMs: number,
    private readonly egress?: ReceiverEgress,
  ) {}
  wants(a: Alert): boolean {
    return severityAtLeast(a, this.minSeverity);
  }
  send(a: Alert): Promise<void> {
    return postJson(
      this.url,
      JSON.stringify(alertmanagerPayload(a, this.name, this.externalURL)),
      {},
      this.timeoutMs,
      this.egress,
    );
  }
}
