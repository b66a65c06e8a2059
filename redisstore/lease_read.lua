#!lua flags=no-writes
-- Who holds the polling lease (see lease.lua), read while the server is out of memory too.
-- KEYS: the lease. Returns {holder ('' when free or expired), token, ms left}.
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local l = redis.call('HMGET', KEYS[1], 'h', 't', 'e')
local h, t, e = l[1], tonumber(l[2] or '0'), tonumber(l[3] or '0')
if not h or e <= now then
  return {'', t, 0}
end
return {h, t, e - now}
