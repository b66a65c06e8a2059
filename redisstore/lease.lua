#!lua flags=allow-oom
-- The polling lease, one hash: h the holder, t the token (acquisitions counted, kept when
-- the lease is released or expires, so that no token is ever handed out twice), e when it
-- expires, in server milliseconds. allow-oom: a few bytes, and a full server must not make
-- the holder lose the lease and leave nobody to poll once memory is back.
-- KEYS: the lease. ARGV: op (acquire, renew, release), holder, token, ttl in ms.
-- Returns {granted (1 or 0), holder, token, ms left}: what the lease is after the call.
local key, op, who = KEYS[1], ARGV[1], ARGV[2]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[4])
local l = redis.call('HMGET', key, 'h', 't', 'e')
local h, t, e = l[1], tonumber(l[2] or '0'), tonumber(l[3] or '0')
local left = 0
if h then
  left = math.max(e - now, 0)
end
if op == 'acquire' then
  if h and e > now then
    return {0, h, t, left}
  end
  t = redis.call('HINCRBY', key, 't', 1)
  redis.call('HSET', key, 'h', who, 'e', now + ttl)
  return {1, who, t, ttl}
end
-- Renew and release are the holder's, with the token it acquired. An expired lease nobody
-- took since is still the holder's to renew: no other token was handed out, so nothing the
-- holder journaled meanwhile could have raced another poller's.
if h ~= who or tostring(t) ~= ARGV[3] then
  return {0, h or '', t, left}
end
if op == 'renew' then
  redis.call('HSET', key, 'e', now + ttl)
  return {1, who, t, ttl}
end
redis.call('HDEL', key, 'h', 'e')
return {1, '', t, 0}
