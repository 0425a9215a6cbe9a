-- The reconciler's repair of one event that has stayed unsettled with no message anywhere: each slot
-- (the dispatch, or a consumer) whose carrier is still the one the reconciler saw, still missing, and
-- still unsettled gets a new message. Checked again here, atomically, so a message that turned up or
-- moved since the reconciler looked is never doubled.
-- ARGV: 1 event id, 2 now (unix s), then per slot six values: slot, the carrier the reconciler saw
--       ('' for none), queue, new message id, message, attempt record ('' for the dispatch)
-- Returns the slots repaired.
local id, now = ARGV[1], ARGV[2]
local status = redis.call('HGET', event_key(id), 'status')
if not status or SETTLED[status] then return {} end
local repaired = {}
for i = 3, #ARGV, 6 do
  local slot, seen, queue, message_id, message, record =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local carrier = redis.call('HGET', carriers_key(id), slot)
  if not carrier and slot == 'dispatch' then carrier = id end
  local unchanged = (carrier or '') == seen
  local lost = not carrier or not message_exists(carrier)
  local unsettled = slot == 'dispatch'
  if slot ~= 'dispatch' then
    local state = redis.call('HGET', states_key(id), slot)
    unsettled = state == 'queued' or state == 'processing' or state == 'retrying'
  end
  if unchanged and lost and unsettled then
    enqueue(queue, message_id, message, now)
    carry(id, slot, message_id)
    if slot ~= 'dispatch' then transition(id, slot, 'queued', record, false, now) end
    table.insert(repaired, slot)
  end
end
if #repaired > 0 then redis.call('INCRBY', REPAIRS, #repaired) end
redis.call('ZADD', UNSETTLED, 'XX', now, id)
return repaired
