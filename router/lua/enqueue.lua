-- Create a queued interaction, once per idempotency key when one is given, atomically.
-- KEYS: idempotency, interaction hash, queue zset, live set, events stream, position counter
-- ARGV: interaction id, idempotency ttl (s), use key ('1' or '0'), then field, value, ...
-- Returns {1, id} when created, {0, id} when the key was seen before, {-1, id} if the id is taken.
local keyed = ARGV[3] == '1'
if keyed then
  local seen = redis.call('GET', KEYS[1])
  if seen then
    return {0, seen}
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {-1, ARGV[1]}
end
local pos = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[2], 'state', 'queued', 'pos', pos, unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], pos, ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
log_event(KEYS[5], 'type', 'queued', 'id', ARGV[1])
if keyed then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return {1, ARGV[1]}
