-- One delivery against a source's rate limit: a fixed-window counter shared by every gateway process.
-- KEYS: 1 the window's counter (keys.rate)
-- ARGV: 1 the window (ms), 2 the limit
-- Returns 0 while under the limit, else the milliseconds until the window resets (at least 1).
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return math.max(redis.call('PTTL', KEYS[1]), 1) end
return 0
