-- An offer ended without an accept (rejected, expired, agent left): the interaction goes back
-- to its original queue position, the agent's load is released and the agent is excluded;
-- when fresh is '1' (every agent that could take it declined it) a new round starts, in which
-- only this agent is excluded.
-- KEYS: interaction hash, agent hash, offer hash, queue zset, events stream, agent stream
-- ARGV: interaction id, agent id, offer id, channel, reason, fresh, agent event payload
-- Returns {1, 'ok', seq} or {0, reason}; on 0 nothing was written.
local s = redis.call('HMGET', KEYS[1], 'state', 'offer', 'agent', 'pos', 'excluded')
if s[1] ~= 'offered' or s[2] ~= ARGV[3] or s[3] ~= ARGV[2] then
  return {0, 'offer is no longer open'}
end
local excluded = ARGV[2]
if ARGV[6] == '1' then
  redis.call('HINCRBY', KEYS[1], 'rounds', 1)
elseif s[5] and s[5] ~= '' then
  excluded = s[5] .. ',' .. ARGV[2]
end
redis.call('HSET', KEYS[1], 'state', 'queued', 'excluded', excluded)
redis.call('HDEL', KEYS[1], 'offer', 'agent', 'deadline')
redis.call('ZADD', KEYS[4], s[4], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'n:' .. ARGV[4], -1)
redis.call('HDEL', KEYS[2], 'offer')
if ARGV[5] == 'expired' then
  redis.call('HINCRBY', KEYS[2], 'missed', 1)
end
redis.call('DEL', KEYS[3])
log_event(KEYS[5], 'type', 'requeued', 'id', ARGV[1], 'agent', ARGV[2], 'offer', ARGV[3],
  'reason', ARGV[5])
return {1, 'ok', notify(KEYS[2], KEYS[6], ARGV[7])}
