-- Bring an archived event back into the hot path (gateway/record/reads.py, for a replay or a dead
-- letter's retry): its hash with the exact stored bytes and headers, its consumers' states and attempts,
-- and the idempotency ledger of those that succeeded, all expiring when the event would have. A no-op
-- when the event is still hot.
-- ARGV: 1 event id, 2 TTL (ms), 3 n, then n pairs of hash field and value, then the consumer states
--       (a JSON object) and the attempt records (a JSON array of JSON strings).
local id, ttl, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('EXISTS', event_key(id)) == 1 then return 0 end
local fields = {}
for i = 4, 3 + 2 * n do table.insert(fields, ARGV[i]) end
redis.call('HSET', event_key(id), unpack(fields))
redis.call('PEXPIRE', event_key(id), ttl)
local states = cjson.decode(ARGV[4 + 2 * n])
for consumer, state in pairs(states) do
  redis.call('HSET', states_key(id), consumer, state)
  redis.call('PEXPIRE', states_key(id), ttl)
  if state == 'processed' then redis.call('SET', done_key(id, consumer), '1', 'PX', ttl) end
end
for _, attempt in ipairs(cjson.decode(ARGV[5 + 2 * n])) do
  redis.call('RPUSH', attempts_key(id), attempt)
  redis.call('PEXPIRE', attempts_key(id), ttl)
end
return 1
