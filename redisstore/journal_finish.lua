#!lua flags=allow-oom
-- Finished updates leave the journal, atomic and idempotent. allow-oom: a full server must
-- still be able to drain the journal, and this script frees more than it writes.
-- KEYS: pending ids, items, meta, finished ids (as in journal_append.lua).
-- ARGV: how many finished ids to remember, then the update ids.
-- Returns {removed, bytes freed}.
local ids, items, meta, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local removed, freed = 0, 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', ids, id) == 1 then
    removed = removed + 1
    freed = freed + redis.call('HSTRLEN', items, id)
    redis.call('HDEL', items, id)
    redis.call('ZADD', done, id, id)
  end
end
if freed > 0 then
  redis.call('HINCRBY', meta, 'b', -freed)
end
local over = redis.call('ZCARD', done) - tonumber(ARGV[1])
if over > 0 then
  redis.call('ZREMRANGEBYRANK', done, 0, over - 1)
end
return {removed, freed}
