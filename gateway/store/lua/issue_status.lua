-- Set an issue's status, keeping the open set (open or acknowledged) in step; never creates an issue
-- (gateway/alerts/issues.py).
-- KEYS: 1 the issue (keys.issue), 2 the open issues (keys.OPEN_ISSUES)
-- ARGV: 1 the status, 2 now (unix s), 3 the issue id
-- Returns 1 when the issue exists, else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local status, now = ARGV[1], ARGV[2]
redis.call('HSET', KEYS[1], 'status', status, 'status_at', now)
if status == 'resolved' then redis.call('HSET', KEYS[1], 'resolved_at', now) end
if status == 'open' then redis.call('HSET', KEYS[1], 'opened_at', now) end
if status == 'open' or status == 'acknowledged' then
  redis.call('SADD', KEYS[2], ARGV[3])
else
  redis.call('SREM', KEYS[2], ARGV[3])
end
return 1
