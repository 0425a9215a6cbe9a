-- Starts an attempt in one round trip: unless forced, returns -1 when the ledger says the consumer
-- already succeeded; returns 0 when the event is gone; else marks the consumer processing, appends the
-- attempt record and returns the event's fields.
-- Returns -2 when the consumer's lane does not start it now (breaker open, paused, at its bound): the
-- caller holds the delivery in the lane instead (a ``hold`` operation), no attempt made.
-- Returns -3 when an inline attempt of an ordered consumer may not take its key now (held, an older
-- delivery waits, or an event stored before it is still being dispatched): the caller hands it over.
-- ARGV: 1 event id, 2 consumer, 3 attempt record (JSON), 4 '1' to force (a forced replay), 5 now,
--       6 the id of the message carrying the attempt ('' outside a worker: no lane), 7 '1' when it did not
--       come through the lane's queue (dispatch's inline first attempt), 8 its ordering key ('' for none),
--       9 '1' when the caller checks the consumer's filter on the fields returned: -2 then comes with
--       them, {-2, fields}, so a delivery its filter declines is not held (one that started is taken
--       back with the ``filtered`` transition's ``retract``)
-- An ordered consumer's delivery that finds its event gone or already succeeded frees its key here (no
-- attempt follows to release it). An inline attempt's event is dispatched once its delivery holds its key
-- (or it has none): no delivery of an ordered consumer is left to come from it.
local id, consumer = ARGV[1], ARGV[2]
local now_ms = math.floor(tonumber(ARGV[5]) * 1000)
if redis.call('PTTL', event_key(id)) <= 0 then
  ordering_release(consumer, id, now_ms)
  return 0
end
if ARGV[4] ~= '1' and redis.call('EXISTS', done_key(id, consumer)) == 1 then
  ordering_release(consumer, id, now_ms)
  return -1
end
if ARGV[7] == '1' then
  if (ARGV[8] or '') ~= '' and not ordering_take(consumer, id, ARGV[8], now_ms) then return -3 end
  ordering_dispatched(id, nil, now_ms)
end
if (ARGV[6] or '') ~= '' and not lane_start(consumer, ARGV[6], now_ms, ARGV[7] == '1') then
  if ARGV[9] == '1' then return {-2, redis.call('HGETALL', event_key(id))} end
  return -2
end
transition(id, consumer, 'processing', ARGV[3], false, ARGV[5])
return redis.call('HGETALL', event_key(id))
