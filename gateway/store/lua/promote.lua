-- Moves waiting messages that are due to the end of their queues (a delivery through its lane), at most
-- ARGV[2] of them; any worker may run it, the first one to get there moves each message once. Then starts
-- what the lanes that hold deliveries admit now (their rate slot came, their cool-down ended), and the
-- ordered deliveries whose turn came (the watermark moved; a blocked key's holder expired).
-- KEYS: 1 waiting (zset of message ids by due time, unix ms), 2 waiting messages (id -> Dramatiq JSON)
-- ARGV: 1 now (unix ms), 2 limit
-- Returns how many were moved.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, message_id in ipairs(due) do
  local message = redis.call('HGET', KEYS[2], message_id)
  if message then
    enqueue(cjson.decode(message)['queue_name'], message_id, message, tonumber(ARGV[1]) / 1000)
  end
  redis.call('ZREM', KEYS[1], message_id)
  redis.call('HDEL', KEYS[2], message_id)
end
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', LANES_WAITING, '-inf', ARGV[1], 'LIMIT', 0, 100)) do
  lane_drain(lane, tonumber(ARGV[1]))
end
for _, consumer in ipairs(redis.call('ZRANGEBYSCORE', ORDERING_WAITING, '-inf', ARGV[1], 'LIMIT', 0, 100)) do
  ordering_pump(consumer, tonumber(ARGV[1]))
end
return #due
