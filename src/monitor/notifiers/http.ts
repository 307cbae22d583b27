import { request } from 'undici';
import { withDeadline } from '../../core/deadline.ts';
import { DeliveryError } from './types.ts';

/**
 * POSTs a JSON body with a hard deadline: a hanging receiver costs at most `timeoutMs`
 * of one background delivery, never a gateway request. 2xx is success; 429 and 5xx are
 * retried, other statuses are not (the receiver refuses the message as it is).
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<void> {
  let status: number;
  try {
    status = await withDeadline(timeoutMs, async (signal) => {
      const res = await request(url, {
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
