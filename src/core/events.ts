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
      durationMs: number;
      principal?: string;
      /** Problem code when the gateway answered itself. */
      problem?: string;
    })
  | (EventBase & {
      type: 'shadow-endpoint';
      method: string;
      path: string;
      reason: 'unknown-path' | 'method-not-allowed';
    })
  | (EventBase & { type: 'denied'; policy: string; problem: string; route?: string; principal?: string })
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
      reason?: string;
    })
  | (EventBase & { type: 'config-reload'; outcome: 'success' | 'failure'; detail?: string })
  | (EventBase & {
      /** The shared counter store (Redis) went away or came back; limits follow their fail mode meanwhile. */
      type: 'counter-store';
      store: 'redis';
      state: 'down' | 'up';
      detail?: string;
    })
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
