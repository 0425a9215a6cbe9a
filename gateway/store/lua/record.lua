-- The processing record of events: functions shared by every worker-side script (this file is loaded
-- as their prefix, so each script stays one atomic step).
--
-- The keys are locals that gateway/store/scripts.py generates from gateway/store/keys.py (what each holds,
-- its TTL, writer and reader: gateway/store/__init__.py). They derive from ids, as Dramatiq's own
-- dispatch.lua derives its keys from the namespace (a single Redis, never a cluster). Per event, each
-- expiring with the event's hash:
--   event_key(event)             hash   the stored event (and its `traceparent` while tracing); its
--                                       `status` is the worst consumer state
--   states_key(event)            hash   consumer -> queued | processing | processed | retrying | dead | discarded
--                                       | filtered (its filter or transformation declined the event)
--   attempts_key(event)          list   attempt records (JSON), oldest first
--   done_key(event, consumer)    string the idempotency ledger: this consumer succeeded
--   carriers_key(event)          hash   slot (a consumer, or "dispatch") -> the id of the message carrying it
-- Shared:
--   UNSETTLED                    zset   events not yet settled (processed, dead, unrouted, filtered), by last change
--   status_index_key(status)     zset   events in that status, by received time (counted with ZCOUNT)
--   WAITING, WAITING_MESSAGES    zset + hash   waiting messages by due time (unix ms), and their data
--   DLQ_INDEX, dlq_entry_key(id), dlq_by_consumer_key(consumer), DLQ_CONSUMERS   dead letters
--   issue_key(id)                hash   a failure group: consumer, error type, message, counts, status
--   issue_events_key(id), issue_dead_letters_key(id)   zset   its affected events (newest 1,000), dead letters
--   ISSUES, OPEN_ISSUES          zset by last seen, set of open or acknowledged issues
--   consumer_health_key(name)    hash   last_success, last_failure, failing_since (no success since)
--   CONSUMERS                    set    consumers that have failed (destination_down looks at them)
--   counter_key(kind, name, minute)  string  per-minute counts for alert windows (fail, dead), a day
--   RECORD_ON, RECORD_PENDING    string + zset   the record's flag and its pending events
--   queue_key(queue), messages_key(queue)   list + hash   Dramatiq's queues and their messages
-- An ordered consumer's deliveries also pass ordering.lua: a consumer's transition releases or blocks its
-- key, a fan-out is the event's dispatch (the watermark), a delivery joins its key before its lane.

--- A dead letter is kept at least a day, even when its event expires sooner.
local MIN_DEAD_LETTER_TTL_MS = 86400000
--- Per-minute alert counters live a day (the longest window) and a minute.
local COUNTER_TTL_SECONDS = 86460
--- An issue remembers its newest affected events, up to this many.
local ISSUE_EVENTS = 1000

local SETTLED = {processed = true, dead = true, unrouted = true, filtered = true}

--- With the record on (``gateway/record``), note that the event changed so the writer copies it again.
--- The score is the change's time in ms, above the previous one so the writer can tell a change that
--- came while it was writing (it removes an entry only when the score is still the one it read).
local function dirty(id, now)
  if redis.call('EXISTS', RECORD_ON) == 0 then return end
  local score = math.floor(tonumber(now) * 1000)
  local old = tonumber(redis.call('ZSCORE', RECORD_PENDING, id))
  if old and old >= score then score = old + 1 end
  redis.call('ZADD', RECORD_PENDING, score, id)
end

--- Index an event that is still on its way (for the reconciler), or drop it once it has settled.
local function track(id, status, now)
  if SETTLED[status] then
    redis.call('ZREM', UNSETTLED, id)
  else
    redis.call('ZADD', UNSETTLED, now, id)
  end
end

--- Move the event from one status index to the other (``status_index_key(status)``, scored by received
--- time, that ``events stats`` counts over the retention). The index lives as long as its newest event;
--- members of expired events are trimmed as it is written.
local function reindex(id, old, new)
  if redis.call('EXISTS', RECORD_ON) == 1 then return end  -- the record counts and lists events
  local received = tonumber(redis.call('HGET', event_key(id), 'received_at'))
  if not received then return end
  local ttl_ms = redis.call('PTTL', event_key(id))
  if ttl_ms <= 0 then return end
  local index = status_index_key(new)
  redis.call('ZREM', status_index_key(old), id)
  redis.call('ZADD', index, received, id)
  -- Every event lives as long after its receipt, so those received more than this one's remaining
  -- time before it are gone (now - retention = received - remaining).
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. (received - ttl_ms / 1000))
  if redis.call('PTTL', index) < ttl_ms then redis.call('PEXPIRE', index, ttl_ms) end
