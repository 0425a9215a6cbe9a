-- A worker gives back the messages of one queue that it holds in Redis (its ack set) but no longer in
-- memory (a fetch whose reply was lost, a cache dropped on a connection error, an outcome it could not
-- record): each goes back to the front of its queue, since it was fetched before what is waiting there.
-- KEYS: 1 this worker's ack set for the queue, 2 the queue, 3 the queue's messages hash
-- ARGV: the message ids this worker still holds
-- Returns how many messages were given back.
local held = {}
for i = 1, #ARGV do held[ARGV[i]] = true end
local given = 0
for _, message_id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not held[message_id] then
    redis.call('SREM', KEYS[1], message_id)
    if redis.call('HEXISTS', KEYS[3], message_id) == 1 then
      redis.call('LPUSH', KEYS[2], message_id)
      given = given + 1
    end
  end
end
return given
