-- An agent's status changed (set by the agent, or by routerd: not_responding, lease lapsed).
-- KEYS: agent hash, events stream, agent stream
-- ARGV: agent id, status, reason, agent event payload
-- Returns {1, previous status, seq} or {0, reason}; on 0 nothing was written.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 'agent ' .. ARGV[1] .. ' not found'}
end
local was = redis.call('HGET', KEYS[1], 'status') or 'offline'
redis.call('HSET', KEYS[1], 'status', ARGV[2])
if ARGV[2] == 'available' then
  redis.call('HSET', KEYS[1], 'missed', 0)
end
log_event(KEYS[2], 'type', 'status', 'agent', ARGV[1], 'status', ARGV[2], 'reason', ARGV[3])
return {1, was, notify(KEYS[1], KEYS[3], ARGV[4])}
