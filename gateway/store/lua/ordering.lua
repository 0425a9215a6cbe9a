-- Ordered delivery per key: functions shared by every worker-side script (loaded after lanes.lua and
-- before record.lua, so each script stays one atomic step). An ordered consumer (``ordered`` in its lane
-- hash) delivers the events that share a key (a customer, an order, a repository) one at a time, in the
-- order the gateway stored them; other keys go on in parallel, through the lane as before.
--
-- The order is an event's ``ord`` (its receipt in µs, raised by ingest.lua above the last one its
-- source got, so it is the order of storing; received_at for an event stored without one). A delivery
-- of key K may go into the lane when it holds K: K is free, it is K's oldest pending delivery, and every
-- event its source stored before it has been dispatched (the watermark), so none can still join ahead.
--   ordering_pending_key(c, k)  zset  c's deliveries of key k not yet released: event ids by ord
--   ordering_keys_key(c)        hash  event id -> its key (a release needs only the event)
--   ordering_holders_key(c)     hash  key -> the event holding it: in the lane, not yet released
--   ordering_parked_key(c)      hash  event id -> its parked message's id (data in HELD_MESSAGES, where
--                                     message_exists finds it: the reconciler knows it is somewhere)
--   ordering_blocked_key(c)     zset  keys whose holder failed (retrying, or dead with on_dead = hold),
--                                     by since when (unix ms)
--   ordering_due_key(c)         zset  keys whose next delivery waits only for the watermark, by its ord
--   ORDERING_WAITING            zset  ordered consumers to look at again, by when (unix ms)
--   undispatched_key(s)         zset  the source's events whose dispatch is on its way, by ord
--   ORDERED_SOURCES             hash  sources with an ordered consumer -> the last ord given
-- The holder is released (record.lua's transition) when its consumer's state becomes processed,
-- filtered or discarded, or dead with on_dead = skip; then the key's next delivery goes on.

--- Ordered consumers with keys waiting for the watermark are looked at again this soon (ms): a watermark
--- that moved without a dispatch (an expired event) is seen within it.
local ORDERING_RECHECK_MS = 100
--- Held keys are looked at this often for a holder whose event expired (ms): one that expired while its
--- lane held it (a long pause) has no attempt left to free its key.
local ORDERING_SWEEP_MS = 5000
--- Keys moved on, or swept, per consumer in one look; more on the next.
local ORDERING_BATCH = 200
--- Members of gone events dropped from a watermark in one look.
local ORDERING_PRUNE = 100
--- A consumer's state that frees its key.
local ORDERING_RELEASING = {processed = true, filtered = true, discarded = true}

--- An ord as Redis and Lua both read it exactly (a bare number becomes "1.7e+15" when concatenated).
local function ord_text(ord)
  return string.format('%.0f', ord)
end

--- An event's ord and source; nil when the event is gone.
local function event_order(id)
  local v = redis.call('HMGET', event_key(id), 'ord', 'received_at', 'source')
  if not v[3] then return nil end
  local ord = tonumber(v[1]) or math.floor((tonumber(v[2]) or 0) * 1000000 + 0.5)
  return ord, v[3]
end

--- The ord of the source's oldest event still to be dispatched (nil: none), dropping gone ones.
local function watermark(source)
  local key = undispatched_key(source)
  for _ = 1, ORDERING_PRUNE do
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if #first == 0 then return nil end
    if redis.call('EXISTS', event_key(first[1])) == 1 then return tonumber(first[2]) end
    redis.call('ZREM', key, first[1])
  end
  return 0  -- a long run of gone events: nothing passes now, the next look goes on pruning
end

--- Has every event its source stored before ``ord`` been dispatched? (The event itself may still be
--- on its way: its own fan-out asks.)
local function watermark_passed(source, ord)
  local key, bound = undispatched_key(source), '(' .. ord_text(ord)
  for _ = 1, ORDERING_PRUNE do
    local first = redis.call('ZRANGEBYSCORE', key, '-inf', bound, 'LIMIT', 0, 1)
    if #first == 0 then return true end
    if redis.call('EXISTS', event_key(first[1])) == 1 then return false end
    redis.call('ZREM', key, first[1])
  end
  return false
end

--- Look at the consumer again at ``when`` (or sooner, if it already waits for something sooner).
local function ordering_wake(name, when)
  wake_at(ORDERING_WAITING, name, when)
end

--- Forget a delivery of ``key`` (released, or its event gone): its place, its parked message, its hold.
local function ordering_forget(name, id, key)
  redis.call('HDEL', ordering_keys_key(name), id)
  redis.call('ZREM', ordering_pending_key(name, key), id)
  local parked = redis.call('HGET', ordering_parked_key(name), id)
  if parked then
    redis.call('HDEL', ordering_parked_key(name), id)
    redis.call('HDEL', HELD_MESSAGES, parked)
  end
  if redis.call('HGET', ordering_holders_key(name), key) == id then
    redis.call('HDEL', ordering_holders_key(name), key)
    redis.call('ZREM', ordering_blocked_key(name), key)
  end
end

--- The event holding ``key``, if any; a holder whose event expired or was purged is forgotten.
local function ordering_holder(name, key)
  local holder = redis.call('HGET', ordering_holders_key(name), key)
  if holder and redis.call('EXISTS', event_key(holder)) == 0 then
    ordering_forget(name, holder, key)
    return nil
  end
  return holder
end

--- Keep a delivery whole until its turn: its message where message_exists finds it.
local function ordering_park(name, id, message_id, message)
  local parked = ordering_parked_key(name)
  local old = redis.call('HGET', parked, id)
  if old and old ~= message_id then redis.call('HDEL', HELD_MESSAGES, old) end  -- a replay's replaces it
  redis.call('HSET', parked, id, message_id)
  redis.call('HSET', HELD_MESSAGES, message_id, message)
end

--- ``key``'s next delivery waits only for the watermark: look again soon (a dispatch that moves the
--- watermark looks at once).
local function ordering_wait(name, key, ord, now_ms)
  redis.call('ZADD', ordering_due_key(name), ord_text(ord), key)
  ordering_wake(name, now_ms + ORDERING_RECHECK_MS)
