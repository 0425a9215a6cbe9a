-- Destination lanes: functions shared by every worker-side script (loaded before record.lua, so each
-- script stays one atomic step). Every consumer's deliveries pass through its lane, which decides
-- whether one may start now or waits, held in Redis:
--   lane_key(name)            hash   settings a worker announced (max_in_flight, interval_ms, breaker,
--                                    failures_to_open, ratio, window_ms, min_requests, cooldown_ms,
--                                    max_cooldown_ms) and the lane's state: state (closed | open |
--                                    half-open), paused, failures (in a row), reopen_at, cooldown_cur_ms,
--                                    probe, tat (next rate slot), last_error, last_failure_at, ...
--   lane_held_key(name)       zset   held deliveries: message ids by when they joined, oldest first
--   lane_in_flight_key(name)  zset   attempts running (message ids by when they started) until they settle
--   lane_window_key(name, b)  hash   a ratio breaker's attempts (n) and failures (failed) in bucket b
--   HELD_MESSAGES             hash   held messages' data by id, whichever lane holds them
--   LANES_WAITING             zset   lanes holding deliveries, by when one may next start (unix ms)
-- A held delivery spends no retry and is never dead-lettered for being held; it goes to the queue, oldest
-- first, when the lane admits it (closed, or half-open as its one probe; not paused; at the lane's rate),
-- and its attempt starts when the destination has room (below max_in_flight once it is slow or failing).

--- An admitted delivery whose message is nowhere after this long (a lost message the reconciler
--- replaced) no longer counts against max_in_flight.
local LANE_STALE_MS = 60000
--- A lane that waits for a delivery to settle (or for a resume) is started by that settle; it also
--- looks again this often, so nothing held waits on a settle it missed.
local LANE_RECHECK_MS = 1000
--- An attempt running this long makes its destination slow: then max_in_flight bounds it. A fast one
--- (a few milliseconds an attempt) is never held for it, whatever the load.
local LANE_SLOW_MS = 100
--- Held deliveries moved to their queue per lane in one step; a longer backlog goes on next tick.
local LANE_DRAIN_BATCH = 200
--- A ratio breaker's window is kept in this many buckets.
local LANE_BUCKETS = 10

--- Put a message (Dramatiq's JSON) at the end of its queue, as Dramatiq's enqueue does, and leave a token
--- on the queue's wake list (none if one is there) for a worker idly waiting on it.
local function queue_push(queue, message_id, message)
  redis.call('HSET', messages_key(queue), message_id, message)
  redis.call('RPUSH', queue_key(queue), message_id)
  if redis.call('LLEN', wake_key(queue)) == 0 then redis.call('RPUSH', wake_key(queue), 1) end
end

--- Is this message anywhere: queued, held by a worker (both keep its data), waiting or held in a lane?
local function message_exists(message_id)
  return redis.call('HEXISTS', messages_key(DISPATCH_QUEUE), message_id) == 1
    or redis.call('HEXISTS', messages_key(DELIVER_QUEUE), message_id) == 1
    or redis.call('HEXISTS', WAITING_MESSAGES, message_id) == 1
    or redis.call('HEXISTS', HELD_MESSAGES, message_id) == 1
end

local LANE_FIELDS = {'max_in_flight', 'interval_ms', 'breaker', 'failures_to_open', 'ratio', 'window_ms',
  'min_requests', 'cooldown_ms', 'max_cooldown_ms', 'state', 'paused', 'failures', 'cooldown_cur_ms',
  'reopen_at', 'probe', 'tat'}

--- A lane's settings and state in one read. A lane no worker announced has no bound and no breaker.
local function lane_read(name)
  local v = redis.call('HMGET', lane_key(name), unpack(LANE_FIELDS))
  return {
    max_in_flight = tonumber(v[1]) or 0,
    interval_ms = tonumber(v[2]) or 0,
    breaker = v[3] == '1',
    failures_to_open = tonumber(v[4]) or 5,
    ratio = tonumber(v[5]) or 0,
    window_ms = tonumber(v[6]) or 300000,
    min_requests = tonumber(v[7]) or 10,
    cooldown_ms = tonumber(v[8]) or 30000,
    max_cooldown_ms = tonumber(v[9]) or 600000,
    state = v[10] or 'closed',
    paused = v[11] == '1',
    failures = tonumber(v[12]) or 0,
    cooldown_cur_ms = tonumber(v[13]) or 0,
    reopen_at = tonumber(v[14]) or 0,
    probe = v[15],
    tat = tonumber(v[16]) or 0,
  }
end

--- Forget the oldest admitted delivery if its message is nowhere any more (see LANE_STALE_MS).
local function lane_prune(name, now_ms)
  local oldest = redis.call('ZRANGE', lane_in_flight_key(name), 0, 0, 'WITHSCORES')
  if #oldest == 0 or now_ms - tonumber(oldest[2]) < LANE_STALE_MS then return end
  if not message_exists(oldest[1]) then redis.call('ZREM', lane_in_flight_key(name), oldest[1]) end
end

--- May this delivery go to the deliver queue now: not paused, the breaker closed (or this the one probe
--- of a half-open one), its rate slot come? Admitting it takes the slot. When not: false and the time to
--- look again (unix ms).
local function lane_admit(name, message_id, now_ms)
  local lane = lane_read(name)
  if lane.paused then return false, now_ms + 5 * LANE_RECHECK_MS end
  local key = lane_key(name)
  if lane.state == 'open' then
    if now_ms < lane.reopen_at then return false, lane.reopen_at end
    redis.call('HSET', key, 'state', 'half-open')
    redis.call('HDEL', key, 'probe')
    lane.state, lane.probe = 'half-open', nil
  end
  if lane.state == 'half-open' then
    if lane.probe == message_id then return true end
    local probing = lane.probe and (message_exists(lane.probe)
      or redis.call('ZSCORE', lane_in_flight_key(name), lane.probe))
    if probing then return false, now_ms + LANE_RECHECK_MS end
  end
  if lane.interval_ms > 0 then
    if now_ms < lane.tat then return false, lane.tat end
    redis.call('HSET', key, 'tat', math.max(lane.tat, now_ms) + lane.interval_ms)
  end
  if lane.state == 'half-open' then redis.call('HSET', key, 'probe', message_id) end
  return true
end

--- May this delivery's attempt start now? It counts as in flight until it settles. A destination that is
--- slow (an attempt running for LANE_SLOW_MS) or failing holds at most max_in_flight attempts (one after
--- a failure); past that, and when the lane holds its deliveries (paused, open, not this one's probe),
--- it is held. ``inline``: the attempt never went through the queue (dispatch runs a single consumer's
--- first attempt itself), so it is admitted here first.
local function lane_start(name, message_id, now_ms, inline)
  local in_flight = lane_in_flight_key(name)
  if redis.call('ZSCORE', in_flight, message_id) then return true end  -- a redelivery
  if inline then
    if not lane_admit(name, message_id, now_ms) then return false end
  end
  local lane = lane_read(name)
  if lane.paused or (lane.state == 'open' and now_ms < lane.reopen_at) then return false end
  if lane.state == 'half-open' and lane.probe ~= message_id then return false end
  if lane.interval_ms > 0 then  -- starts, not only queueing, stay 1/rate apart: a queue's jitter
    local last = tonumber(redis.call('HGET', lane_key(name), 'last_start')) or 0
    if now_ms < last + lane.interval_ms then return false end
  end
  if lane.max_in_flight > 0 then
    local limit = lane.max_in_flight
    local troubled = lane.failures > 0 or lane.state ~= 'closed'
    if troubled then limit = 1 end
    if redis.call('ZCARD', in_flight) >= limit then
      local oldest = redis.call('ZRANGE', in_flight, 0, 0, 'WITHSCORES')
      if troubled or now_ms - tonumber(oldest[2]) >= LANE_SLOW_MS then
        lane_prune(name, now_ms)
        if redis.call('ZCARD', in_flight) >= limit then return false end
      end
    end
  end
  redis.call('ZADD', in_flight, now_ms, message_id)
  if lane.interval_ms > 0 then redis.call('HSET', lane_key(name), 'last_start', now_ms) end
  return true
end

--- ``member`` of the schedule ``zset`` is due at ``when``, or sooner if it already is (written out:
--- ZADD's LT flag needs Redis 6.2). Lanes and ordered consumers are scheduled this way.
local function wake_at(zset, member, when)
  local current = tonumber(redis.call('ZSCORE', zset, member))
  if not current or when < current then redis.call('ZADD', zset, when, member) end
end

--- Look at the lane again at ``when`` (or sooner, if it already waits for something sooner).
local function lane_wake(name, when)
  wake_at(LANES_WAITING, name, when)
end

--- Hold a delivery in its lane, behind those that joined before ``score`` (unix ms).
local function lane_hold(name, message_id, message, score, now_ms, wake_at)
  redis.call('ZREM', lane_in_flight_key(name), message_id)
  redis.call('ZADD', lane_held_key(name), score, message_id)
  redis.call('HSET', HELD_MESSAGES, message_id, message)
  lane_wake(name, wake_at or (now_ms + LANE_RECHECK_MS))
end

--- A delivery for the lane: it starts now (to the deliver queue) if nothing is held ahead of it and the
--- lane admits it, else it is held. Returns true when it was queued.
local function lane_push(name, message_id, message, now_ms)
  if redis.call('EXISTS', lane_held_key(name)) == 0 then
    local ok, wake = lane_admit(name, message_id, now_ms)
    if ok then
      queue_push(DELIVER_QUEUE, message_id, message)
      return true
    end
    lane_hold(name, message_id, message, now_ms, now_ms, wake)
    return false
  end
  lane_hold(name, message_id, message, now_ms, now_ms, nil)
  return false
end

--- The event a held delivery is for (its first argument), or nil when its data cannot be read.
local function held_event(message)
  local ok, decoded = pcall(cjson.decode, message)
  if ok and type(decoded) == 'table' and type(decoded.args) == 'table' then return decoded.args[1] end
  return nil
end

--- Start as many held deliveries as the lane admits now, oldest first; those of an expired event are
--- dropped (a held delivery lives as long as its event). Returns how many started.
local function lane_drain(name, now_ms)
  local held, moved = lane_held_key(name), 0
  while moved < LANE_DRAIN_BATCH do
    local first = redis.call('ZRANGE', held, 0, 0)
    if #first == 0 then
      redis.call('ZREM', LANES_WAITING, name)
      return moved
    end
    local message_id = first[1]
    local message = redis.call('HGET', HELD_MESSAGES, message_id)
    local event = message and held_event(message)
    if not message or not event or redis.call('EXISTS', event_key(event)) == 0 then
      redis.call('ZREM', held, message_id)
      redis.call('HDEL', HELD_MESSAGES, message_id)
    else
      local ok, wake = lane_admit(name, message_id, now_ms)
      if not ok then
        redis.call('ZADD', LANES_WAITING, wake or (now_ms + LANE_RECHECK_MS), name)
        return moved
      end
      redis.call('ZREM', held, message_id)
      redis.call('HDEL', HELD_MESSAGES, message_id)
      queue_push(DELIVER_QUEUE, message_id, message)
      moved = moved + 1
    end
  end
  redis.call('ZADD', LANES_WAITING, now_ms, name)  -- more to move: on the next look
  return moved
end

--- A ratio breaker's failure share over its window: does it trip (after counting this attempt)?
local function lane_ratio_trips(name, lane, failed, now_ms)
  local bucket_ms = math.max(math.floor(lane.window_ms / LANE_BUCKETS), 1)
  local bucket = math.floor(now_ms / bucket_ms)
  local key = lane_window_key(name, bucket)
  redis.call('HINCRBY', key, 'n', 1)
  if failed then redis.call('HINCRBY', key, 'failed', 1) end
  redis.call('PEXPIRE', key, lane.window_ms + bucket_ms)
  if not failed then return false end
  local n, bad = 0, 0
  for b = bucket - LANE_BUCKETS + 1, bucket do
    local counts = redis.call('HMGET', lane_window_key(name, b), 'n', 'failed')
    n, bad = n + (tonumber(counts[1]) or 0), bad + (tonumber(counts[2]) or 0)
  end
  return n >= lane.min_requests and bad / n >= lane.ratio
end

--- A delivery of the lane settled: 'success', 'failure' (counts against the breaker) or 'neutral' (the
--- destination's own verdict, such as a 4xx). ``retry_after_ms`` > 0 is the destination saying when to
--- come back: the breaker opens for that long. Then the lane starts what it now admits.
local function lane_settle(name, message_id, outcome, retry_after_ms, error, now_ms)
  local key = lane_key(name)
  redis.call('ZREM', lane_in_flight_key(name), message_id)
  local lane = lane_read(name)
  if outcome == 'success' then
    redis.call('HSET', key, 'failures', 0, 'last_success_at', now_ms)
    if lane.state ~= 'closed' then
      redis.call('HSET', key, 'state', 'closed', 'closed_at', now_ms, 'cooldown_cur_ms', 0)
      redis.call('HDEL', key, 'probe', 'reopen_at')
    end
    if lane.breaker and lane.ratio > 0 then lane_ratio_trips(name, lane, false, now_ms) end
  elseif outcome == 'failure' then
    local failures = redis.call('HINCRBY', key, 'failures', 1)
    redis.call('HSET', key, 'last_failure_at', now_ms, 'last_error', error)
    if lane.breaker and lane.state ~= 'open' then
      local trips
      if lane.state == 'half-open' or retry_after_ms > 0 then
        trips = true
      elseif lane.ratio > 0 then
        trips = lane_ratio_trips(name, lane, true, now_ms)
      else
        trips = failures >= lane.failures_to_open
      end
      if trips then
        local cooldown = lane.cooldown_ms
        if lane.state == 'half-open' then cooldown = math.max(lane.cooldown_cur_ms, lane.cooldown_ms) * 2 end
        if retry_after_ms > 0 then cooldown = retry_after_ms end
        cooldown = math.min(cooldown, lane.max_cooldown_ms)
        if lane.state == 'closed' then
          redis.call('HSET', key, 'opened_at', now_ms)
          redis.call('HINCRBY', key, 'opens', 1)
        end
        redis.call('HSET', key, 'state', 'open', 'reopen_at', now_ms + cooldown, 'cooldown_cur_ms', cooldown)
        redis.call('HDEL', key, 'probe')
      end
    end
  end
  lane_drain(name, now_ms)
end

--- Does the lane hold its deliveries now (open, half-open or paused)? A retry due then is held too.
local function lane_holding(name)
  local v = redis.call('HMGET', lane_key(name), 'state', 'paused', 'breaker')
  return v[2] == '1' or (v[3] == '1' and (v[1] or 'closed') ~= 'closed')
end
