/**
 * `brute-force` (priority 380, before authentication): failed attempts on credential
 * endpoints (`x-rampart.bruteForce` on a login, OTP or password-reset operation) are counted
 * per account and per client address in the counter store, shared by every node. After
 * `limit` failures within the window the key is locked: 429 problem+json with Retry-After and
 * a lockout notice — checked before the upstream sees the attempt, so the right password
 * does not help during a lock. Lockouts in a row back off exponentially (the lockout, then
 * twice as long, … up to `maxLockout`). A success clears the account's failures (never the
 * address's). Unknown usernames are counted like known ones, so the lock is no oracle.
 * Fails closed by default: when Redis is away, attempts are refused rather than uncounted.
 */
import { Type } from '@sinclair/typebox';
import type { FailureSpec, FailureState, MaybePromise } from '../../../core/counters.ts';
import { problem } from '../../../core/errors.ts';
import { definePolicy, deny, type PolicyResult, type RequestContext, type RouteInfo } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { retrySeconds } from '../rate-limit/headers.ts';
import { compileKey, ipv6PrefixSchema, uniqueId, type KeyFn } from '../rate-limit/keys.ts';
import { perList, windowSeconds } from '../rate-limit/limits.ts';
import { bruteForceXRampart, type BruteForceValue } from './x-rampart.ts';

interface Attempt {
  specs: FailureSpec[];
  /** Which specs a success resets (account keys, not the address). */
  resettable: boolean[];
}
declare module '../../policy.ts' {
  interface PolicyState {
    'brute-force': Attempt;
  }
}

const schema = Type.Object(
  {
    perIp: Type.Union(
      [
        Type.Object(
          {
            limit: Type.Integer({ minimum: 1, description: 'Failures per client address per window.' }),
            window: Type.Integer({ minimum: 1, description: 'Seconds.' }),
          },
          { additionalProperties: false },
        ),
        Type.Literal(false),
      ],
      {
        description:
          'Also count every bruteForce operation per client address (password spraying across accounts); false = only what the operation declares.',
        default: { limit: 50, window: 900 },
      },
    ),
    backoff: Type.Boolean({
      description:
        'Lockouts in a row double (lockout, 2×, 4× … up to maxLockout); false = a lock lasts until the oldest failure leaves the window.',
      default: true,
    }),
    maxLockout: Type.Integer({ minimum: 1, description: 'Longest lockout in seconds.', default: 86_400 }),
    failureStatus: Type.Array(Type.Integer({ minimum: 400, maximum: 599 }), {
      description: 'Upstream statuses that count as a failed attempt.',
      default: [401, 403],
    }),
    ipv6Prefix: ipv6PrefixSchema,
  },
  { additionalProperties: false },
);

export const bruteForce = definePolicy({
  name: 'brute-force',
  priority: PRIORITIES['brute-force'],
  schema,
  xRampart: bruteForceXRampart,
  create(options, services) {
    const counters = services.counters;
    const failure = new Set(options.failureStatus);
    return {
      forRoute(route: RouteInfo) {
        const declared = route.rampart.bruteForce as BruteForceValue | undefined;
        if (declared === undefined) return undefined;
        const list = Array.isArray(declared) ? declared : [declared];
        const opId =
          `${route.api}${route.base} ${route.operation.method.toUpperCase()} ${route.template}`.replace(
            /[{}]/g,
            '',
          );
        const limits: { key: KeyFn; limit: number; windowMs: number; name: string; account: boolean }[] =
          list.map((b, i) => ({
            key: compileKey(b.per, route, options.ipv6Prefix),
            limit: b.limit,
            windowMs: windowSeconds(b.window) * 1000,
            name: `${i}:${perList(b.per).join('+')}`,
            account: !perList(b.per).every((s) => s === 'ip'),
          }));
        if (options.perIp && !limits.some((l) => !l.account))
          limits.push({
            key: compileKey('ip', route, options.ipv6Prefix),
            limit: options.perIp.limit,
            windowMs: options.perIp.window * 1000,
            name: 'ip',
            account: false,
          });
        const specsFor = (ctx: RequestContext): FailureSpec[] =>
          limits.map((l) => ({
            key: `bf:${opId}:${l.name}:{${l.key(ctx)}}`,
            limit: l.limit,
            windowMs: l.windowMs,
            failMode: 'closed',
            ...(options.backoff ? { backoff: { baseMs: l.windowMs, maxMs: options.maxLockout * 1000 } } : {}),
          }));

        const verdict = (ctx: RequestContext, specs: FailureSpec[], states: FailureState[]): PolicyResult => {
          let worst = -1;
          states.forEach((s, i) => {
            if (s.lockedMs > 0 && (worst < 0 || s.lockedMs > states[worst]!.lockedMs)) worst = i;
          });
          if (worst < 0) {
            ctx.state['brute-force'] = { specs, resettable: limits.map((l) => l.account) };
            return undefined;
          }
          const s = states[worst]!;
          const wait = retrySeconds(s.lockedMs);
          if (s.degraded === 'closed')
            return deny(
              problem('limits-unavailable', {
                detail: 'The shared attempt counters are unreachable; sign-in attempts are refused for now',
              }),
              { 'Retry-After': String(wait) },
            );
          const l = limits[worst]!;
          return deny(
            problem('too-many-requests', {
              detail: `Too many failed attempts${l.account ? ' for this account' : ' from this address'}: locked for ${wait} s${s.lockouts > 1 ? ` (lockout ${s.lockouts} in a row; each one lasts twice as long)` : ''}`,
              limit: 'brute-force',
              locked_until: new Date(ctx.clock.now() + wait * 1000).toISOString(),
              retry_after: wait,
            }),
            { 'Retry-After': String(wait) },
          );
        };

        return {
          onRequest(ctx): PolicyResult | Promise<PolicyResult> {
            const specs = specsFor(ctx);
            const states: MaybePromise<FailureState>[] = specs.map((s) => counters.failureState(s));
            if (states.some((s) => s instanceof Promise))
              return Promise.all(states).then((all) => verdict(ctx, specs, all));
            return verdict(ctx, specs, states as FailureState[]);
          },
          onResponse(ctx, res): void | Promise<void> {
            const a = ctx.state['brute-force'];
            if (!a || res.local) return;
            // Awaited: the next attempt of this client sees this failure (the response waits for it).
            const pending: Promise<unknown>[] = [];
            if (failure.has(res.status)) {
              for (const s of a.specs) {
                const r = counters.fail(s, uniqueId());
                if (r instanceof Promise) pending.push(r);
              }
            } else if (res.status >= 200 && res.status < 300) {
              a.specs.forEach((s, i) => {
                if (!a.resettable[i]) return;
                const r = counters.resetFailures(s.key);
                if (r instanceof Promise) pending.push(r);
              });
            }
            if (pending.length)
              return Promise.all(pending).then(
                () => undefined,
                () => undefined,
              );
          },
        };
      },
    };
  },
});
