#!lua
-- One batch appended to the journal, atomic. Without flags the server refuses the whole
-- script while it is out of memory, so a batch is never half-written.
-- KEYS: pending ids (sorted set, score = member = update id), items (hash: id -> 8 bytes of
-- routing key, then the raw update), meta (hash: b = bytes of the items), finished ids, the
-- polling lease (lease.lua), then for each update of the batch its key's pending ids
-- (commit.lua refuses a later update of the key while an earlier one is there).
-- ARGV: cap (items), max bytes, the lease's holder and token ('' for an append not fenced
-- by it), then pairs of update id and item.
-- A write script that reads TIME: fine since Redis 5, which replicates effects.
-- Returns {added, pending after, bytes after}; {-1, pending, bytes, would add, its bytes}
-- when the batch does not fit; {-2, the lease's token} when the fencing token is no longer
-- the lease's (another poller acquired it, or it was released): then nothing was written.
local ids, items, meta, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cap, maxb = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[4] ~= '' then
  -- Fencing: a poller that lost the lease (paused, partitioned) journals nothing, so it
  -- can confirm no offset either.
  local l = redis.call('HMGET', KEYS[5], 'h', 't')
  if l[1] ~= ARGV[3] or l[2] ~= ARGV[4] then
    return {-2, tonumber(l[2] or '0')}
  end
end
-- A finished id is remembered for a week at most (its score is when it finished): Telegram
-- keeps an update for a day, and after a week without updates numbers them afresh, at
-- random, so an id remembered longer could be taken for a new update's.
redis.call('ZREMRANGEBYSCORE', done, '-inf', '(' .. (tonumber(redis.call('TIME')[1]) - 7 * 24 * 3600))
local n = redis.call('ZCARD', ids)
local b = tonumber(redis.call('HGET', meta, 'b') or '0')
local add, seen = {}, {}
local addb = 0
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  if not seen[id] and not redis.call('ZSCORE', ids, id) and not redis.call('ZSCORE', done, id) then
    seen[id] = true
    add[#add + 1] = i
    addb = addb + #ARGV[i + 1]
  end
end
if #add == 0 then
  return {0, n, b}
end
if n + #add > cap or b + addb > maxb then
  return {-1, n, b, #add, addb}
end
for _, i in ipairs(add) do
  redis.call('ZADD', ids, ARGV[i], ARGV[i])
  redis.call('HSET', items, ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[5 + (i - 3) / 2], ARGV[i], ARGV[i])
end
return {#add, n + #add, redis.call('HINCRBY', meta, 'b', addb)}
