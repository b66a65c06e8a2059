#!lua flags=no-writes
-- One load: the record, its journal and the outbox read at one instant, never between two
-- commits. Unlike MULTI, a read-only script still runs while the server is out of memory.
-- KEYS: record hash, journal list, outbox sorted set.
return {
  redis.call('HMGET', KEYS[1], 'v', 'u', 's', 'n', 'b'),
  redis.call('LRANGE', KEYS[2], 0, -1),
  redis.call('ZRANGE', KEYS[3], 0, -1),
}