end

--- ``key`` is held by ``id`` from now on (its delivery goes into the lane).
local function ordering_hold(name, key, id, now_ms)
  redis.call('HSET', ordering_holders_key(name), key, id)
  redis.call('ZREM', ordering_due_key(name), key)
  ordering_wake(name, now_ms + ORDERING_SWEEP_MS)
end

--- If ``key`` is free, its oldest pending delivery goes into the lane once its turn has come (else it
--- waits for the watermark); deliveries whose event is gone are forgotten on the way.
local function ordering_advance(name, key, now_ms)
  if ordering_holder(name, key) then return end
  local pending, parked = ordering_pending_key(name, key), ordering_parked_key(name)
  for _ = 1, ORDERING_PRUNE do
    local head = redis.call('ZRANGE', pending, 0, 0)[1]
    if not head then
      redis.call('ZREM', ordering_due_key(name), key)
      return
    end
    local message_id = redis.call('HGET', parked, head)
    local message = message_id and redis.call('HGET', HELD_MESSAGES, message_id)
    local ord, source = event_order(head)
    if not ord or not message then
      -- Gone, or nowhere (its carrier lost: the reconciler sends it again, and it joins again).
      ordering_forget(name, head, key)
    elseif not watermark_passed(source, ord) then
      ordering_wait(name, key, ord, now_ms)
      return
    else
      redis.call('HDEL', parked, head)
      redis.call('HDEL', HELD_MESSAGES, message_id)
      ordering_hold(name, key, head, now_ms)
      lane_push(name, message_id, message, now_ms)
      return
    end
  end
  ordering_wait(name, key, 0, now_ms)  -- a long run of gone ones: go on at the next look
end

