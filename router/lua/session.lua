-- An agent worked on a customer's session: it stays theirs until the given time, across
-- restarts. Owners past their time are pruned a few at a time, so the set stays small.
-- KEYS: sessions sorted set (by until), session owners hash
-- ARGV: session, agent id, until, now
-- Returns {1, 'ok'}.
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4], 'LIMIT', 0, 16)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
return {1, 'ok'}
