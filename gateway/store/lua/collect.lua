-- What the record's writer copies (gateway/record/writer.py), for a batch of events in one reply: per
-- event id in ARGV, {the event hash as a flat array, its consumer states (flat), its attempt records}.
-- An event gone from Redis has an empty hash.
local found = {}
for i, id in ipairs(ARGV) do
  found[i] = {
    redis.call('HGETALL', event_key(id)),
    redis.call('HGETALL', states_key(id)),
    redis.call('LRANGE', attempts_key(id), 0, -1),
  }
end
return found
