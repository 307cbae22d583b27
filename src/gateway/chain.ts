import { ProblemError } from '../core/errors.ts';
import type {
  Denial,
  Policy,
  RequestContext,
  RequestHook,
  ResponseContext,
  ResponseHook,
  RouteInfo,
} from './policy.ts';
import { ROUTING_PRIORITY } from './priorities.ts';
import { HOP_BY_HOP } from './upstream.ts';

/** One policy's hooks in one chain: the global ones, or those `forRoute` compiled for an operation. */
export interface ChainEntry {
  readonly name: string;
  readonly priority: number;
  readonly onRequest: RequestHook | undefined;
  readonly onResponse: ResponseHook | undefined;
}

/**
 * An ordered policy chain. Request phase: ascending priority (ties by name), the first
 * denial ends it. Response phase: descending priority, only for entries whose request
 * phase ran (or that come before the one that denied), so every policy that saw the
 * request sees its response (Envoy's decoder/encoder order).
 *
 * The runtime builds one chain of the pre-routing policies (for requests that match no
 * operation) and one per operation: the same pre-routing entries, then the routed
 * policies whose `forRoute` returned hooks for it, with that operation's settings.
 */
export class Chain {
  readonly entries: readonly ChainEntry[];
  /** Index of the first entry at or after the routing step. */
  readonly routeIndex: number;
  /** Buffer the upstream response body before the response phase (some entry asked for it). */
  readonly needsResponseBody: boolean;
  private readonly responders: readonly ChainEntry[];
  /** Chain index of each responder, for the `ran` cut-off. */
  private readonly responderIndex: readonly number[];

  constructor(entries: readonly ChainEntry[], needsResponseBody = false) {
    const sorted = [...entries].sort(
      (a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    this.entries = sorted;
    const idx = sorted.findIndex((p) => p.priority >= ROUTING_PRIORITY);
    this.routeIndex = idx === -1 ? sorted.length : idx;
    this.needsResponseBody = needsResponseBody;
    this.responders = sorted.filter((p) => p.onResponse);
    this.responderIndex = this.responders.map((p) => sorted.indexOf(p));
  }

  get length(): number {
    return this.entries.length;
  }

  /**
   * Runs request-phase entries [from, to). Returns the denial and how many ran.
   * Synchronous hooks run without promise allocation; the first thenable switches
   * to the async path.
   */
  runRequest(ctx: RequestContext, from: number, to: number): RequestOutcome | Promise<RequestOutcome> {
    const list = this.entries;
    for (let i = from; i < to; i++) {
      const p = list[i]!;
      if (!p.onRequest) continue;
      let r;
      try {
        r = p.onRequest(ctx);
      } catch (err) {
        return thrown(err, p.name, i + 1);
      }
      if (r === undefined) continue;
      if (typeof (r as Promise<unknown>).then === 'function') {
        return (r as Promise<Denial | undefined | void>).then(
          (d) => (d ? { denial: d, policy: p.name, ran: i + 1 } : this.runRequest(ctx, i + 1, to)),
          (err: unknown) => thrown(err, p.name, i + 1),
        );
      }
      return { denial: r as Denial, policy: p.name, ran: i + 1 };
    }
    return NO_DENIAL;
  }

  /** Runs the response phase in reverse priority for entries with index < ran. */
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
}

export interface RequestOutcome {
  denial: Denial | undefined;
  policy: string | undefined;
  /** Number of entries (by index) whose request phase ran. */
  ran: number;
}

/** A hook's `ProblemError` (e.g. `invalid-json` from `ctx.json()`) is its denial; anything else is a failure. */
function thrown(err: unknown, policy: string, ran: number): RequestOutcome {
  if (!(err instanceof ProblemError)) throw err;
  const denial: Denial =
    Object.keys(err.headers).length > 0
      ? { problem: err.problem, headers: err.headers }
      : { problem: err.problem };
  return { denial, policy, ran };
}

const NO_DENIAL: RequestOutcome = { denial: undefined, policy: undefined, ran: Number.MAX_SAFE_INTEGER };

/**
 * The built policies, compiled: the pre-routing chain, and `forRoute` for each operation.
 * Built once per runtime; refuses a policy configured twice and a pre-routing policy
 * with per-route hooks (routing has not happened when it runs).
 */
export class ChainCompiler {
  /** The chain of requests that match no operation (pre-routing policies only). */
  readonly global: Chain;
  /** Upstream response headers never passed on: hop-by-hop ones and those policies drop. */
  readonly droppedResponseHeaders: ReadonlySet<string>;
  private readonly pre: ChainEntry[] = [];
  private readonly routed: Policy[] = [];

  constructor(readonly policies: readonly Policy[]) {
    const names = new Set<string>();
    for (const p of policies) {
      if (names.has(p.name)) throw new Error(`policy '${p.name}' is configured twice`);
      names.add(p.name);
      if (p.priority < ROUTING_PRIORITY) {
        if (p.hooks.forRoute)
          throw new Error(
            `policy '${p.name}' (priority ${p.priority}) runs before routing and cannot have forRoute`,
          );
        if (p.hooks.onRequest || p.hooks.onResponse) this.pre.push(entry(p, p.hooks));
      } else this.routed.push(p);
    }
    this.global = new Chain(this.pre);
    this.droppedResponseHeaders = new Set([
      ...HOP_BY_HOP,
      ...policies.flatMap((p) => (p.hooks.dropResponseHeaders ?? []).map((h) => h.toLowerCase())),
    ]);
  }

  /** The chain of one operation: pre-routing entries, then every routed policy that applies. */
  forRoute(route: RouteInfo): Chain {
    const entries = [...this.pre];
    let needsResponseBody = false;
    for (const p of this.routed) {
      const h = p.hooks;
      // A routed policy without forRoute applies its global hooks to every operation.
      const hooks = h.forRoute ? h.forRoute(route) : h.onRequest || h.onResponse ? h : undefined;
      if (!hooks || (!hooks.onRequest && !hooks.onResponse)) continue;
      entries.push(entry(p, hooks));
      if ('needsResponseBody' in hooks && hooks.needsResponseBody) needsResponseBody = true;
    }
    return new Chain(entries, needsResponseBody);
  }

  async close(): Promise<void> {
    for (const p of this.policies) await p.hooks.close?.();
  }
}

function entry(p: Policy, hooks: { onRequest?: RequestHook; onResponse?: ResponseHook }): ChainEntry {
  return { name: p.name, priority: p.priority, onRequest: hooks.onRequest, onResponse: hooks.onResponse };
}
