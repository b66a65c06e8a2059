#!lua flags=no-writes
-- Reads of the journal at one instant; a no-writes script runs while the server is out of
-- memory too. KEYS: pending ids, items, meta, finished ids (as in journal_append.lua).
-- ARGV[1] == 'stats': returns {pending, bytes, finished remembered}.
-- ARGV[1] == 'page', ARGV[2] = after, ARGV[3] = n: up to n pending items with an id above
-- after, in id order, as id, item, id, item... (an item lost from the hash reads false).
if ARGV[1] == 'stats' then
  return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[3], 'b') or '0'),
    redis.call('ZCARD', KEYS[4])}
end
local page = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[2], '+inf', 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
if #page == 0 then
  return {}
end
local vals = redis.call('HMGET', KEYS[2], unpack(page))
local out = {}
for i, id in ipairs(page) do
  out[2 * i - 1] = id
  out[2 * i] = vals[i]
end
return out
