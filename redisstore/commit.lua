#!lua
-- One commit, atomic. The shebang (Redis 7 script flags, none set) makes the server refuse
-- the whole script while it is out of memory, instead of failing it at its first write.
-- KEYS: record hash, journal list, outbox sorted set.
-- ARGV: loaded version, update id, "s" (snapshot) or "d" (delta), payload, outbox members...
-- Returns {0, new version, update id} on success, {1, version, last update id} for a
-- duplicate update, {2, stored version, last update id} for a stale version, {3, ...} for a
-- journal that does not match its record (damaged: the caller reports it, never repairs it).
local rec, log, out = KEYS[1], KEYS[2], KEYS[3]
local f = redis.call('HMGET', rec, 'v', 'u', 'n')
local v = tonumber(f[1] or '0')
local u = tonumber(f[2] or '0')
local uid = tonumber(ARGV[2])
if uid > 0 and uid <= u then
  return {1, v, u}
end
if v ~= tonumber(ARGV[1]) then
  return {2, v, u}
end
if v > 0 and redis.call('LLEN', log) ~= tonumber(f[3]) then
  return {3, v, u}
end
if ARGV[3] == 's' then
  redis.call('DEL', log)
  redis.call('HSET', rec, 's', ARGV[4], 'n', 0, 'b', 0)
else
  if v == 0 then
    return redis.error_reply('redisstore: a delta for a key with no snapshot')
  end
  redis.call('RPUSH', log, ARGV[4])
  redis.call('HINCRBY', rec, 'n', 1)
  redis.call('HINCRBY', rec, 'b', #ARGV[4])
end
if uid > 0 then
  redis.call('HSET', rec, 'u', ARGV[2])
  u = uid
end
for i = 5, #ARGV do
  redis.call('ZADD', out, 0, ARGV[i])
end
return {0, redis.call('HINCRBY', rec, 'v', 1), u}
