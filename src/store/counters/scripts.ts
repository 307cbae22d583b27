/**
 * The Lua scripts of the Redis counter store: one script per decision, so a decision is
 * atomic across every gateway node. Each reads the server's clock (`TIME`, allowed in
 * scripts since Redis 5 replicates script effects), never the node's, so skewed node
 * clocks cannot open extra capacity. Times are milliseconds (with a fraction); every key
 * written gets an expiry. The arithmetic mirrors `gcra()` in src/core/counters.ts and the
 * memory store, and the store tests run the same cases against both.
 */

const NOW = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
`;

/**
 * GCRA decisions, several per call: the Redis store batches the decisions issued in the same
 * event-loop turn into one script call (one round trip, one script invocation and one `TIME`
 * for all of them). Each decision is still all-or-nothing over its own limits, and decisions
 * run one after another inside the script, so a batch decides exactly what the same decisions
 * sent one by one would. KEYS: every decision's limit keys, in order. ARGV: the number of
 * decisions, then per decision: n (its limits), cost, mode (consume|peek|force), then per
 * limit: emission interval T, tolerance tau. Returns per decision per limit: allowed (0/1),
 * remaining, resetMs, retryMs.
 */
export const GCRA = `${NOW}
local decisions = tonumber(ARGV[1])
-- Every key read once, in chunks of MGET (not one GET per limit); a later decision of the
-- batch on the same key sees what an earlier one wrote (tats).
local stored = {}
for from = 1, #KEYS, 1000 do
  local part = redis.call('MGET', unpack(KEYS, from, math.min(from + 999, #KEYS)))
  for j = 1, #part do stored[from + j - 1] = part[j] end
end
local tats = {}
local a = 2
local k = 0
local out = {}
local o = 0
local Ts, taus, bases, chargeds, allowAts, oks = {}, {}, {}, {}, {}, {}
for _ = 1, decisions do
  local n = tonumber(ARGV[a])
  local cost = tonumber(ARGV[a + 1])
  local mode = ARGV[a + 2]
  a = a + 3
  local force = mode == 'force'
  local all = true
  for i = 1, n do
    local T = tonumber(ARGV[a])
    local tau = tonumber(ARGV[a + 1])
    a = a + 2
    local tat = tats[KEYS[k + i]]
    if tat == nil then tat = tonumber(stored[k + i] or '0') or 0 end
    local base = math.max(tat, now)
    local charged = base + cost * T
    local allowAt = charged - tau
    local ok = force or allowAt <= now + 0.000001
    if not ok then all = false end
    Ts[i], taus[i], bases[i], chargeds[i], allowAts[i], oks[i] = T, tau, base, charged, allowAt, ok
  end
  local write = force or (mode == 'consume' and all)
  for i = 1, n do
    local T, tau, charged, ok = Ts[i], taus[i], chargeds[i], oks[i]
    local newTat = bases[i]
    if ok and write then
      newTat = charged
      local v = string.format('%.3f', charged)
      tats[KEYS[k + i]] = tonumber(v)
      if charged > now then
        redis.call('SET', KEYS[k + i], v, 'PX', math.ceil(charged - now) + 1)
      end
    end
    local retry = 0
    if not ok then retry = math.ceil(allowAts[i] - now) end
    out[o + 1] = ok and 1 or 0
    out[o + 2] = math.max(0, math.floor((tau - (newTat - now)) / T + 0.000000001))
    out[o + 3] = math.max(0, math.ceil(newTat - now))
    out[o + 4] = retry
    o = o + 4
  end
  k = k + n
end
return out
`;

/**
 * Sliding-window log (a sorted set scored by time). KEYS[1]. ARGV: windowMs, limit, op
 * (reserve|add|peek), id. Returns allowed, count, retryMs, resetMs.
 */
export const WINDOW = `${NOW}
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local op = ARGV[3]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - w)
local count = redis.call('ZCARD', KEYS[1])
local allowed = count < limit
if op == 'add' or (op == 'reserve' and allowed) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  count = count + 1
  if count > limit then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - limit - 1)
    count = limit
  end
  allowed = true
  redis.call('PEXPIRE', KEYS[1], math.ceil(w) + 1)
end
local retry = 0
if count >= limit then
  local e = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  retry = math.max(0, math.ceil(tonumber(e[2]) + w - now))
end
local reset = 0
if count > 0 then
  local e = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  reset = math.max(0, math.ceil(tonumber(e[2]) + w - now))
end
return { allowed and 1 or 0, count, retry, reset }
`;

/**
 * Failures with lockout. KEYS[1] the failure log (sorted set), KEYS[2] the back-off state
 * (hash: n = lockouts in a row, u = locked until). ARGV: op (state|fail), windowMs, limit,
 * backoff base ms (0 = none), backoff max ms, id. Returns lockedMs, failures, lockouts.
 */
export const FAILURES = `${NOW}
local op = ARGV[1]
local w = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local base = tonumber(ARGV[4])
local max = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - w)
local lockouts = tonumber(redis.call('HGET', KEYS[2], 'n') or '0') or 0
local lockedUntil = tonumber(redis.call('HGET', KEYS[2], 'u') or '0') or 0
if op == 'fail' then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  local count = redis.call('ZCARD', KEYS[1])
  if count > limit then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - limit - 1) end
  redis.call('PEXPIRE', KEYS[1], math.ceil(w) + 1)
  if base > 0 and count >= limit then
    lockouts = lockouts + 1
    local lock = math.min(max, base * 2 ^ (lockouts - 1))
    lockedUntil = now + lock
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[2], 'n', lockouts, 'u', string.format('%.3f', lockedUntil))
    redis.call('PEXPIRE', KEYS[2], math.ceil(lock + max) + 1)
  end
