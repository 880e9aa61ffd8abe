-- Move an interaction to a final state (done after wrap-up, abandoned, expired) from one of the
-- states the caller expects, releasing whatever it held: its queue place, offer or agent load.
-- KEYS: interaction hash, agent hash, offer hash, queue zset, live set, events stream,
--       agent stream
-- ARGV: interaction id, final state, reason, expected states ("queued,offered,..."), time,
--       agent event payload
-- Returns {1, previous state, seq} or {0, reason}; on 0 nothing was written.
local s = redis.call('HMGET', KEYS[1], 'state', 'channel')
local state = s[1]
if not state or not string.find(',' .. ARGV[4] .. ',', ',' .. state .. ',', 1, true) then
  return {0, 'interaction is ' .. tostring(state)}
end
local seq = 0
if state == 'queued' then
  redis.call('ZREM', KEYS[4], ARGV[1])
else
  redis.call('HINCRBY', KEYS[2], 'n:' .. s[2], -1)
  seq = notify(KEYS[2], KEYS[7], ARGV[6])
end
if state == 'offered' then
  redis.call('HDEL', KEYS[2], 'offer')
  redis.call('DEL', KEYS[3])
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'reason', ARGV[3], 'ended_at', ARGV[5])
redis.call('HDEL', KEYS[1], 'offer', 'deadline')
redis.call('SREM', KEYS[5], ARGV[1])
log_event(KEYS[6], 'type', ARGV[2], 'id', ARGV[1], 'reason', ARGV[3])
return {1, state, seq}
