-- Starts an attempt in one round trip: unless forced, returns -1 when the ledger says the consumer
-- already succeeded; returns 0 when the event is gone; else marks the consumer processing, appends the
-- attempt record and returns the event's fields.
-- Returns -2 when the consumer's lane does not start it now (breaker open, paused, at its bound): the
-- caller holds the delivery in the lane instead (a ``hold`` operation), no attempt made.
-- ARGV: 1 event id, 2 consumer, 3 attempt record (JSON), 4 '1' to force (a forced replay), 5 now,
--       6 the id of the message carrying the attempt ('' outside a worker: no lane), 7 '1' when it did not
--       come through the lane's queue (dispatch's inline first attempt)
local id, consumer = ARGV[1], ARGV[2]
if redis.call('PTTL', event_key(id)) <= 0 then return 0 end
if ARGV[4] ~= '1' and redis.call('EXISTS', done_key(id, consumer)) == 1 then return -1 end
if (ARGV[6] or '') ~= '' and not lane_start(consumer, ARGV[6], math.floor(tonumber(ARGV[5]) * 1000), ARGV[7] == '1') then
  return -2
end
transition(id, consumer, 'processing', ARGV[3], false, ARGV[5])
return redis.call('HGETALL', event_key(id))
