-- Shared by every transition script (prepended by store.py).
-- The event log is capped; its ids are the event sequence.
local EVENTS_MAX = 1000000
-- An agent's own stream keeps this many recent events for reconnecting desktops.
local AGENT_EVENTS_MAX = 256

local function log_event(key, ...)
  redis.call('XADD', key, 'MAXLEN', '~', EVENTS_MAX, '*', ...)
end

-- Append `payload` (JSON without its seq) to the agent's stream under the agent's next
-- sequence number; the stream id is '<seq>-0' so that XRANGE by seq is a range read.
-- Returns the seq, or 0 when payload is empty.
local function notify(agent_key, stream_key, payload)
  if payload == nil or payload == '' then
    return 0
  end
  local seq = redis.call('HINCRBY', agent_key, 'seq', 1)
  redis.call('XADD', stream_key, 'MAXLEN', '~', AGENT_EVENTS_MAX, seq .. '-0', 'e', payload)
  return seq
end