--- A delivery for a consumer's lane: for an ordered consumer it joins its key's pending deliveries and
--- goes on only when it holds the key; otherwise it is parked until its turn. True when it may go into
--- the lane now. A delivery with no key (none in its message, none pending for its event: a dead
--- letter's retry after its key moved on) is not ordered.
local function ordering_admit(name, message_id, message, now_ms)
  if redis.call('HGET', lane_key(name), 'ordered') ~= '1' then return true end
  local decoded = cjson.decode(message)
  local id = decoded['args'][1]
  local key = type(decoded['options']) == 'table' and decoded['options'][ORDER_KEY_OPTION]
  if type(key) ~= 'string' or key == '' then
    key = redis.call('HGET', ordering_keys_key(name), id)
    if not key then return true end
  end
  local ord, source = event_order(id)
  if not ord then return true end  -- gone: its attempt finds it gone
  local pending = ordering_pending_key(name, key)
  redis.call('ZADD', pending, ord_text(ord), id)
  redis.call('HSET', ordering_keys_key(name), id, key)
  local holder = ordering_holder(name, key)
  if holder == id then return true end  -- the holder's retry or redelivery
  if not holder and redis.call('ZRANGE', pending, 0, 0)[1] == id then
    if watermark_passed(source, ord) then
      ordering_hold(name, key, id, now_ms)
      return true
    end
    ordering_park(name, id, message_id, message)
    ordering_wait(name, key, ord, now_ms)
    return false
  end
  ordering_park(name, id, message_id, message)
  if not holder then ordering_advance(name, key, now_ms) end  -- an older one, parked, may go now
  return false
end

--- Dispatch's own first attempt of an ordered consumer's delivery (``begin.lua``): it takes its key if
--- the key is free, no older delivery of it waits, and the watermark has passed it; then it holds the
--- key. Otherwise nothing is written and dispatch hands the delivery over, to wait its turn parked.
local function ordering_take(name, id, key, now_ms)
  if redis.call('HGET', lane_key(name), 'ordered') ~= '1' then return true end
  local ord, source = event_order(id)
  if not ord then return true end
  local holder = ordering_holder(name, key)
  if holder then return holder == id end
  local pending = ordering_pending_key(name, key)
  local head = redis.call('ZRANGE', pending, 0, 0, 'WITHSCORES')
  if #head > 0 and head[1] ~= id and tonumber(head[2]) < ord then return false end
  if not watermark_passed(source, ord) then return false end
  redis.call('ZADD', pending, ord_text(ord), id)
  redis.call('HSET', ordering_keys_key(name), id, key)
  ordering_hold(name, key, id, now_ms)
  return true
end

--- A consumer is done with an event: its key is free, and the key's next delivery goes on.
local function ordering_release(name, id, now_ms)
  local key = redis.call('HGET', ordering_keys_key(name), id)
  if not key then return end
  ordering_forget(name, id, key)
  ordering_advance(name, key, now_ms)
end

--- A consumer of an event changed state (record.lua's transition; ``gone``: the event expired): a
--- holder that succeeded, was declined, discarded or (on_dead = skip) dead-lettered frees its key; one
--- that failed, or (on_dead = hold) is dead, blocks it.
local function ordering_transition(name, id, state, now_ms, gone)
  local key = redis.call('HGET', ordering_keys_key(name), id)
  if not key then return end
  if gone or ORDERING_RELEASING[state] then
    ordering_release(name, id, now_ms)
  elseif state == 'dead' and redis.call('HGET', lane_key(name), 'on_dead') == 'skip' then
    ordering_release(name, id, now_ms)
  elseif (state == 'retrying' or state == 'dead') and redis.call('HGET', ordering_holders_key(name), key) == id then
    redis.call('ZADD', ordering_blocked_key(name), 'NX', now_ms, key)
    ordering_wake(name, now_ms + ORDERING_SWEEP_MS)
  end
end

--- Look at an ordered consumer: its keys whose turn came with the watermark go on; every
--- ORDERING_SWEEP_MS, a slice of its held keys is looked at, and those whose holder's event is gone
--- are freed.
local function ordering_pump(name, now_ms)
  local due = ordering_due_key(name)
  local source = redis.call('HGET', lane_key(name), 'source')
  local bound = '+inf'
  if source and source ~= '' then
    local w = watermark(source)
    if w then bound = '(' .. ord_text(w) end
  end
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', bound, 'LIMIT', 0, ORDERING_BATCH)) do
    redis.call('ZREM', due, key)
    ordering_advance(name, key, now_ms)
  end
  local holders = ordering_holders_key(name)
  local sweep = redis.call('HMGET', lane_key(name), 'ordering_swept_at', 'ordering_sweep_cursor')
  local next_sweep = (tonumber(sweep[1]) or 0) + ORDERING_SWEEP_MS
  if now_ms >= next_sweep then
    next_sweep = now_ms + ORDERING_SWEEP_MS
    local scan = redis.call('HSCAN', holders, sweep[2] or '0', 'COUNT', ORDERING_BATCH)
    redis.call('HSET', lane_key(name), 'ordering_swept_at', now_ms, 'ordering_sweep_cursor', scan[1])
    for i = 1, #scan[2], 2 do
      if redis.call('EXISTS', event_key(scan[2][i + 1])) == 0 then ordering_advance(name, scan[2][i], now_ms) end
    end
  end
  redis.call('ZREM', ORDERING_WAITING, name)
  if redis.call('EXISTS', due) == 1 then
    ordering_wake(name, now_ms + ORDERING_RECHECK_MS)
  elseif redis.call('EXISTS', holders) == 1 then
    ordering_wake(name, math.max(now_ms, next_sweep))
  end
end

--- The event's dispatch is over (its deliveries queued, or none): it leaves its source's undispatched
--- events; if it was the oldest, the watermark moved and the ordered consumers waiting look again.
local function ordering_dispatched(id, source, now_ms)
  if type(source) ~= 'string' or source == '' then source = redis.call('HGET', event_key(id), 'source') end
  if not source then return end
  local key = undispatched_key(source)
  if not redis.call('ZSCORE', key, id) then return end  -- an unordered source's events never were
  local oldest = redis.call('ZRANGE', key, 0, 0)[1]
  redis.call('ZREM', key, id)
  if oldest ~= id then return end
  for _, name in ipairs(redis.call('ZRANGE', ORDERING_WAITING, 0, 99)) do
    if redis.call('HGET', lane_key(name), 'source') == source then ordering_pump(name, now_ms) end
  end
end

--- A dispatch message is on its way for an event (a replay, a dead dispatch's retry, a repair): until it
--- is dispatched, events of its source stored after it wait for it, as at ingest.
local function ordering_undispatched(message)
  local decoded = cjson.decode(message)
  local id, source = decoded['args'][1], decoded['args'][2]
  if type(source) ~= 'string' or source == '' then source = redis.call('HGET', event_key(id), 'source') end
  if not source or redis.call('HEXISTS', ORDERED_SOURCES, source) == 0 then return end
  local ord = event_order(id)
  if ord then redis.call('ZADD', undispatched_key(source), ord_text(ord), id) end
end

--- A consumer no longer ordered (a worker announced it so): what it parked goes into its lane, and its
--- ordering state is dropped.
local function ordering_dissolve(name, now_ms)
  local parked = redis.call('HGETALL', ordering_parked_key(name))
  for i = 1, #parked, 2 do
    local message = redis.call('HGET', HELD_MESSAGES, parked[i + 1])
    redis.call('HDEL', HELD_MESSAGES, parked[i + 1])
    if message then lane_push(name, parked[i + 1], message, now_ms) end
  end
  local seen = {}
  for _, key in ipairs(redis.call('HVALS', ordering_keys_key(name))) do
    if not seen[key] then
      seen[key] = true
      redis.call('DEL', ordering_pending_key(name, key))
    end
  end
  redis.call('DEL', ordering_keys_key(name), ordering_holders_key(name), ordering_parked_key(name),
    ordering_blocked_key(name), ordering_due_key(name))
  redis.call('ZREM', ORDERING_WAITING, name)
  return #parked / 2
end
