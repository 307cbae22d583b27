/**
 * A time limit for one outbound operation, with an explicit timer and AbortController.
 *
 * Not `AbortSignal.timeout()` (nor `AbortSignal.any([…, AbortSignal.timeout()])`): on Node 20
 * those signals hold their timer weakly, so a signal nothing else references can be
 * garbage-collected before it fires and the request it was meant to bound then hangs (seen in
 * CI with the scanner). A strongly held `setTimeout` has no such failure; `clear()` (or
 * {@link withDeadline}) releases it as soon as the operation ends.
 */
export interface Deadline {
  /** Aborts when the time is up (reason: a `TimeoutError` DOMException) or when `parent` aborts (its reason). */
  readonly signal: AbortSignal;
  /** True once the time ran out (not when the parent aborted). */
  readonly timedOut: boolean;
  /** Stops the timer and detaches from the parent; call it when the operation is over. */
  clear(): void;
}

export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'));
  }, ms);
  const stop = (): void => ctl.abort(parent?.reason);
  if (parent) {
    if (parent.aborted) stop();
    else parent.addEventListener('abort', stop, { once: true });
  }
  return {
    signal: ctl.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', stop);
    },
  };
}

/**
 * Runs `fn` with a signal that aborts after `ms` (or with `parent`); the timer is cleared when
 * `fn` settles — so read the response body inside `fn`, where the limit still applies.
 */
export async function withDeadline<T>(
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
  parent?: AbortSignal,
): Promise<T> {
  const d = deadline(ms, parent);
  try {
    return await fn(d.signal);
  } finally {
    d.clear();
  }
}
