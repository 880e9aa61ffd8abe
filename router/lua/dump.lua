-- Read many interactions at once for a rebuild: one reply instead of one per interaction.
-- KEYS: interaction hashes
-- ARGV: the fields to read; none: every field
-- Returns the fields of each key in turn (#KEYS * #ARGV values, nil where absent), or with no
-- ARGV one field, value, field, value... list per key.
local out = {}
local n = 0
if #ARGV == 0 then
  for i = 1, #KEYS do
    out[i] = redis.call('HGETALL', KEYS[i])
  end
  return out
end
for i = 1, #KEYS do
  local values = redis.call('HMGET', KEYS[i], unpack(ARGV))
  for j = 1, #ARGV do
    n = n + 1
    out[n] = values[j]
  end
end
return out
