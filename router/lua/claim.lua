-- Offer a queued interaction to an agent: compare-and-set on both, capacity checked here.
-- KEYS: interaction hash, agent hash, offer hash, queue zset, events stream, agent stream
-- ARGV: interaction id, agent id, offer id, deadline, channel, cost, max per agent (the agent's
--       own cap:<channel> field wins),
--       counted ("ch=cost,..." whose load counts against this channel), blocking ("ch,..."),
--       explanation (JSON), agent event payload
-- Returns {1, 'ok', seq} or {0, reason}; on 0 nothing was written.
local ix, ag = KEYS[1], KEYS[2]
local channel, cost = ARGV[5], tonumber(ARGV[6])
local cap = tonumber(redis.call('HGET', ag, 'cap:' .. channel) or ARGV[7])
if redis.call('HGET', ix, 'state') ~= 'queued' then
  return {0, 'interaction is not queued'}
end
local a = redis.call('HMGET', ag, 'status', 'capacity', 'offer')
if a[1] ~= 'available' then
  return {0, 'agent is not available'}
end
if a[3] then
  return {0, 'agent has an open offer'}
end
for ch in string.gmatch(ARGV[9], '[^,]+') do
  if tonumber(redis.call('HGET', ag, 'n:' .. ch) or '0') > 0 then
    return {0, 'agent is busy on ' .. ch}
  end
end
local used = 0
for ch, c in string.gmatch(ARGV[8], '([^,=]+)=(%d+)') do
  used = used + tonumber(redis.call('HGET', ag, 'n:' .. ch) or '0') * tonumber(c)
end
if used + cost > tonumber(a[2] or '0') then
  return {0, 'agent has no capacity left'}
end
if tonumber(redis.call('HGET', ag, 'n:' .. channel) or '0') >= cap then
  return {0, 'agent is at its ' .. channel .. ' limit'}
end
redis.call('HSET', ix, 'state', 'offered', 'agent', ARGV[2], 'offer', ARGV[3], 'deadline', ARGV[4],
  'explain', ARGV[10])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HINCRBY', ag, 'n:' .. channel, 1)
redis.call('HSET', ag, 'offer', ARGV[3])
redis.call('HSET', KEYS[3], 'interaction', ARGV[1], 'agent', ARGV[2], 'deadline', ARGV[4])
log_event(KEYS[5], 'type', 'offered', 'id', ARGV[1], 'agent', ARGV[2], 'offer', ARGV[3])
return {1, 'ok', notify(ag, KEYS[6], ARGV[11])}
