/**
 * The gateway's observer seam (learn mode): after the answer to a forwarded request is
 * written, the gateway hands the exchange to an observer — the request line, the headers,
 * the status and, for a sampled exchange, the bodies up to a cap. The gateway knows only this
 * type; `cli/app.ts` composes the learner behind it (src/learn is never imported by the gateway).
 */
export interface ObservedExchange {
  /** The API (rampart.yaml `apis[].name`) and the version's base path. */
  api: string;
  base: string;
  method: string;
  /** The path after the version's base, as received, plus `?query` when there is one. */
  target: string;
  requestHeaders: Readonly<Record<string, string | string[] | undefined>>;
  /** The upstream's status and response head. */
  status: number;
  responseHeaders: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * The bodies when the exchange was sampled (a body may come as its chunks: the observer
   * joins them only if it infers that one); `…Truncated` when one went past the sample cap.
   */
  requestBody?: Buffer;
  requestBodyTruncated?: boolean;
  /** The request body's JSON value when a policy already parsed it (an observer need not parse it again). */
  requestJson?: unknown;
  responseBody?: Buffer | readonly Buffer[];
  responseBodyTruncated?: boolean;
}

export interface ExchangeObserver {
  /**
   * Called synchronously once the answer is written, on the request path: it must only
   * enqueue (bounded) and return — inference belongs off the request path.
   */
  observe(x: ObservedExchange): void;
  /** The upstream could not be reached for this API version (reported, not learned as a 5xx). */
  upstreamDown?(api: string, base: string, message: string): void;
}

/** Bytes of each body copied for an observer; a longer body is passed as truncated (not copied). */
export const OBSERVE_SAMPLE_BYTES = 256 * 1024;
