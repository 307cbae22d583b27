import type { ServerResponse } from 'node:http';
import { util, type Dispatcher } from 'undici';
import type { Clock } from '../core/clock.ts';
import { problem, type ProblemCode } from '../core/errors.ts';
import type { RampartEvent } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import { OBSERVE_SAMPLE_BYTES } from '../core/observe.ts';
import type { Chain } from './chain.ts';
import type { Denial, RequestContext, ResponseContext } from './policy.ts';
import {
  MAX_INSPECTED_RESPONSE_BYTES,
  boundedProblem,
  connectionListed,
  declaresProblemJson,
  isProblemJson,
  looksLikeLeak,
} from './upstream.ts';

/**
 * What an exchange needs from the gateway: its writers and its log and event sinks. `C` is
 * the gateway's own request context (it knows the response object that goes with it).
 */
export interface ExchangeHost<C extends RequestContext> {
  readonly log: Logger;
  readonly clock: Clock;
  readonly emitEvent: (e: RampartEvent) => void;
  /** Answers with a gateway problem; every policy's response phase sees it first. */
  answer(ctx: C, denial: Denial): void;
  /** Writes the response head (and the body when buffered) after the response phase. */
  write(ctx: C, resCtx: ResponseContext, body: Buffer | undefined): void;
  /** A policy failed while handling the response: log, then a 500 or a cut connection. */
  internalError(ctx: C, err: unknown): void;
  /** A streamed body ended, broke off or was abandoned by the client (the request event). */
  completed(ctx: C, bytesOut: number): void;
  /**
   * Learn mode: the upstream answered an observed exchange completely (`body` when sampled and
   * within OBSERVE_SAMPLE_BYTES, `truncated` beyond). Only enqueues (core/observe.ts).
   */
  observed?(
    ctx: C,
    status: number,
    headers: ResponseContext['headers'],
    body: Buffer | readonly Buffer[] | undefined,
    truncated: boolean,
  ): void;
  /** Learn mode: the upstream of an observed exchange could not be reached. */
  observedDown?(ctx: C, reason: string): void;
}

/** How an exchange is observed (learn mode): not at all, without its bodies, or with them. */
export const OBSERVE_NONE = 0;
export const OBSERVE_HEAD = 1;
export const OBSERVE_BODIES = 2;

// Exchange states.
const WAITING = 0; // request sent, no response head yet
const STREAMING = 1; // head passed on, body streamed to the client as it arrives
const BUFFERING = 2; // body collected for inspection (5xx leak check, response-body policies)
const DONE = 3; // answered, failed or abandoned: later upstream callbacks are ignored

/**
 * One request forwarded upstream, as an undici dispatch handler: the response head goes
 * through the response phase and on to the client, and the body is streamed with
 * backpressure (a `false` from `onData` pauses the upstream socket until the client
 * drains). Compared with `pool.request()`, no promise, async resource, body stream or
 * pump is allocated per request — measured in docs/performance.md.
 *
 * A body the gateway must inspect (upstream 5xx, a route whose chain has `needsResponseBody`) is
 * buffered up to MAX_INSPECTED_RESPONSE_BYTES; beyond that the client gets a 502 rather
 * than an unchecked body. A client that goes away aborts the upstream request.
 */
