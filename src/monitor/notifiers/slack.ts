import type { Alert } from '../rules/engine.ts';
import { postJson, type ReceiverEgress } from './http.ts';
import { severityAtLeast, type Notifier } from './types.ts';

/** Slack incoming-webhook message text (mrkdwn): state, severity, rule, summary, labels. */
export function slackText(a: Alert): string {
  const icon =
    a.state === 'resolved'
      ? ':white_check_mark:'
      : a.severity === 'critical'
        ? ':rotating_light:'
        : ':warning:';
  const labels = Object.entries(a.labels)
    .filter(([k]) => k !== 'alertname' && k !== 'severity')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `${icon} *[${a.state.toUpperCase()}] ${esc(a.rule)}* (${a.severity}) ${esc(a.summary)}${labels ? `\n${esc(labels)}` : ''}`;
}

export class SlackNotifier implements Notifier {
  readonly type = 'slack';
  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly minSeverity: 'info' | 'warning' | 'critical',
    private readonly timeoutMs: number,
    private readonly egress?: ReceiverEgress,
  ) {}
  wants(a: Alert): boolean {
    return severityAtLeast(a, this.minSeverity);
  }
  send(a: Alert): Promise<void> {
    return postJson(this.url, JSON.stringify({ text: slackText(a) }), {}, this.timeoutMs, this.egress);
  }
}
