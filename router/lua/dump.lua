-- Read many interactions at once for a rebuild: one reply instead of one per interaction.
-- KEYS: interaction hashes
-- ARGV: the fields to read
-- Returns the fields of each key in turn (#KEYS * #ARGV values, nil where absent).
local out = {}
local n = 0
for i = 1, #KEYS do
  local values = redis.call('HMGET', KEYS[i], unpack(ARGV))
  for j = 1, #ARGV do
    n = n + 1
    out[n] = values[j]
  end
end
return out
