-- Settles one message: acknowledges it and writes its outcome in one atomic step, so no message is
-- acknowledged before its outcome (the ledger, the next attempt, the dead letter) is durable. With no
-- message id it only applies the outcome (operator actions, tests).
-- KEYS: 1 this worker's ack set for the message's queue, 2 the queue's messages hash
-- ARGV: 1 message id or '', 2 now (unix seconds), 3 the outcome: a JSON array of operations (record.lua)
-- Returns {mode, results}: mode is 'applied'; 'settled' when the message was already settled (a retry
-- after a lost reply: nothing is written twice); 'taken back' when this worker had been presumed dead and
-- the message requeued: only successes are recorded, so its next run skips them.
local message_id, now = ARGV[1], ARGV[2]
local ops = cjson.decode(ARGV[3])
local only_successes = false
local mode = 'applied'
if message_id ~= '' then
  if redis.call('SREM', KEYS[1], message_id) == 1 then
    redis.call('HDEL', KEYS[2], message_id)
  elseif redis.call('HEXISTS', KEYS[2], message_id) == 0 then
    return {'settled', {}}
  else
    mode, only_successes = 'taken back', true
  end
end
local results = {}
for i, result in pairs(apply(ops, now, only_successes)) do
  if type(result) == 'table' then results[i] = result
  elseif result then results[i] = 1
  else results[i] = 0 end
end
for i = 1, #ops do
  if results[i] == nil then results[i] = 0 end
end
return {mode, results}
