-- Undo an enqueue whose client was told it failed (Redis timed out, then ran it anyway), so
-- that the 503 stays true; only while nothing else has touched the contact.
-- KEYS: idempotency, interaction hash, queue zset, live set, events stream
-- ARGV: interaction id
-- Returns {1, 'withdrawn'} or {1, 'absent'}, or {0, reason} if it was routed meanwhile.
local state = redis.call('HGET', KEYS[2], 'state')
if not state then
  return {1, 'absent'}
end
if state ~= 'queued' then
  return {0, 'interaction is ' .. state}
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
log_event(KEYS[5], 'type', 'withdrawn', 'id', ARGV[1])
return {1, 'withdrawn'}
