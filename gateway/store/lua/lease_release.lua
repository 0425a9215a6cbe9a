-- Give a lease up, if this holder still has it (gateway/platform/lease.py).
-- KEYS: 1 the lease (keys.lease)
-- ARGV: 1 the holder
-- Returns 1 when the lease was given up, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
