-- Set fields of a live interaction (an escalation step changed what it requires).
-- KEYS: interaction hash
-- ARGV: field, value, ...
-- Returns {1, 'ok'} or {0, reason}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 'interaction not found'}
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {1, 'ok'}
