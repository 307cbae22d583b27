import type { Denial, Policy, RequestContext, ResponseContext } from './policy.ts';
import { HOP_BY_HOP } from './upstream.ts';

/**
 * The ordered policy chain. Request phase: ascending priority (ties by name), the
 * first denial ends it. Response phase: descending priority, only for policies whose
 * request phase ran (or that come before the one that denied), so every policy that
 * saw the request sees its response (Envoy's decoder/encoder order).
 */
export class Chain {
  readonly policies: readonly Policy[];
  /** Index of the first policy at or after the routing step. */
  readonly routeIndex: number;
  readonly needsBody: boolean;
  readonly needsResponseBody: boolean;
  /** Upstream response headers never passed on: hop-by-hop ones and those policies drop. */
  readonly droppedResponseHeaders: ReadonlySet<string>;
  private readonly responders: readonly Policy[];
  /** Chain index of each responder, for the `ran` cut-off. */
  private readonly responderIndex: readonly number[];

  constructor(policies: readonly Policy[], routePriority: number) {
    const sorted = [...policies].sort(
      (a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    const names = new Set<string>();
    for (const p of sorted) {
      if (names.has(p.name)) throw new Error(`policy '${p.name}' is configured twice`);
      names.add(p.name);
    }
    this.policies = sorted;
    this.routeIndex = sorted.findIndex((p) => p.priority >= routePriority);
    if (this.routeIndex === -1) this.routeIndex = sorted.length;
    this.needsBody = sorted.some((p) => p.needsBody);
    this.needsResponseBody = sorted.some((p) => p.needsResponseBody);
    this.droppedResponseHeaders = new Set([
      ...HOP_BY_HOP,
      ...sorted.flatMap((p) => (p.dropResponseHeaders ?? []).map((h) => h.toLowerCase())),
    ]);
    this.responders = sorted.filter((p) => p.onResponse);
    this.responderIndex = this.responders.map((p) => sorted.indexOf(p));
  }

  /**
   * Runs request-phase policies [from, to). Returns the denial and how many ran.
   * Synchronous policies run without promise allocation; the first thenable switches
   * to the async path.
   */
  runRequest(ctx: RequestContext, from: number, to: number): RequestOutcome | Promise<RequestOutcome> {
    const list = this.policies;
    for (let i = from; i < to; i++) {
      const p = list[i]!;
      if (!p.onRequest) continue;
      const r = p.onRequest(ctx);
      if (r === undefined) continue;
      if (typeof (r as Promise<unknown>).then === 'function') {
        return (r as Promise<Denial | undefined | void>).then((d) =>
          d ? { denial: d, policy: p.name, ran: i + 1 } : this.runRequest(ctx, i + 1, to),
        );
      }
      return { denial: r as Denial, policy: p.name, ran: i + 1 };
    }
    return NO_DENIAL;
  }

  /** Runs the response phase in reverse priority for policies with index < ran. */
  runResponse(ctx: RequestContext, res: ResponseContext, ran: number): void | Promise<void> {
    return this.runResponseFrom(ctx, res, ran, this.responders.length - 1);
  }

  private runResponseFrom(
    ctx: RequestContext,
    res: ResponseContext,
    ran: number,
    start: number,
  ): void | Promise<void> {
    const list = this.responders;
    const idx = this.responderIndex;
    for (let i = start; i >= 0; i--) {
      if (idx[i]! >= ran) continue;
      const r = list[i]!.onResponse!(ctx, res);
      if (r && typeof r.then === 'function') return r.then(() => this.runResponseFrom(ctx, res, ran, i - 1));
    }
  }

  async close(): Promise<void> {
    for (const p of this.policies) await p.close?.();
  }
}

export interface RequestOutcome {
  denial: Denial | undefined;
  policy: string | undefined;
  /** Number of policies (by index) whose request phase ran. */
  ran: number;
}

const NO_DENIAL: RequestOutcome = { denial: undefined, policy: undefined, ran: Number.MAX_SAFE_INTEGER };
