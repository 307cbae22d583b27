/**
 * Opening the counter store `counters:` in rampart.yaml names: in-memory (one node, the
 * default) or Redis (several nodes), the latter wrapped with a node-local fallback.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { Clock } from '../../core/clock.ts';
import type { CounterStore } from '../../core/counters.ts';
import { FailoverCounterStore } from './failover.ts';
import { MemoryCounterStore } from './memory.ts';
import { RedisCounterStore } from './redis.ts';

export { MemoryCounterStore, BoundedMap } from './memory.ts';
export { RedisCounterStore, hashTag } from './redis.ts';
export { FailoverCounterStore, CLOSED_RETRY_MS } from './failover.ts';

export const countersConfigSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        pattern: '^rediss?://',
        description:
          'Redis shared by every gateway node (redis://[user:password@]host:6379[/db], rediss:// for TLS). Omit for in-memory counters (one node).',
      }),
    ),
    cluster: Type.Optional(
      Type.Array(Type.String({ pattern: '^redis://' }), {
        minItems: 1,
        description: 'Redis Cluster seed nodes instead of url (keys carry hash tags per consumer).',
      }),
    ),
    prefix: Type.String({ description: 'Prefix of every Redis key.', default: 'rampart:' }),
    commandTimeoutMs: Type.Integer({
      minimum: 10,
      description: 'A Redis decision slower than this falls back to the fail mode of its limit.',
      default: 500,
    }),
    maxKeys: Type.Integer({
      minimum: 1000,
      description:
        'Most counters the in-memory store (and the local fallback) keeps; the least recently written go first.',
      default: 500_000,
    }),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'Where rate-limit, quota, flow and brute-force counters live (docs/rate-limits.md). Bound at start: a reload never resets a counter.',
  },
);

export type CountersConfig = Static<typeof countersConfigSchema>;

export interface OpenCountersOptions {
  clock: Clock;
  /** Called when a shared store goes down or comes back. */
  onStatus?: (state: 'up' | 'down', detail: string) => void;
}

export function openCounterStore(config: CountersConfig, opts: OpenCountersOptions): CounterStore {
  const local = new MemoryCounterStore({ clock: opts.clock, maxKeys: config.maxKeys });
  if (!config.url && !config.cluster) return local;
  const shared = new RedisCounterStore({
    ...(config.url ? { url: config.url } : {}),
    ...(config.cluster ? { cluster: config.cluster } : {}),
    prefix: config.prefix,
    commandTimeoutMs: config.commandTimeoutMs,
    ...(opts.onStatus ? { onStatus: opts.onStatus } : {}),
  });
  return new FailoverCounterStore(shared, local);
}
