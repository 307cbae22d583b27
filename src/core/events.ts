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
      /** A deprecated (or sunset-announced) version answered a request: who still uses it (API9). */
      type: 'deprecated-version-used';
      api: string;
      /** The version's base path. */
      version: string;
      method: string;
      route: string;
      /** `deprecated` once the deprecation instant passed, `announced` while only scheduled. */
      state: 'deprecated' | 'announced';
      /** Principal id, API key owner or OAuth client id; absent for anonymous calls. */
      consumer?: string;
      consumerKind?: 'user' | 'api-key' | 'client' | 'anonymous';
    })
  | (EventBase & {
      type: 'denied';
      policy: string;
      problem: string;
      route?: string;
      principal?: string;
      /** OWASP API Security Top 10 2023 category the denial prevents, e.g. `API5:2023`. */
      owasp?: string;
    })
  | (EventBase & { type: 'bad-request'; problem: string; detail?: string })
  | (EventBase & {
      /** A request or answer that breaks the contract (validation, injection, SSRF, egress). */
      type: 'contract-violation';
      policy: string;
      direction: 'request' | 'response' | 'egress';
      /** `blocked`: refused/replaced; `reported`: passed on (report mode). */
      action: 'blocked' | 'reported';
      api?: string;
      /** Route template (or `METHOD template` for egress). */
      route?: string;
      problem?: string;
      /** Where and which rule; never the offending values. */
      violations: Array<{ pointer: string; keyword: string }>;
    })
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
      type: 'alert';
      rule: string;
      state: 'pending' | 'firing' | 'resolved';
      severity: 'critical' | 'warning' | 'info';
      labels: Record<string, string>;
      summary: string;
    })
  | (EventBase & { type: 'config-reload'; outcome: 'success' | 'failure'; detail?: string })
  | (EventBase & {
      /** The shared counter store (Redis) went away or came back; limits follow their fail mode meanwhile. */
      type: 'counter-store';
      store: 'redis';
      state: 'down' | 'up';
      detail?: string;
    })
  | (EventBase & { type: 'cert-expiry'; subject: string; notAfter: string; daysLeft: number })
  | (EventBase & {
      /** A scheduled scan finished (`scans:` in rampart.yaml), with the diff against the previous run. */
      type: 'scan';
      api: string;
      outcome: 'completed' | 'partial' | 'failed';
      new?: number;
      fixed?: number;
      open?: number;
      detail?: string;
    })
  | (EventBase & {
      /**
       * An action taken through the admin API (who did what to which object), for the audit
       * log. `target` is an id (user, key, alert, scan), never a secret.
       */
      type: 'admin-action';
      principal: string;
      action: string;
      target?: string;
      outcome: 'success' | 'failure';
      detail?: string;
    })
  | (EventBase & {
      /** A finding a scheduled scan saw for the first time. */
      type: 'scan-finding';
      api: string;
      findingId: string;
      check: string;
      severity: 'info' | 'low' | 'medium' | 'high' | 'critical';
      operation?: string;
      owasp?: string;
    });

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