end

--- Set an event's own status (never resurrecting an expired event), keeping its counts in step.
local function set_event_status(id, status, now)
  local old = redis.call('HGET', event_key(id), 'status')
  if not old then return false end
  if old ~= status then
    redis.call('HSET', event_key(id), 'status', status)
    reindex(id, old, status)
  end
  track(id, status, now)
  dirty(id, now)
  return true
end

--- The event's status is the worst of its consumers' states; a discarded dead letter counts as settled;
--- an event every consumer declined is ``filtered`` (one that any consumer processed is ``processed``).
local function roll_up(id, now)
  local rank = {filtered = 1, processed = 2, discarded = 2, queued = 3, processing = 4, retrying = 5, dead = 6}
  local worst, worst_rank = 'processed', 0
  for _, state in ipairs(redis.call('HVALS', states_key(id))) do
    local r = rank[state] or 0
    if r > worst_rank then worst, worst_rank = state, r end
  end
  if worst == 'discarded' then worst = 'processed' end
  set_event_status(id, worst, now)
end

--- Bump a per-minute counter that alert rules sum over their windows.
local function count(kind, name, now)
  local key = counter_key(kind, name, math.floor(tonumber(now) / 60))
  redis.call('INCR', key)
  redis.call('EXPIRE', key, COUNTER_TTL_SECONDS)
end

--- A failed attempt counted in its issue (failures grouped by consumer, error type and normalised
--- message, ``gateway/store/issues.py``): created open, reopened when resolved, counted when acknowledged
--- or ignored. Also the consumer's failing streak, for ``destination_down``.
local function note_failure(issue, now, dead)
  local key = issue_key(issue.id)
  local status = redis.call('HGET', key, 'status')
  if not status then
    redis.call('HSET', key, 'id', issue.id, 'kind', 'failure', 'consumer', issue.consumer,
      'error_type', issue.type, 'message', issue.message, 'first_seen', now, 'opened_at', now,
      'status', 'open', 'count', 0, 'dead_letters', 0)
    status = 'open'
  elseif status == 'resolved' then
    redis.call('HSET', key, 'status', 'open', 'opened_at', now)
    redis.call('HINCRBY', key, 'reopened', 1)
    status = 'open'
  end
  redis.call('HINCRBY', key, 'count', 1)
  if dead then redis.call('HINCRBY', key, 'dead_letters', 1) end
  redis.call('HSET', key, 'last_seen', now, 'last_error', issue.error, 'last_event', issue.event)
  redis.call('ZADD', issue_events_key(issue.id), now, issue.event)
  redis.call('ZREMRANGEBYRANK', issue_events_key(issue.id), 0, -(ISSUE_EVENTS + 1))
  redis.call('ZADD', ISSUES, now, issue.id)
  if status ~= 'ignored' then redis.call('SADD', OPEN_ISSUES, issue.id) end
  local source = redis.call('HGET', event_key(issue.event), 'source')
  if source then redis.call('HSET', key, 'source', source) end
  count('fail', issue.id, now)
  if dead then count('dead', issue.id, now) end
  local consumer = consumer_health_key(issue.consumer)
  redis.call('SADD', CONSUMERS, issue.consumer)
  redis.call('HSETNX', consumer, 'failing_since', now)
  redis.call('HSET', consumer, 'last_failure', now)
end

--- A consumer succeeded: its failing streak ends (its issues resolve once quiet, ``alerts.issues``).
local function note_success(consumer, now)
  local key = consumer_health_key(consumer)
  redis.call('HSET', key, 'last_success', now)
  redis.call('HDEL', key, 'failing_since')
end

--- Move one consumer of an event to `state`, append an attempt record, mark it done; never resurrects
--- an expired event. Returns false when the event is gone.
local function transition(id, consumer, state, attempt, done, now)
  local ttl = redis.call('PTTL', event_key(id))
  if ttl <= 0 then
    ordering_transition(consumer, id, state, math.floor(tonumber(now) * 1000), true)
    return false
  end
  redis.call('HSET', states_key(id), consumer, state)
  redis.call('PEXPIRE', states_key(id), ttl)
  if attempt and attempt ~= '' then
    redis.call('RPUSH', attempts_key(id), attempt)
    redis.call('PEXPIRE', attempts_key(id), ttl)
  end
  if done then redis.call('SET', done_key(id, consumer), '1', 'PX', ttl) end
  roll_up(id, now)
  ordering_transition(consumer, id, state, math.floor(tonumber(now) * 1000), false)
  return true