export class Exchange<C extends RequestContext> implements Dispatcher.DispatchHandler {
  private state = WAITING;
  private abortUpstream: ((err: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private resCtx: ResponseContext | undefined;
  private chunks: Buffer[] | undefined;
  private size = 0;
  private onDrain: (() => void) | undefined;
  // An asynchronous response phase holds the head (and the upstream body, paused) until it settles.
  private headPending = false;
  private bodyEnded = false;
  private upstreamFailed = false;
  private clientGone = false;
  /** Body bytes streamed to the client. */
  private sent = 0;
  private reported = false;
  /** Learn mode: the upstream status, and the streamed body's chunks copied (by reference) up to the cap. */
  private upstreamStatus = 0;
  private tap: Buffer[] | undefined;
  private tapped = 0;
  private tapTruncated = false;

  constructor(
    private readonly host: ExchangeHost<C>,
    private readonly chain: Chain,
    /** Upstream response headers never passed on (hop-by-hop, those policies drop). */
    private readonly dropped: ReadonlySet<string>,
    private readonly ctx: C,
    private readonly res: ServerResponse,
    private readonly api: string,
    /** OBSERVE_NONE, OBSERVE_HEAD or OBSERVE_BODIES (learn mode). */
    private readonly observe: number = OBSERVE_NONE,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.state === DONE) abort(new Error('client closed the connection'));
    else this.abortUpstream = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    if (this.state !== WAITING) return false;
    if (status < 200) return true; // 1xx interim answers are not passed on
    this.resumeUpstream = resume;
    this.upstreamStatus = status;
    const headers = parseRawHeaders(raw, this.dropped);
    const resCtx: ResponseContext = { status, headers, body: undefined, local: false };
    this.resCtx = resCtx;
    if (this.chain.needsResponseBody || status >= 500) {
      this.state = BUFFERING;
      this.chunks = [];
      return true;
    }
    this.state = STREAMING;
    if (this.observe === OBSERVE_BODIES) this.tap = [];
    const pending = this.chain.runResponse(this.ctx, resCtx, Number.MAX_SAFE_INTEGER);
    if (pending) {
      // An asynchronous response policy: hold the upstream body until the head is written.
      this.headPending = true;
      pending.then(
        () => {
          this.headPending = false;
          if (this.clientGone) return;
          if (this.upstreamFailed) return this.cutShort();
          this.host.write(this.ctx, resCtx, undefined);
          if (this.bodyEnded) {
            this.res.end();
            this.report();
          } else this.resumeUpstream?.();
        },
        (err: unknown) => this.policyFailed(err),
      );
      return false;
    }
    this.host.write(this.ctx, resCtx, undefined);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.state === STREAMING) {
      this.sent += chunk.length;
      if (this.tap !== undefined) this.copy(chunk);
      if (this.res.write(chunk)) return true;
      this.onDrain ??= () => this.resumeUpstream?.();
      this.res.once('drain', this.onDrain);
      return false;
    }
    if (this.state !== BUFFERING) return false;
    this.size += chunk.length;
    if (this.size > MAX_INSPECTED_RESPONSE_BYTES) {
      this.state = DONE;
      this.chunks = undefined;
      this.host.log.warn(
        { requestId: this.ctx.id, api: this.api, status: this.resCtx!.status },
        'upstream response too large to inspect',
      );
      this.abortUpstream?.(new Error('upstream response too large to inspect'));
      this.host.answer(this.ctx, {
        problem: problem('bad-gateway', { detail: 'The upstream response is too large to pass on' }),
      });
      return false;
    }
    this.chunks!.push(chunk);
    return true;
  }

  onComplete(): void {
    const state = this.state;
    this.state = DONE;
    if (state === STREAMING) {
      // While an asynchronous response phase holds the head, its continuation ends the body.
      if (this.headPending) this.bodyEnded = true;
      else {
        this.res.end();
        this.report();
      }
      if (this.observe !== OBSERVE_NONE) {
        // The chunks themselves: the observer joins them only for a body it infers.
        const body = this.tapTruncated ? undefined : this.tap;
        this.tap = undefined;
        this.host.observed?.(this.ctx, this.upstreamStatus, this.resCtx!.headers, body, this.tapTruncated);
      }
      return;
    }
    if (state !== BUFFERING) return;
    const chunks = this.chunks!;
    this.chunks = undefined;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
    this.finishBuffered(body);
    if (this.observe !== OBSERVE_NONE) {
      const keep = this.observe === OBSERVE_BODIES && body.length <= OBSERVE_SAMPLE_BYTES;
      this.host.observed?.(
        this.ctx,
        this.upstreamStatus,
        this.resCtx!.headers,
        keep ? body : undefined,
        this.observe === OBSERVE_BODIES && !keep,
      );
    }
  }

  /** Learn mode: keeps a reference to a streamed chunk while the sample stays under the cap. */
  private copy(chunk: Buffer): void {
    if (this.tapTruncated) return;
    this.tapped += chunk.length;
    if (this.tapped > OBSERVE_SAMPLE_BYTES) {
      this.tapTruncated = true;
      this.tap!.length = 0;
      return;
    }
    this.tap!.push(chunk);
  }

  onError(err: Error): void {
    const state = this.state;
    this.state = DONE;
    if (state === DONE) return;
    const ctx = this.ctx;
    if (state === WAITING) {
      const code = (err as NodeJS.ErrnoException).code;
      const problemCode: ProblemCode =
        code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT'
          ? 'gateway-timeout'
          : code === 'ECONNREFUSED' || code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED'
            ? 'upstream-unavailable'
            : 'bad-gateway';
      this.host.log.warn(
        { requestId: ctx.id, api: this.api, code, msg: err.message },
        'upstream request failed',
      );
      this.host.emitEvent({
        type: 'upstream-error',
        at: this.host.clock.now(),
        requestId: ctx.id,
        api: this.api,
        reason: code ?? 'error',
      });
      if (this.observe !== OBSERVE_NONE) this.host.observedDown?.(ctx, `${code ?? 'error'}: ${err.message}`);
      this.host.answer(ctx, {
        problem: problem(problemCode, { detail: 'The upstream API did not answer' }),
      });
      return;
    }
    this.host.log.warn({ requestId: ctx.id, api: this.api, err: err.message }, 'upstream body failed');
    if (state === BUFFERING) this.cutShort();
    else if (this.headPending) this.upstreamFailed = true;
    // Part of the body is already on its way: the client must see a broken response, not a short one.
    else {
      this.res.destroy();
      this.report();
    }
  }

