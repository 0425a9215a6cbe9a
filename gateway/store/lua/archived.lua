-- The record's writer has written these events (gateway/record/writer.py): each leaves the pending set
-- unless it changed again meanwhile (its score moved on), and a settled one cools: its hash and
-- processing record expire after the hot window (never later than they would have).
-- ARGV: 1 the hot window (ms), then pairs of event id and the pending score the writer read.
local hot_ms = tonumber(ARGV[1])

local function cool(key)
  local ttl = redis.call('PTTL', key)
  if ttl > hot_ms or ttl == -1 then redis.call('PEXPIRE', key, hot_ms) end
end

local released = 0
for i = 2, #ARGV, 2 do
  local id, score = ARGV[i], ARGV[i + 1]
  if redis.call('ZSCORE', RECORD_PENDING, id) == score then
    redis.call('ZREM', RECORD_PENDING, id)
    released = released + 1
    local status = redis.call('HGET', event_key(id), 'status')
    if status and SETTLED[status] then
      for _, consumer in ipairs(redis.call('HKEYS', states_key(id))) do cool(done_key(id, consumer)) end
      for _, key in ipairs({event_key(id), states_key(id), attempts_key(id), carriers_key(id),
                            forced_replays_key(id)}) do
        cool(key)
      end
    end
  end
end
return released
