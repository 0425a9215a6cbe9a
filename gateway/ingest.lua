-- Dedupe, store and enqueue one delivery in a single atomic step (invariants 1, 2 and 4).
-- KEYS: 1 dedupe key, 2 event hash, 3 index of all events, 4 index of the source,
--       5 Dramatiq's message hash, 6 Dramatiq's queue list
-- ARGV: 1 event id, 2 dedupe ttl (0: no dedupe), 3 event ttl, 4 received at (unix seconds),
--       5 source, 6 delivery id, 7 event type, 8 headers (JSON), 9 body, 10 dedupe basis,
--       11 Dramatiq queue name, 12 Dramatiq actor name, 13 event key prefix
-- The Dramatiq message is written in Dramatiq's own JSON format (dramatiq.Message.encode), with the
-- event id as its message id: an event is enqueued here once, and Dramatiq gives re-enqueues new ids.
-- Returns {1, event id} for a new event, {0, first event id} for a duplicate.
local dedupe_ttl = tonumber(ARGV[2])
if dedupe_ttl > 0 then
  local first = redis.call('GET', KEYS[1])
  if first then
    local first_key = ARGV[13] .. first
    if redis.call('EXISTS', first_key) == 1 then
      redis.call('HINCRBY', first_key, 'deliveries', 1)
    end
    return {0, first}
  end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', dedupe_ttl)
end
local received = tonumber(ARGV[4])
local event_ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[2],
  'source', ARGV[5], 'delivery_id', ARGV[6], 'event_type', ARGV[7],
  'received_at', ARGV[4], 'headers', ARGV[8], 'body', ARGV[9],
  'dedupe_basis', ARGV[10], 'status', 'queued', 'deliveries', 1)
redis.call('EXPIRE', KEYS[2], event_ttl)
local cutoff = received - event_ttl
for i = 3, 4 do
  redis.call('ZADD', KEYS[i], received, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. cutoff)
  redis.call('EXPIRE', KEYS[i], event_ttl)
end
local message = '{"queue_name":"' .. ARGV[11] .. '","actor_name":"' .. ARGV[12] ..
  '","args":["' .. ARGV[1] .. '"],"kwargs":{},"options":{"redis_message_id":"' .. ARGV[1] ..
  '"},"message_id":"' .. ARGV[1] .. '","message_timestamp":' .. string.format('%d', received * 1000) .. '}'
redis.call('HSET', KEYS[5], ARGV[1], message)
redis.call('RPUSH', KEYS[6], ARGV[1])
return {1, ARGV[1]}