  /** The client went away (or the response finished): stop the upstream side. */
  clientClosed(): void {
    this.clientGone = true;
    if (this.state === DONE) return;
    if (this.state === STREAMING && !this.headPending) this.report();
    this.state = DONE;
    this.abortUpstream?.(new Error('client closed the connection'));
  }

  /** The request event of a streamed response, once. */
  private report(): void {
    if (this.reported) return;
    this.reported = true;
    this.host.completed(this.ctx, this.sent);
  }

  private cutShort(): void {
    this.host.answer(this.ctx, {
      problem: problem('bad-gateway', { detail: 'The upstream response was cut short' }),
    });
  }

  private finishBuffered(body: Buffer): void {
    const resCtx = this.resCtx!;
    const ctx = this.ctx;
    resCtx.body = body;
    if (resCtx.status >= 500) {
      // Every upstream 5xx body is replaced (an error page, a path, a version string…)
      // unless it is a problem+json the operation declares; that one passes bounded.
      const passed =
        isProblemJson(resCtx.headers['content-type']) &&
        declaresProblemJson(ctx.route?.operation, resCtx.status)
          ? boundedProblem(body)
          : undefined;
      if (passed === undefined) return this.replaceErrorBody(body);
      resCtx.body = passed;
    }
    const pending = this.chain.runResponse(ctx, resCtx, Number.MAX_SAFE_INTEGER);
    if (!pending) return this.host.write(ctx, resCtx, resCtx.body);
    pending.then(
      () => this.host.write(ctx, resCtx, resCtx.body),
      (err: unknown) => this.policyFailed(err),
    );
  }

  /** Logs the upstream's 5xx body (never sent) and answers a generic problem with its status. */
  private replaceErrorBody(body: Buffer): void {
    const resCtx = this.resCtx!;
    const ctx = this.ctx;
    const leaky = looksLikeLeak(body.toString('utf8', 0, 65536));
    this.host.log.warn(
      {
        requestId: ctx.id,
        api: this.api,
        status: resCtx.status,
        contentType: resCtx.headers['content-type'],
        upstreamBody: body.toString('utf8', 0, 4096),
      },
      'replaced an upstream error body',
    );
    this.host.emitEvent({
      type: 'upstream-error',
      at: this.host.clock.now(),
      requestId: ctx.id,
      api: this.api,
      status: resCtx.status,
      reason: leaky ? 'leaky-error-body' : 'error-body-replaced',
    });
    const retryAfter = resCtx.headers['retry-after'];
    this.host.answer(ctx, {
      problem: problem('upstream-error', {
        status: resCtx.status,
        detail: 'The upstream API failed; quote the request id when reporting it',
      }),
      ...(typeof retryAfter === 'string' && /^\d{1,10}$/.test(retryAfter)
        ? { headers: { 'retry-after': retryAfter } }
        : {}),
    });
  }

  private policyFailed(err: unknown): void {
    this.state = DONE;
    this.abortUpstream?.(new Error('response policy failed'));
    this.host.internalError(this.ctx, err);
  }
}

/**
 * Raw upstream header pairs to a lower-cased record, without the `drop` names (hop-by-hop
 * headers, headers policies remove) nor those the upstream's `Connection` header lists
 * (RFC 9110 §7.6.1). Repeated fields become arrays (Set-Cookie must stay separate lines).
 * Values are decoded as latin1 so every byte passes through unchanged; common names come
 * interned from undici's lookup table. A `__proto__` field is dropped, not assigned.
 */
export function parseRawHeaders(
  raw: Buffer[],
  drop: ReadonlySet<string> = NO_DROP,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = util.headerNameToString(raw[i]!);
    if (drop.has(name)) {
      if (name === 'connection') connection = raw[i + 1]!.toString('latin1');
      continue;
    }
    if (name === '__proto__') continue;
    const value = raw[i + 1]!.toString('latin1');
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (typeof prev === 'string') out[name] = [prev, value];
    else prev.push(value);
  }
  const listed = connectionListed(connection);
  if (listed) for (const t of listed) delete out[t];
  return out;
}

const NO_DROP: ReadonlySet<string> = new Set();
