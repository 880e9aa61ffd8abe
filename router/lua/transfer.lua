-- A new leg: a queued or assigned interaction leaves its agent and queue and waits, at the end
-- of the target queue, as if it arrived now.
-- KEYS: interaction hash, agent hash (the one it leaves, or any key when none), old queue zset,
--       new queue zset, events stream, agent stream, position counter
-- ARGV: interaction id, new queue, arrival time, agent event payload
-- Returns {1, previous state, seq} or {0, reason}; on 0 nothing was written.
local s = redis.call('HMGET', KEYS[1], 'state', 'channel', 'agent')
local state = s[1]
if state ~= 'queued' and state ~= 'assigned' then
  return {0, 'interaction is ' .. tostring(state) .. ': not transferable'}
end
local seq = 0
if state == 'assigned' then
  redis.call('HINCRBY', KEYS[2], 'n:' .. s[2], -1)
  seq = notify(KEYS[2], KEYS[6], ARGV[4])
end
local pos = redis.call('INCR', KEYS[7])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], pos, ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'queued', 'queue', ARGV[2], 'pos', pos, 'arrived_at', ARGV[3],
  'step', 0, 'excluded', '')
redis.call('HDEL', KEYS[1], 'agent', 'offer', 'answered_at', 'explain')
log_event(KEYS[5], 'type', 'transferred', 'id', ARGV[1], 'queue', ARGV[2], 'from', s[3] or '')
return {1, state, seq}
