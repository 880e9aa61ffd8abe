-- The agent accepted: the open offer becomes an assignment, if it is still the open one.
-- KEYS: interaction hash, agent hash, offer hash, events stream, agent stream
-- ARGV: interaction id, agent id, offer id, time answered, agent event payload
-- Returns {1, 'ok', seq} or {0, reason}; on 0 nothing was written.
local s = redis.call('HMGET', KEYS[1], 'state', 'offer', 'agent')
if s[1] ~= 'offered' or s[2] ~= ARGV[3] or s[3] ~= ARGV[2] then
  return {0, 'offer is no longer open'}
end
redis.call('HSET', KEYS[1], 'state', 'assigned', 'answered_at', ARGV[4])
redis.call('HDEL', KEYS[1], 'offer', 'deadline')
redis.call('HDEL', KEYS[2], 'offer')
redis.call('HSET', KEYS[2], 'missed', 0)
redis.call('DEL', KEYS[3])
log_event(KEYS[4], 'type', 'assigned', 'id', ARGV[1], 'agent', ARGV[2], 'offer', ARGV[3])
return {1, 'ok', notify(KEYS[2], KEYS[5], ARGV[5])}