end

--- Set the event's own status (unrouted, queued) without touching its consumers.
local function set_status(id, status, now)
  return set_event_status(id, status, now)
end

--- Remember which message carries a slot of the event, so the reconciler can tell a lost one.
local function carry(id, slot, message_id)
  local ttl = redis.call('PTTL', event_key(id))
  if ttl <= 0 then return end
  redis.call('HSET', carriers_key(id), slot, message_id)
  redis.call('PEXPIRE', carriers_key(id), ttl)
end

--- Put a message (Dramatiq's JSON) at the end of its queue; a delivery goes through its consumer's lane
--- (``lanes.lua``), which starts it now or holds it, once its key lets it (``ordering.lua``).
local function enqueue(queue, message_id, message, now, consumer)
  if queue ~= DELIVER_QUEUE then
    queue_push(queue, message_id, message)
    if queue == DISPATCH_QUEUE then ordering_undispatched(message) end
    return
  end
  consumer = consumer or cjson.decode(message)['args'][2]
  local now_ms = math.floor(tonumber(now) * 1000)
  if ordering_admit(consumer, message_id, message, now_ms) then
    lane_push(consumer, message_id, message, now_ms)
  end
end

--- A delivery held by its lane instead of waiting for its retry, with that retry given back: the attempt
--- that failed was the lane's trouble (its breaker opened, or was open), so no retry is spent.
local function hold_retry(consumer, message_id, message, now)
  local decoded = cjson.decode(message)
  local options = decoded['options'] or {}
  if tonumber(options['retries']) and tonumber(options['retries']) > 0 then
    options['retries'] = options['retries'] - 1
    decoded['options'] = options
    message = cjson.encode(decoded)
  end
  local now_ms = math.floor(tonumber(now) * 1000)
  lane_hold(consumer, message_id, message, now_ms, now_ms, nil)
end

--- Keep a message in Redis until it is due; whichever worker promotes it first moves it to its queue.
--- A delivery whose lane holds its deliveries now (breaker open, paused) is held there instead.
local function schedule(id, slot, message_id, message, due, now)
  if slot ~= '' and slot ~= 'dispatch' and lane_holding(slot) then
    hold_retry(slot, message_id, message, now)
  else
    redis.call('ZADD', WAITING, due, message_id)
    redis.call('HSET', WAITING_MESSAGES, message_id, message)
  end
  if id ~= '' then carry(id, slot, message_id) end
end

--- Fan-out: every consumer the ledger has not seen succeed (all of them when forced) is marked queued
--- and its deliver message enqueued; then the event is dispatched (after its deliveries joined their
--- keys, so a later event's cannot pass them). Returns the consumers enqueued.
local function fan_out(id, force, messages, now)
  local ttl = redis.call('PTTL', event_key(id))
  if ttl <= 0 then return {} end
  local pending = {}
  for _, m in ipairs(messages) do
    local consumer, message_id, message = m[1], m[2], m[3]
    if force or redis.call('EXISTS', done_key(id, consumer)) == 0 then
      redis.call('HSET', states_key(id), consumer, 'queued')
      enqueue(DELIVER_QUEUE, message_id, message, now, consumer)
      carry(id, consumer, message_id)
      table.insert(pending, consumer)
    end
  end
  redis.call('PEXPIRE', states_key(id), ttl)
  roll_up(id, now)
  ordering_dispatched(id, nil, math.floor(tonumber(now) * 1000))
  return pending
end

--- The dead letter of an (event, consumer) whose attempts are over: the entry, its indexes, and the
--- consumer marked dead (so a `dead` status always has its entry).
local function dead_letter(op, now)
  local ev = event_key(op.event)
  local source = redis.call('HGET', ev, 'source') or ''
  local event_type = redis.call('HGET', ev, 'event_type') or ''
  local ttl = math.max(redis.call('PTTL', ev), MIN_DEAD_LETTER_TTL_MS)
  local key = dlq_entry_key(op.entry)
  redis.call('HSET', key,
    'id', op.entry, 'event_id', op.event, 'consumer', op.consumer, 'source', source,
    'event_type', event_type, 'error_type', op.error_type, 'error', op.error,
    'traceback', op.traceback, 'attempts', op.attempts, 'failed_at', op.failed_at)
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', DLQ_INDEX, op.failed_at, op.entry)
  redis.call('ZADD', dlq_by_consumer_key(op.consumer), op.failed_at, op.entry)
  redis.call('SADD', DLQ_CONSUMERS, op.consumer)
  if op.issue then
    redis.call('HSET', key, 'issue', op.issue.id)
    redis.call('ZADD', issue_dead_letters_key(op.issue.id), op.failed_at, op.entry)
    note_failure(op.issue, now, true)
  end
  if op.consumer ~= 'dispatch' then
    transition(op.event, op.consumer, 'dead', op.attempt, false, now)
  else  -- its dispatch is over: events stored after it stop waiting for it
    ordering_dispatched(op.event, source, math.floor(tonumber(now) * 1000))
  end
  return op.entry
end

--- An outcome is a list of these operations (JSON), applied in order.
local OPERATIONS = {
  transition = function(op, now)
    -- An attempt started before its filter was checked, and declined by it: no attempt was made.
    if op.retract then redis.call('LREM', attempts_key(op.event), -1, op.retract) end
    if op.issue then note_failure(op.issue, now, false) end
    if op.done then note_success(op.consumer, now) end
    return transition(op.event, op.consumer, op.state, op.attempt, op.done, now)
  end,
  status = function(op, now) return set_status(op.event, op.status, now) end,
  fan_out = function(op, now) return fan_out(op.event, op.force, op.messages, now) end,
  schedule = function(op, now) schedule(op.event, op.slot, op.id, op.message, op.due, now) return true end,
  enqueue = function(op, now)
    enqueue(op.queue, op.id, op.message, now)
    if op.event ~= '' then
      carry(op.event, op.slot, op.id)
      if redis.call('EXISTS', event_key(op.event)) == 1 then redis.call('ZADD', UNSETTLED, now, op.event) end
    end
    return true
  end,
  dead_letter = function(op, now) return dead_letter(op, now) end,
  -- Dispatch routed the event (to its consumers, or to none): ordered deliveries stop waiting for it.
  dispatched = function(op, now)
    ordering_dispatched(op.event, op.source, math.floor(tonumber(now) * 1000))
    return true
  end,
  -- A worker announced a consumer that is not ordered: what it parked goes into its lane. How many.
  unorder = function(op, now) return ordering_dissolve(op.consumer, math.floor(tonumber(now) * 1000)) end,
  -- An attempt of a lane's delivery settled: success, failure or neutral (``lane_settle``).
  lane = function(op, now)
    lane_settle(op.consumer, op.id, op.outcome, tonumber(op.retry_after_ms) or 0, op.error or '',
      math.floor(tonumber(now) * 1000))
    return true
  end,
  -- An operator pauses (``paused`` true) or resumes a lane; resumed, it starts what it admits.
  lane_pause = function(op, now)
    if op.paused then
      redis.call('HSET', lane_key(op.consumer), 'paused', '1', 'paused_at', now)
    else
      redis.call('HDEL', lane_key(op.consumer), 'paused', 'paused_at')
      lane_drain(op.consumer, math.floor(tonumber(now) * 1000))
    end
    return true
  end,
  -- An operator moves a held delivery to the dead-letter queue (if it is still held).
  drop_held = function(op, now)
    if redis.call('ZREM', lane_held_key(op.consumer), op.id) == 0 then return false end
    redis.call('HDEL', HELD_MESSAGES, op.id)
    dead_letter(op.dead_letter, now)
    return true
  end,
  -- A delivery its lane would not start (breaker open, paused, at its bound): held in the lane, the
  -- consumer queued again (no attempt was made). ``release`` is the admitted message it replaces.
  hold = function(op, now)
    local now_ms = math.floor(tonumber(now) * 1000)
    if op.release and op.release ~= '' then redis.call('ZREM', lane_in_flight_key(op.consumer), op.release) end
    lane_hold(op.consumer, op.id, op.message, now_ms, now_ms, nil)
    lane_drain(op.consumer, now_ms)  -- the place it gave back may start another
    carry(op.event, op.consumer, op.id)
    transition(op.event, op.consumer, 'queued', nil, false, now)
    return true
  end,
}

--- Lane outcomes first: whether a retry waits or is held depends on the breaker after this attempt.
local function apply(ops, now, only_successes)
  local results = {}
  for pass = 1, 2 do
    for i, op in ipairs(ops) do
      local wanted = not only_successes or (op.op == 'transition' and op.done) or op.op == 'lane'
      if (op.op == 'lane') == (pass == 1) and wanted then
        results[i] = OPERATIONS[op.op](op, now)
      end
    end
  end
  return results
end
