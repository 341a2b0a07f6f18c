/**
 * The Lua scripts of fleet sync, one per step, each touching the keys of one agent only (they
 * share the hash tag `{agent}`, so each script runs on one Redis Cluster slot). Every script
 * reads the time from the Redis server (`TIME`): instance clocks never matter.
 *
 * An agent's keys, under the prefix: `{agent}:state` (a hash: state, gen, until, origin),
 * `{agent}:gen` (the generation counter, kept without expiry so it never goes back) and
 * `{agent}:lease:0..n-1` (the probe leases of the current recovery window).
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Publishes a trip. KEYS: state, gen, leases...; ARGV: origin, openMs, channel, publish command,
 * keepMs, agent, session (the publishing process's nonce, so it can tell its own events). Unless the agent is already open fleet-wide with time left (a re-trip never
 * extends an open), writes the hash, bumps the generation, voids the leases and publishes.
 * Returns {1 if written, generation, remainingMs, origin}.
 */
export const TRIP = `${NOW}
local cur = redis.call('HMGET', KEYS[1], 'state', 'gen', 'until', 'origin')
if cur[1] == 'open' and tonumber(cur[3]) > now then
  return {0, tonumber(cur[2]), tonumber(cur[3]) - now, cur[4]}
end
local gen = redis.call('INCR', KEYS[2])
local openMs = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'state', 'open', 'gen', gen, 'until', now + openMs, 'origin', ARGV[1])
redis.call('PEXPIRE', KEYS[1], openMs + tonumber(ARGV[5]))
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call(ARGV[4], ARGV[3], cjson.encode({agent = ARGV[6], kind = 'open', gen = gen, remainingMs = openMs, origin = ARGV[1], session = ARGV[7]}))
return {1, gen, openMs, ARGV[1]}`;

/**
 * Publishes a close. KEYS: state, gen, leases...; ARGV: origin, expected generation ('' for any:
 * an operator's reset), channel, publish command, keepMs, agent, session. Closes only an open of that
 * generation, so a late close cannot undo a newer open. Returns {1 if written, generation}.
 */
export const CLOSE = `local cur = redis.call('HMGET', KEYS[1], 'state', 'gen')
if cur[1] ~= 'open' or (ARGV[2] ~= '' and cur[2] ~= ARGV[2]) then
  return {0, tonumber(cur[2]) or 0}
end
local gen = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'state', 'closed', 'gen', gen, 'until', 0, 'origin', ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call(ARGV[4], ARGV[3], cjson.encode({agent = ARGV[6], kind = 'close', gen = gen, remainingMs = 0, origin = ARGV[1], session = ARGV[7]}))
return {1, gen}`;

/**
 * Takes or renews the probe leases of a recovery window, all or none. KEYS: state, leases...;
 * ARGV: holder, generation, ttlMs, leadMs. Returns {-1, state} when no open of that generation
 * exists, {0, holder} while another instance holds them (or the open has more than leadMs
 * left), {n, holder} when this holder now has all n for ttlMs.
 */
export const LEASE = `local cur = redis.call('HMGET', KEYS[1], 'state', 'gen', 'until')
if cur[1] ~= 'open' or cur[2] ~= ARGV[2] then return {-1, cur[1] or ''} end
${NOW}
if now < tonumber(cur[3]) - tonumber(ARGV[4]) then return {0, ''} end
for i = 2, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v and v ~= ARGV[1] then return {0, v} end
end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[1], 'PX', tonumber(ARGV[3])) end
return {#KEYS - 1, ARGV[1]}`;

/**
 * Gives leases back if this holder still has them (compare and delete). KEYS: leases...;
 * ARGV: holder. Returns how many it deleted.
 */
export const RELEASE = `local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then n = n + redis.call('DEL', KEYS[i]) end
end
return n`;

/**
 * The reconcile loop's read: the fleet's instances and agents in one round trip. KEYS: the
 * instances set (if ARGV[3] is '1'), then per agent its state hash, generation counter and first
 * lease key; ARGV:
 * this instance, staleMs, '1'|'0'. Marks this instance seen and returns {instances seen, then
 * per agent: state, generation, remainingMs, origin, lease holder}.
 */
export const SYNC = `${NOW}
local out = {0}
local first = 1
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  out[1] = redis.call('ZCARD', KEYS[1])
  first = 2
end
for i = first, #KEYS, 3 do
  local cur = redis.call('HMGET', KEYS[i], 'state', 'until', 'origin')
  local remaining = 0
  if cur[1] == 'open' then remaining = math.max(0, tonumber(cur[2]) - now) end
  table.insert(out, cur[1] or '')
  table.insert(out, tonumber(redis.call('GET', KEYS[i + 1])) or 0) -- the counter: it outlives the hash
  table.insert(out, remaining)
  table.insert(out, cur[3] or '')
  table.insert(out, redis.call('GET', KEYS[i + 2]) or '')
end
return out`;
