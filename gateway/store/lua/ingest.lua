-- Dedupe, store and enqueue one delivery in a single atomic step (invariants 1, 2 and 4).
-- EVENT_TTL, DEDUPE_TTL, BODY_HASH_TTL (seconds) and RECORD (the record is on) come from the settings when
-- the script is loaded (gateway/store/scripts.py), so there are fewer arguments to pack per call on the
-- hot path.
-- KEYS: 1 dedupe key, 2 event hash, 3 index of the source's events
-- ARGV: 1 event id, 2 received at (unix seconds), 3 source, 4 delivery id, 5 event type,
--       6 headers (JSON), 7 body, 8 dedupe basis: delivery_id | body_sha256 | none,
--       9 the request's query string ('' for none: not stored), for filters on `query`,
--       10 (only while tracing) the receive span's W3C traceparent: the event's `traceparent` field and
--         the message's "traceparent" option, so the worker's spans join the trace
-- Returns {1, event id} for a new event, {0, first event id} for a duplicate.
-- The Dramatiq message is written in Dramatiq's own JSON format (dramatiq.Message.encode), with the
-- event id as its message id: an event is enqueued here once, and Dramatiq gives re-enqueues new ids.
-- Its arguments carry the source and event type, so dispatch can route without reading the event.
local event_ttl = EVENT_TTL
local dedupe_ttl = ({delivery_id = DEDUPE_TTL, body_sha256 = BODY_HASH_TTL})[ARGV[8]]
if dedupe_ttl then
  local first = redis.call('GET', KEYS[1])
  if first then
    local first_key = event_key(first)
    if redis.call('EXISTS', first_key) == 1 then
      redis.call('HINCRBY', first_key, 'deliveries', 1)
      if RECORD then  -- the record's writer copies the new count (a score above the last change's)
        local score = math.floor(tonumber(ARGV[2]) * 1000)
        local old = tonumber(redis.call('ZSCORE', RECORD_PENDING, first))
        if old and old >= score then score = old + 1 end
        redis.call('ZADD', RECORD_PENDING, score, first)
      end
    end
    return {0, first}
  end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', dedupe_ttl)
end
local received = tonumber(ARGV[2])
redis.call('HSET', KEYS[2],
  'source', ARGV[3], 'delivery_id', ARGV[4], 'event_type', ARGV[5],
  'received_at', ARGV[2], 'headers', ARGV[6], 'body', ARGV[7],
  'dedupe_basis', ARGV[8], 'status', 'queued', 'deliveries', 1)
local trace_option = ''
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[2], 'query', ARGV[9])
end
if ARGV[10] then
  redis.call('HSET', KEYS[2], 'traceparent', ARGV[10])
  trace_option = ',"traceparent":' .. cjson.encode(ARGV[10])
end
redis.call('EXPIRE', KEYS[2], event_ttl)
if RECORD then
  -- The record (PostgreSQL) lists and counts events: its writer picks the new one up from here.
  redis.call('ZADD', RECORD_PENDING, math.floor(received * 1000), ARGV[1])
else
  -- Indexed by received time: all, by source, by status (queued; lua/record.lua moves it on). Readers
  -- count over the retention with ZCOUNT; members of expired events are trimmed here.
  local cutoff = '(' .. (received - event_ttl)
  redis.call('SADD', SOURCES, ARGV[3])
  redis.call('EXPIRE', SOURCES, event_ttl)
  for _, index in ipairs({INDEX_ALL, KEYS[3], status_index_key('queued')}) do
    redis.call('ZADD', index, received, ARGV[1])
    redis.call('ZREMRANGEBYSCORE', index, '-inf', cutoff)
    redis.call('EXPIRE', index, event_ttl)
  end
end
local message = '{"queue_name":"' .. DISPATCH_QUEUE .. '","actor_name":"' .. DISPATCH_ACTOR .. '","args":["' .. ARGV[1] ..
  '",' .. cjson.encode(ARGV[3]) .. ',' .. cjson.encode(ARGV[5]) .. '],"kwargs":{},"options":{"redis_message_id":"' .. ARGV[1] .. '"' .. trace_option .. '},"message_id":"' .. ARGV[1] ..
  '","message_timestamp":' .. string.format('%d', received * 1000) .. '}'
redis.call('HSET', messages_key(DISPATCH_QUEUE), ARGV[1], message)
redis.call('RPUSH', queue_key(DISPATCH_QUEUE), ARGV[1])
-- An idle worker waits on the queue's wake list (gateway/worker/holdings.py): one token starts it now.
local wake = wake_key(DISPATCH_QUEUE)
if redis.call('LLEN', wake) == 0 then redis.call('RPUSH', wake, 1) end
-- On its way until processed, dead or unrouted: the reconciler's index (the message is its own carrier).
redis.call('ZADD', UNSETTLED, received, ARGV[1])
-- A source with an ordered consumer (lua/ordering.lua): the event's place in its source's order, its
-- receipt in µs raised above the last one given (so it is the order of storing, whatever the gateways'
-- clocks), and undispatched until its dispatch is over (the watermark ordered deliveries wait for).
local last = redis.call('HGET', ORDERED_SOURCES, ARGV[3])
if last then
  local ord = string.format('%.0f', math.max(math.floor(received * 1000000 + 0.5), (tonumber(last) or 0) + 1))
  redis.call('HSET', ORDERED_SOURCES, ARGV[3], ord)
  redis.call('HSET', KEYS[2], 'ord', ord)
  redis.call('ZADD', undispatched_key(ARGV[3]), ord, ARGV[1])
end
return {1, ARGV[1]}
