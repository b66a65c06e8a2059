#!lua
-- One commit, atomic. The shebang (Redis 7 script flags, none set) makes the server refuse
-- the whole script while it is out of memory, instead of failing it at its first write.
-- KEYS: record hash, journal list, outbox sorted set; with an intake journal also the key's
-- pending update ids (sorted set, score = member = update id), then the journal's pending
-- ids, items, meta and finished ids (as in journal_append.lua).
-- ARGV: loaded version, update id, "s" (snapshot) or "d" (delta), payload, how many finished
-- ids the journal remembers ('' without a journal), how many skipped ids follow, the
-- skipped ids (updates of the key the runtime answered without committing: they leave the
-- journal first, so they hold nothing back), then the outbox members.
-- Returns {0, new version, update id} on success, {1, version, last update id} for a
-- duplicate update, {2, stored version, last update id} for a stale version, {3, ...} for a
-- journal that does not match its record (damaged: the caller reports it, never repairs it),
-- {4, version, last update id, earliest} while the intake journal holds an earlier update
-- of the key unfinished. A committed update with no replies leaves the intake journal in the
-- same step, as journal_finish.lua would take it out.
-- Numbers go back to Redis as strings formatted here or as received: Lua's own conversion
-- keeps 14 digits, fewer than an update id has.
local rec, log, out = KEYS[1], KEYS[2], KEYS[3]
local journaled = #KEYS == 8
local id = ARGV[2]
local uid = tonumber(id)
local f = redis.call('HMGET', rec, 'v', 'u', 'n', 'b', 't')
local v = tonumber(f[1] or '0')
local us = f[2] or '0'
local u = tonumber(us)
local now = tonumber(redis.call('TIME')[1])
-- Telegram numbers updates in sequence, but picks the next id at random after a week
-- without updates, and keeps an update for a day at most. So an id at or below the last
-- committed one is a re-send only if that commit is less than a week old; past that it is
-- a new update of a new sequence. A record from before 't' was kept counts as recent.
local week = 7 * 24 * 3600
local recent = now - tonumber(f[5] or now) < week
local skipped = tonumber(ARGV[6] or '0')
local outFrom = 7 + skipped

-- finishing takes update i out of the intake journal, as journal_finish.lua would.
local function finishing(i)
  if redis.call('ZREM', KEYS[5], i) == 1 then
    redis.call('HINCRBY', KEYS[7], 'b', -redis.call('HSTRLEN', KEYS[6], i))
    redis.call('HDEL', KEYS[6], i)
    -- Scored by when it finished, so that the window forgets by age (see journal.go).
    redis.call('ZADD', KEYS[8], now, i)
    -- Trimmed by a 64th of the window at a time: most commits leave it alone.
    local keep = tonumber(ARGV[5])
    local over = redis.call('ZCARD', KEYS[8]) - keep
    if over > math.floor(keep / 64) then
      redis.call('ZREMRANGEBYRANK', KEYS[8], 0, over - 1)
    end
  end
end

-- finish lets the update go: ids at or below it no longer hold the key back, pending or
-- not; and, when whole (no replies left to send), it leaves the intake journal. An update
-- whose replies are still to be sent stays journaled until intake finishes it (their last
-- one acknowledged), so that a process stopped before sending them leaves it for the next
-- one to find, whose replay then sends them from the outbox.
local function finish(whole)
  if not journaled or uid <= 0 then
    return
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', id)
  if whole then
    finishing(id)
  end
end

if journaled then
  for i = 7, 6 + skipped do
    redis.call('ZREM', KEYS[4], ARGV[i])
    finishing(ARGV[i])
  end
end
if uid > 0 and uid <= u and recent then
  -- Its replies may still be in the outbox: the runtime sends them, then intake finishes it.
  finish(false)
  return {1, v, u}
end
if journaled and uid > u then
  -- Pending ids at or below the last committed one can never be committed: not waited on.
  -- One the journal no longer holds (finished by a build that kept no index, or named
  -- wrongly by journal_finish.lua) is dropped, so that nothing holds a key back for ever.
  while true do
    local earlier = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. us, '(' .. id, 'LIMIT', 0, 1)
    if #earlier == 0 then
      break
    end
    if redis.call('ZSCORE', KEYS[5], earlier[1]) then
      return {4, v, u, tonumber(earlier[1])}
    end
    redis.call('ZREM', KEYS[4], earlier[1])
  end
end
if v ~= tonumber(ARGV[1]) then
  return {2, v, u}
end
local n = tonumber(f[3] or '0')
if v > 0 and redis.call('LLEN', log) ~= n then
  return {3, v, u}
end
local b = tonumber(f[4] or '0')
v = v + 1
if uid > 0 then
  us, u = id, uid
end
if ARGV[3] == 's' then
  if n > 0 or v == 1 then
    redis.call('DEL', log)
  end
  redis.call('HSET', rec, 'v', string.format('%d', v), 'u', us, 't', now, 's', ARGV[4], 'n', '0', 'b', '0')
else
  if v == 1 then
    return redis.error_reply('redisstore: a delta for a key with no snapshot')
  end
  redis.call('RPUSH', log, ARGV[4])
  redis.call('HSET', rec, 'v', string.format('%d', v), 'u', us, 't', now, 'n', string.format('%d', n + 1),
    'b', string.format('%d', b + #ARGV[4]))
end
for i = outFrom, #ARGV do
  redis.call('ZADD', out, 0, ARGV[i])
end
finish(outFrom > #ARGV)
return {0, v, u}