end
local count = redis.call('ZCARD', KEYS[1])
local locked = math.max(0, lockedUntil - now)
if base == 0 and count >= limit then
  local e = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  locked = math.max(locked, tonumber(e[2]) + w - now)
end
return { math.ceil(locked), count, lockouts }
`;

/** In-flight leases (sorted set scored by expiry). KEYS[1]. ARGV: limit, ttlMs, id. Returns allowed, inFlight. */
export const ACQUIRE = `${NOW}
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(ttl) + 1)
  return { 1, count + 1 }
end
return { 0, count }
`;

/**
 * Merges a node-local log (kept while Redis was unreachable) into the shared one. KEYS[1].
 * ARGV: windowMs, limit, then (id, ageMs) pairs; entries are scored at `now − age` so they
 * leave the window when they would have. The log keeps its newest `limit` entries. Returns
 * the count.
 */
export const MERGE_LOG = `${NOW}
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local age = tonumber(ARGV[i + 1])
  if age < w then redis.call('ZADD', KEYS[1], 'NX', now - age, ARGV[i]) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - w)
local count = redis.call('ZCARD', KEYS[1])
if count > limit then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - limit - 1)
  count = limit
end
if count > 0 then redis.call('PEXPIRE', KEYS[1], math.ceil(w) + 1) end
return count
`;

/**
 * Merges a node-local lockout into the shared back-off state. KEYS[1] the state hash.
 * ARGV: lockouts, lockedMs, maxMs. The shared state keeps the higher level and the later
 * end. Returns the lockouts.
 */
export const MERGE_LOCK = `${NOW}
local n = tonumber(ARGV[1])
local locked = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local have = tonumber(redis.call('HGET', KEYS[1], 'n') or '0') or 0
local untilNow = tonumber(redis.call('HGET', KEYS[1], 'u') or '0') or 0
local u = math.max(untilNow, now + locked)
n = math.max(n, have)
redis.call('HSET', KEYS[1], 'n', n, 'u', string.format('%.3f', u))
redis.call('PEXPIRE', KEYS[1], math.ceil(u - now + max) + 1)
return n
`;
