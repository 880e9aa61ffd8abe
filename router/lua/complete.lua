-- The agent finished: wrap-up starts (capacity stays held), or with no wrap-up the interaction
-- is done and the agent's load released.
-- KEYS: interaction hash, agent hash, live set, events stream, agent stream
-- ARGV: interaction id, agent id, channel, wrap-up end (0: none), time, agent event payload
-- Returns {1, state, seq} or {0, reason}; on 0 nothing was written.
local s = redis.call('HMGET', KEYS[1], 'state', 'agent')
if s[1] ~= 'assigned' or s[2] ~= ARGV[2] then
  return {0, 'interaction is not assigned to this agent'}
end
if tonumber(ARGV[4]) > 0 then
  redis.call('HSET', KEYS[1], 'state', 'wrap_up', 'wrap_until', ARGV[4], 'completed_at', ARGV[5])
  log_event(KEYS[4], 'type', 'wrap_up', 'id', ARGV[1], 'agent', ARGV[2])
  return {1, 'wrap_up', notify(KEYS[2], KEYS[5], ARGV[6])}
end
redis.call('HSET', KEYS[1], 'state', 'done', 'reason', 'completed', 'completed_at', ARGV[5],
  'ended_at', ARGV[5])
redis.call('HINCRBY', KEYS[2], 'n:' .. ARGV[3], -1)
redis.call('SREM', KEYS[3], ARGV[1])
log_event(KEYS[4], 'type', 'done', 'id', ARGV[1], 'agent', ARGV[2])
return {1, 'done', notify(KEYS[2], KEYS[5], ARGV[6])}
