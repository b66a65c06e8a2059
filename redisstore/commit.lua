#!lua
-- One commit, atomic. The shebang (Redis 7 script flags, none set) makes the server refuse
-- the whole script while it is out of memory, instead of failing it at its first write.
-- KEYS: the key's record hash. Its journal list, outbox sorted set and pending update ids
-- (sorted set, score = member = update id) are named from it: the same name with 'log',
-- 'out' or 'pend' in place of 'rec', in the record's hash tag.
-- ARGV: loaded version, update id, 's' (snapshot) or 'd' (delta) followed by how many
-- skipped ids come ('' for none), payload, the intake journal's key prefix ('' without a
-- journal; its keys are named as in journal_append.lua), how many finished ids the journal
-- remembers, the server's time in Unix seconds as the client keeps it ('' to read TIME), the
-- skipped ids (updates of the key the runtime answered without committing: they leave the
-- journal first, so they hold nothing back), then the outbox members.
-- Every argument costs the server more than building a name here: hence one key, and the
-- journal's named only when used.
-- Returns {0, new version, update id} on success, {1, version, last update id} for a
-- duplicate update, {2, stored version, last update id} for a stale version, {3, ...} for a
-- journal that does not match its record (damaged: the caller reports it, never repairs it),
-- {4, version, last update id, earliest} while the intake journal holds an earlier update
-- of the key unfinished. A committed update with no replies leaves the intake journal in the
-- same step, as journal_finish.lua would take it out.
-- Numbers go back to Redis as strings formatted here or as received: Lua's own conversion
-- keeps 14 digits, fewer than an update id has.
local rec = KEYS[1]
local base = string.sub(rec, 1, -4)
local log, out, pend = base .. 'log', base .. 'out', base .. 'pend'
local jp = ARGV[5]
local journaled = jp ~= ''
local id = ARGV[2]
local uid = tonumber(id)
local f = redis.call('HMGET', rec, 'v', 'u', 'n', 'b', 't')
local v = tonumber(f[1] or '0')
local us = f[2] or '0'
local u = tonumber(us)
local now = tonumber(ARGV[7]) or tonumber(redis.call('TIME')[1])
-- Telegram numbers updates in sequence, but picks the next id at random after a week
-- without updates, and keeps an update for a day at most. So an id at or below the last
-- committed one is a re-send only if that commit is less than a week old; past that it is
-- a new update of a new sequence. A record from before 't' was kept counts as recent.
local week = 7 * 24 * 3600
local recent = now - tonumber(f[5] or now) < week
local kind = string.sub(ARGV[3], 1, 1)
local skipped = tonumber(string.sub(ARGV[3], 2)) or 0
local outFrom = 8 + skipped

-- finishing takes update i out of the intake journal, as journal_finish.lua would.
local function finishing(i)
  if redis.call('ZREM', jp .. 'ids', i) == 1 then
    local items, done = jp .. 'items', jp .. 'done'
    redis.call('HINCRBY', jp .. 'meta', 'b', -redis.call('HSTRLEN', items, i))
    redis.call('HDEL', items, i)
    -- Scored by when it finished, so that the window forgets by age (see journal.go).
    redis.call('ZADD', done, now, i)
    -- Trimmed by a 64th of the window at a time: most commits leave it alone.
    local keep = tonumber(ARGV[6])
    local over = redis.call('ZCARD', done) - keep
    if over > math.floor(keep / 64) then
      redis.call('ZREMRANGEBYRANK', done, 0, over - 1)
    end
  end
end

-- finish lets the update go: ids at or below it no longer hold the key back, pending or
-- not; and, when whole (no replies left to send), it leaves the intake journal. An update
-- whose replies are still to be sent stays journaled until intake finishes it (their last
-- one acknowledged), so that a process stopped before sending them leaves it for the next
-- one to find, whose replay then sends them from the outbox.
-- popped: the key's pending ids up to this update's are out of the set already (taken
-- below, on the way to a commit), so finish need not remove them.
local popped = false
local function finish(whole)
  if not journaled or uid <= 0 then
    return
  end
  if not popped then
    redis.call('ZREMRANGEBYSCORE', pend, '-inf', id)
  end
  if whole then
    finishing(id)
  end
end

if journaled then
  for i = 8, 7 + skipped do
    redis.call('ZREM', pend, ARGV[i])
    finishing(ARGV[i])
  end
end
if uid > 0 and uid <= u and recent then
  -- Its replies may still be in the outbox: the runtime sends them, then intake finishes it.
  finish(false)
  return {1, v, u}
end
-- took: this update's own pending id came out of the set with the earlier ones; a refusal
-- puts it back, since it still holds the key's later updates back.
local took = false
local function refuse(reply)
  if took then
    redis.call('ZADD', pend, id, id)
  end
  return reply
end
if journaled and uid > u then
  -- The key's pending ids are taken in order up to this update's own, which a commit takes
  -- out anyway: most often it is the only one, and one ZPOPMIN is the whole walk.
  -- Pending ids at or below the last committed one can never be committed: not waited on.
  -- One the journal no longer holds (finished by a build that kept no index, or named
  -- wrongly by journal_finish.lua) is dropped, so that nothing holds a key back for ever.
  popped = true
  while true do
    local m = redis.call('ZPOPMIN', pend)
    if #m == 0 then
      break
    end
    local e = tonumber(m[1])
    if e >= uid then
      if e == uid then
        took = true
      else
        redis.call('ZADD', pend, m[2], m[1])
      end
      break
    end
    if e > u and redis.call('ZSCORE', jp .. 'ids', m[1]) then
      redis.call('ZADD', pend, m[2], m[1])
      return {4, v, u, e}
    end
  end
end
if v ~= tonumber(ARGV[1]) then
  return refuse({2, v, u})
end
local n = tonumber(f[3] or '0')
local b = tonumber(f[4] or '0')
-- A journal that does not match its record is refused before anything is written: a delta's
-- RPUSH says the length, and is undone; a snapshot, rarer, asks for it.
if kind == 's' then
  if v > 0 and redis.call('LLEN', log) ~= n then
    return refuse({3, v, u})
  end
elseif v == 0 then
  refuse(nil)
  return redis.error_reply('redisstore: a delta for a key with no snapshot')
else
  local len = redis.pcall('RPUSH', log, ARGV[4])
  if len ~= n + 1 then
    if type(len) == 'number' then
      redis.call('RPOP', log)
    end
    return refuse({3, v, u})
  end
end
v = v + 1
if uid > 0 then
  us, u = id, uid
end
if kind == 's' then
  if n > 0 or v == 1 then
    redis.call('DEL', log)
  end
  redis.call('HSET', rec, 'v', string.format('%d', v), 'u', us, 't', now, 's', ARGV[4], 'n', '0', 'b', '0')
else
  redis.call('HSET', rec, 'v', string.format('%d', v), 'u', us, 't', now, 'n', string.format('%d', n + 1),
    'b', string.format('%d', b + #ARGV[4]))
end
for i = outFrom, #ARGV do
  redis.call('ZADD', out, 0, ARGV[i])
end
finish(outFrom > #ARGV)
return {0, v, u}
