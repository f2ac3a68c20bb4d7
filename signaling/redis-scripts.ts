/**
 * The Lua scripts that keep a shared room's membership in Redis. Each runs atomically, so two
 * instances admitting the last seat of a room, or sweeping the same expired member, never both win.
 * Time comes from Redis (`TIME`), never from an instance's clock: instances need not agree on time.
 *
 * A room is two keys: `members` (a hash: peer id → holder) and `expiry` (a sorted set: peer id →
 * the time its presence lapses, in ms). A holder is `<instance> <session> <publicKey>`: the instance
 * that holds the peer's socket, which socket (a reconnection gets a new one), and the peer's key for
 * the welcomes others receive. Both keys expire by themselves when no instance refreshes them.
 *
 * Every script first sweeps the room's lapsed members and returns their ids: whoever removed a member
 * announces its leave, so each lapse is announced exactly once.
 */

/** Shared by the scripts: the time now in ms, and the sweep of lapsed members (returns their ids). */
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function sweep(members, expiry, now)
  local lapsed = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(lapsed) do
    redis.call('HDEL', members, id)
    redis.call('ZREM', expiry, id)
  end
  return lapsed
end
local function instances_of(members)
  local seen, list = {}, {}
  for _, holder in ipairs(redis.call('HVALS', members)) do
    local instance = string.match(holder, '^(%S+)')
    if instance and not seen[instance] then
      seen[instance] = true
      list[#list + 1] = instance
    end
  end
  return list
end
local function touch(members, expiry, ttl)
  redis.call('PEXPIRE', members, ttl * 2)
  redis.call('PEXPIRE', expiry, ttl * 2)
end
`

/**
 * Joins a peer. KEYS: members, expiry. ARGV: id, holder, limit, ttlMs, listing ('full' | 'scamp').
 * Returns { status ('joined' | 'replaced' | 'full'), previous holder or '', lapsed ids, listing,
 * instances }: for 'full' the listing is every other member's holder and id, flattened; for 'scamp',
 * at most one random other member. Instances: every instance holding a member, to tell of the join.
 */
export const JOIN_SCRIPT = `${PRELUDE}
local members, expiry = KEYS[1], KEYS[2]
local id, holder, limit, ttl, listing = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local now = now_ms()
local lapsed = sweep(members, expiry, now)
local previous = redis.call('HGET', members, id)
if not previous and redis.call('HLEN', members) >= limit then
  return { 'full', '', lapsed, {}, {} }
end
local instances = instances_of(members)
redis.call('HSET', members, id, holder)
redis.call('ZADD', expiry, now + ttl, id)
touch(members, expiry, ttl)
local list = {}
if listing == 'full' then
  local all = redis.call('HGETALL', members)
  for i = 1, #all, 2 do
    if all[i] ~= id then
      list[#list + 1] = all[i]
      list[#list + 1] = all[i + 1]
    end
  end
else
  local picks = redis.call('HRANDFIELD', members, 2, 'WITHVALUES')
  for i = 1, #picks, 2 do
    if picks[i] ~= id and #list == 0 then
      list[1] = picks[i]
      list[2] = picks[i + 1]
    end
  end
end
return { previous and 'replaced' or 'joined', previous or '', lapsed, list, instances }
`

/**
 * Leaves, if the peer is still held by this holder (a reconnection elsewhere took it over otherwise).
 * KEYS: members, expiry. ARGV: id, holder. Returns { removed (0 | 1), instances still in the room }.
 */
export const LEAVE_SCRIPT = `${PRELUDE}
local members, expiry = KEYS[1], KEYS[2]
local id, holder = ARGV[1], ARGV[2]
if redis.call('HGET', members, id) ~= holder then return { 0, {} } end
redis.call('HDEL', members, id)
redis.call('ZREM', expiry, id)
return { 1, instances_of(members) }
`

/**
 * The heartbeat of one room on one instance: refreshes the presence of the peers it holds, sweeps
 * lapsed members. KEYS: members, expiry. ARGV: ttlMs, then id and holder pairs. Returns { lapsed ids,
 * instances in the room (when some lapsed), ids another socket took over, ids no longer in the room
 * (their presence lapsed, e.g. while Redis was out of reach) }.
 */
export const HEARTBEAT_SCRIPT = `${PRELUDE}
local members, expiry = KEYS[1], KEYS[2]
local ttl = tonumber(ARGV[1])
local now = now_ms()
local lapsed = sweep(members, expiry, now)
local taken, gone = {}, {}
for i = 2, #ARGV, 2 do
  local id, holder = ARGV[i], ARGV[i + 1]
  local current = redis.call('HGET', members, id)
  if current == holder then
    redis.call('ZADD', expiry, now + ttl, id)
  elseif current then
    taken[#taken + 1] = id
  else
    gone[#gone + 1] = id
  end
end
touch(members, expiry, ttl)
local instances = {}
if #lapsed > 0 then instances = instances_of(members) end
return { lapsed, instances, taken, gone }
`

/**
 * Relays a message to the instance holding a peer. KEYS: members. ARGV: id, channel prefix, message.
 * Returns how many instances received it: 0 when the peer is not in the room (or its instance is gone).
 */
export const RELAY_SCRIPT = `
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if not holder then return 0 end
local instance = string.match(holder, '^(%S+)')
if not instance then return 0 end
return redis.call('PUBLISH', ARGV[2] .. instance, ARGV[3])
`

/**
 * A random member other than `id`. KEYS: members. ARGV: id. Returns { id, holder } or an empty list.
 */
export const CONTACT_SCRIPT = `
local picks = redis.call('HRANDFIELD', KEYS[1], 2, 'WITHVALUES')
for i = 1, #picks, 2 do
  if picks[i] ~= ARGV[1] then return { picks[i], picks[i + 1] } end
end
return {}
`

/**
 * Takes up to `want` tokens from a token bucket shared by every instance (a client address's budget
 * of messages or of bytes). KEYS: bucket. ARGV: capacity, refill per second, want. Returns the tokens
 * granted (0..want). The bucket expires once it would be full again anyway.
 */
export const TAKE_TOKENS_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity, rate, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
if now > at then tokens = math.min(capacity, tokens + (now - at) * rate / 1000) end
local granted = math.max(0, math.min(want, math.floor(tokens)))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return granted
`
