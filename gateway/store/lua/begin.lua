-- Starts an attempt in one round trip: unless forced, returns -1 when the ledger says the consumer
-- already succeeded; returns 0 when the event is gone; else marks the consumer processing, appends the
-- attempt record and returns the event's fields.
-- ARGV: 1 event id, 2 consumer, 3 attempt record (JSON), 4 '1' to force (a forced replay), 5 now
local id, consumer = ARGV[1], ARGV[2]
if redis.call('PTTL', event_key(id)) <= 0 then return 0 end
if ARGV[4] ~= '1' and redis.call('EXISTS', done_key(id, consumer)) == 1 then return -1 end
transition(id, consumer, 'processing', ARGV[3], false, ARGV[5])
return redis.call('HGETALL', event_key(id))
