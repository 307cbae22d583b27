import type { Alert } from '../rules/engine.ts';

/** One delivery channel. `send` resolves when the receiver accepted the message and throws otherwise. */
export interface Notifier {
  readonly name: string;
  readonly type: string;
  /** Whether this notifier wants the alert (severity floor). */
  wants(alert: Alert): boolean;
  send(alert: Alert, delivery: { id: string; attempt: number }): Promise<void>;
}

const RANK = { info: 0, warning: 1, critical: 2 } as const;

export function severityAtLeast(alert: Alert, min: keyof typeof RANK): boolean {
  return RANK[alert.severity] >= RANK[min];
}

/** A delivery failure worth retrying later (network, timeout, 5xx, 429) or not (4xx). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}
