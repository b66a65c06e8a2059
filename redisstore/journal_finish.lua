#!lua flags=allow-oom
-- Finished updates leave the journal, atomic and idempotent. allow-oom: a full server must
-- still be able to drain the journal, and this script frees more than it writes.
-- KEYS: pending ids, items, meta, finished ids (as in journal_append.lua).
-- ARGV: how many finished ids to remember, the prefix of the keys' own keys (the update's
-- key and '}:pend' or '}:out' follow it), how many updates come with their outbox to
-- acknowledge (a), how many more are known to be out of their key's pending ids (k: a commit
-- took them, see commit.lua), then a pairs of update id and key, k update ids, and the
-- other update ids.
-- Returns {removed, bytes freed}.
-- Each update's key comes from its item, or from ARGV, so the key's own keys are named
-- here, not in KEYS: fine on one server, not on a Redis Cluster (see doc.go).
local ids, items, meta, done = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local removed, freed = 0, 0
-- Finished ids are scored by when they finished, so that the window forgets by age.
local now = redis.call('TIME')[1]
local a, k = tonumber(ARGV[3]), tonumber(ARGV[4])
local keptFrom = 5 + 2 * a
local restFrom = keptFrom + k

-- finish takes update id out of the journal; kept: its key's pending id is gone already.
local function finish(id, kept)
  if redis.call('ZREM', ids, id) ~= 1 then
    return
  end
  removed = removed + 1
  if kept then
    -- Only the item's size is needed, not the item.
    local n = redis.call('HSTRLEN', items, id)
    if n > 0 then
      freed = freed + n
      redis.call('HDEL', items, id)
    end
  else
    local it = redis.call('HGET', items, id)
    if it then
      freed = freed + #it
      if #it >= 8 then
        -- Telegram's ids are below 2^53, which a Lua number holds exactly; a key beyond
        -- names no set, and commit.lua drops the id it leaves behind.
        local key = struct.unpack('>i8', it)
        redis.call('ZREM', ARGV[2] .. string.format('%d', key) .. '}:pend', id)
      end
      redis.call('HDEL', items, id)
    end
  end
  redis.call('ZADD', done, now, id)
end

for i = 5, keptFrom - 1, 2 do
  -- The update's replies are all performed: what is left of its outbox goes (members
  -- begin with the 8 bytes of the update id, big-endian).
  local id = tonumber(ARGV[i])
  redis.call('ZREMRANGEBYLEX', ARGV[2] .. ARGV[i + 1] .. '}:out', '[' .. struct.pack('>i8', id),
    '(' .. struct.pack('>i8', id + 1))
  finish(ARGV[i], true)
end
for i = keptFrom, #ARGV do
  finish(ARGV[i], i < restFrom)
end
if freed > 0 then
  redis.call('HINCRBY', meta, 'b', -freed)
end
-- Trimmed by a 64th of the window at a time (as commit.lua does), not on every call.
local keep = tonumber(ARGV[1])
local over = redis.call('ZCARD', done) - keep
if over > math.floor(keep / 64) then
  redis.call('ZREMRANGEBYRANK', done, 0, over - 1)
end
return {removed, freed}
