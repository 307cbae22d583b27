/**
 * Typed events: how the gateway and identity service tell the monitor (alerts,
 * metrics, audit log) what happened. Never put secrets, codes or tokens in an event.
 */
interface EventBase {
  /** Epoch ms. */
  at: number;
  requestId?: string;
  ip?: string;
}

export type RampartEvent =
  | (EventBase & {
      type: 'request';
      method: string;
      /** Route template (never the raw path, to keep label cardinality bounded). */
      route: string;
      api?: string;
      version?: string;
      status: number;
      /** Time to the last byte of the response (to the response head where the gateway cannot tell). */
      durationMs: number;
      /** Time to the response head (first byte), when the gateway measured it separately. */
      ttfbMs?: number;
      /** Request body bytes received. */
      bytesIn?: number;
      /** Response body bytes sent. */
      bytesOut?: number;
      principal?: string;
      /** Id of the API key that authenticated the request (never the key itself). */
      apiKeyId?: string;
      /** Value of the route's last path parameter (`/records/{recordId}` → `42`): object-enumeration rules. */
      objectId?: string;
      /** Problem code when the gateway answered itself. */
      problem?: string;
    })
  | (EventBase & {
      type: 'shadow-endpoint';
      method: string;
      path: string;
      reason: 'unknown-path' | 'method-not-allowed';
    })
  | (EventBase & {
      type: 'denied';
      policy: string;
      problem: string;
      route?: string;
      principal?: string;
      /** OWASP API Security Top 10 2023 id (`API1:2023` …); the monitor derives it from the policy when absent. */
      category?: string;
    })
  | (EventBase & { type: 'bad-request'; problem: string; detail?: string })
  | (EventBase & { type: 'upstream-error'; api: string; status?: number; reason: string })
  | (EventBase & {
      type: 'auth';
      action:
        | 'login'
        | 'otp'
        | 'passkey'
        | 'recovery-code'
        | 'step-up'
        | 'refresh'
        | 'logout'
        | 'password-change'
        | 'mfa-enroll'
        | 'mfa-remove'
        | 'api-key';
      outcome: 'success' | 'failure' | 'locked' | 'reuse-detected';
      /** User id when known; never the submitted username of a failed unknown account. */
      user?: string;
      /**
       * Pseudonymous account reference (keyed hash of the submitted login name, per process):
       * lets the monitor count distinct accounts tried from one address without seeing names.
       */
      account?: string;
      reason?: string;
    })
  | (EventBase & {
      type: 'mfa';
      outcome: 'failed' | 'step-up-required';
      route?: string;
      principal?: string;
      reason?: string;
    })
  | (EventBase & {
      type: 'rate-limited';
      policy: string;
      route?: string;
      principal?: string;
      /** The limit's name or key kind (`per-consumer`, `login` …), never the raw key. */
      limit?: string;
    })
  | (EventBase & {
      type: 'validation-failed';
      direction: 'request' | 'response';
      route?: string;
      principal?: string;
      /** JSON pointer of the first offending value (never the value itself). */
      pointer?: string;
      keyword?: string;
    })
  | (EventBase & {
      type: 'deprecated-version-used';
      api: string;
      version: string;
      route?: string;
      principal?: string;
      sunset?: string;
    })
  | (EventBase & {
      type: 'scan-finding';
      scanner: string;
      findingId: string;
      severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
      category?: string;
      target?: string;
    })
  | (EventBase & {
      type: 'alert';
      rule: string;
      state: 'pending' | 'firing' | 'resolved';
      severity: 'critical' | 'warning' | 'info';
      labels: Record<string, string>;
      summary: string;
    })
  | (EventBase & { type: 'config-reload'; outcome: 'success' | 'failure'; detail?: string })
  | (EventBase & { type: 'cert-expiry'; subject: string; notAfter: string; daysLeft: number });

export type RampartEventType = RampartEvent['type'];

export type EventSink = (event: RampartEvent) => void;

/** A tiny synchronous fan-out bus. Listeners must not throw; errors are swallowed and counted. */
export class EventBus {
  private readonly listeners = new Set<EventSink>();
  dropped = 0;
  on(listener: EventSink): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit: EventSink = (event) => {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        this.dropped++;
      }
    }
  };
}
