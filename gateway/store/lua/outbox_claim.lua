-- Claim the notifications that are due: each is pushed ahead (past any send's timeout), so a sender
-- killed mid-send leaves it due again soon after (gateway/alerts/outbox.py).
-- KEYS: 1 the outbox (keys.OUTBOX)
-- ARGV: 1 now (unix s), 2 the claimed items' new due time, 3 at most this many
-- Returns the claimed item ids.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return due
