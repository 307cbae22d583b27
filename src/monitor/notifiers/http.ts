import { request, type Agent } from 'undici';
import { withDeadline } from '../../core/deadline.ts';
import { outboundGuard, SsrfBlocked, type OutboundGuard, type Resolve } from '../../core/ssrf.ts';
import { DeliveryError } from './types.ts';

/** The SSRF guard of one receiver (core/ssrf.ts) and its connection pool, which re-checks and pins addresses at connect time. */
export interface ReceiverEgress {
  guard: OutboundGuard;
  agent: Agent;
}

/** A guarded way out for a receiver: public addresses only, http or https, no credentials in the URL. */
export function receiverEgress(resolve?: Resolve): ReceiverEgress {
  const guard = outboundGuard({ schemes: ['https', 'http'], ...(resolve ? { resolve } : {}) });
  return { guard, agent: guard.agent() };
}

/**
 * POSTs a JSON body with a hard deadline: a hanging receiver costs at most `timeoutMs`
 * of one background delivery, never a gateway request. 2xx is success; 429 and 5xx are
 * retried, other statuses are not (the receiver refuses the message as it is). With an
 * `egress`, the receiver must pass the SSRF guard (a private, loopback or metadata address is
 * refused before anything is sent, and not retried); without one (a receiver configured with
 * `allowPrivate`), any address.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  egress?: ReceiverEgress,
): Promise<void> {
  if (egress) {
    try {
      await egress.guard.check(url);
    } catch (err) {
      if (!(err instanceof SsrfBlocked)) throw err;
      throw new DeliveryError(
        `receiver refused by the SSRF guard: ${err.message} (allowPrivate: true for an internal receiver)`,
        false,
      );
    }
  }
  let status: number;
  try {
    status = await withDeadline(timeoutMs, async (signal) => {
      const res = await request(url, {
        ...(egress ? { dispatcher: egress.agent } : {}),
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'rampart-monitor', ...headers },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal,
      });
      await res.body.dump();
      return res.statusCode;
    });
  } catch (err) {
    throw new DeliveryError(`${(err as Error).name}: ${(err as Error).message}`.slice(0, 200), true);
  }
  if (status >= 200 && status < 300) return;
  throw new DeliveryError(`receiver answered ${status}`, status === 429 || status >= 500 || status === 408);
}
