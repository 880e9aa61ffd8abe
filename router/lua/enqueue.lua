-- Create a queued interaction once per idempotency key, atomically.
-- KEYS: idempotency, interaction hash, queue zset, live set, events stream, position counter
-- ARGV: interaction id, idempotency ttl (s), then field, value, field, value, ...
-- Returns {1, id} when created, {0, id} when the key was seen before, {-1, id} if the id is taken.
local seen = redis.call('GET', KEYS[1])
if seen then
  return {0, seen}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {-1, ARGV[1]}
end
local pos = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[2], 'state', 'queued', 'pos', pos, unpack(ARGV, 3))
redis.call('ZADD', KEYS[3], pos, ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('XADD', KEYS[5], '*', 'type', 'queued', 'id', ARGV[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return {1, ARGV[1]}
