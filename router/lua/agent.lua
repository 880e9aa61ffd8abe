-- Create or change an agent's profile; status, load and stream sequence are kept.
-- KEYS: agent hash, agents set
-- ARGV: agent id, name, skills (JSON), groups (JSON), capacity, caps ("ch=n,...")
-- Returns {1, 'created'|'updated'}.
local existed = redis.call('EXISTS', KEYS[1]) == 1
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 4) == 'cap:' then
    redis.call('HDEL', KEYS[1], f)
  end
end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'skills', ARGV[3], 'groups', ARGV[4],
  'capacity', ARGV[5])
for ch, n in string.gmatch(ARGV[6], '([^,=]+)=(%d+)') do
  redis.call('HSET', KEYS[1], 'cap:' .. ch, n)
end
redis.call('HSETNX', KEYS[1], 'status', 'offline')
redis.call('SADD', KEYS[2], ARGV[1])
if existed then
  return {1, 'updated'}
end
return {1, 'created'}
