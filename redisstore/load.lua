#!lua flags=no-writes
-- One load: the record, its journal and the outbox read at one instant, never between two
-- commits. Unlike MULTI, a read-only script still runs while the server is out of memory.
-- KEYS: record hash, journal list, outbox sorted set.
-- The fourth value is the seconds since the last commit by the server's clock, -1 unknown.
local f = redis.call('HMGET', KEYS[1], 'v', 'u', 's', 'n', 'b', 't')
local age = -1
if f[6] then
  age = tonumber(redis.call('TIME')[1]) - tonumber(f[6])
end
f[6] = nil
return {
  f,
  redis.call('LRANGE', KEYS[2], 0, -1),
  redis.call('ZRANGE', KEYS[3], 0, -1),
  age,
}
