"""The Redis data model: every key hookgate writes, the Lua scripts that write them (``lua/``, loaded
once by ``scripts``), and the classes that own each family's reads and writes (``events``, ``ingest``;
the processing record is ``gateway.store.ledger`` and ``gateway.store.dlq`` over ``lua/record.lua``).

Key catalogue: ``keys.py`` builds every name (``hg`` is ``keys.PREFIX``, ``hg:mq`` Dramatiq's
namespace), for Python and, as generated Lua locals, for the scripts (``scripts``). "event" TTL: the
event's retention (``[retention] events_days``), set when it is stored.

hg:evt:{event}                hash    TTL event. source, delivery_id, event_type, received_at, headers,
                                      body, dedupe_basis, status, deliveries, traceparent (tracing on),
                                      ord (its source has an ordered consumer: its place, µs).
                                      W: lua/ingest.lua; status: lua/record.lua. R: events, lua/begin.lua
hg:dedupe:{source}:{id}       string  TTL dedupe window (body-sha256:{hex} for the body hash).
                                      W/R: lua/ingest.lua
hg:idx:all, hg:idx:src:{s}    zset    event ids by received time, trimmed to retention on ingest.
                                      W: lua/ingest.lua. R: events (pages, filters, replay, counts)
hg:idx:status:{status}        zset    event ids in that status, by received time; counted with ZCOUNT
                                      over the retention (exact, O(log n)). Trimmed as written; TTL its
                                      newest event's. W: lua/ingest.lua (queued), lua/record.lua. R: events
hg:sources                    set     the sources events were stored for. TTL event. W: lua/ingest.lua
hg:cs:{event}                 hash    consumer -> state. TTL event. W: lua/record.lua. R: gateway.store.ledger
hg:att:{event}                list    attempt records (JSON). TTL event. W: lua/record.lua. R: ledger
hg:done:{event}:{consumer}    string  the idempotency ledger. TTL event. W: lua/record.lua.
                                      R: lua/begin.lua, lua/record.lua (fan-out)
hg:carrier:{event}            hash    slot (consumer or "dispatch") -> message id. TTL event.
                                      W: lua/record.lua, lua/repair.lua. R: reconciler
hg:unsettled                  zset    events not yet settled, by last change. W: lua/ingest.lua,
                                      lua/record.lua. R: reconciler (which prunes gone ones)
hg:wait, hg:wait:msgs         zset + hash   waiting messages by due time (ms), and their data.
                                      W: lua/record.lua (schedule). R: lua/promote.lua
hg:stats:repairs              string  reconciler repairs, ever. W: lua/repair.lua. R: operate (stats)
hg:replays:{event}            string  forced replays so far (the :r{n} key). TTL event. W/R: operate
hg:replay:{replay}            hash    a bulk replay's progress. TTL a day. W: the replay actor. R: API
hg:dlq, hg:dlq:c:{consumer}   zset    dead letters by failure time (all; per consumer). W: lua/record.lua.
                                      R: gateway.store.dlq, backlog
hg:dlq:consumers              set     consumers with dead letters. W: lua/record.lua. R: backlog
hg:dlq:{entry}                hash    one dead letter. TTL event, at least a day. W: lua/record.lua.
                                      R: gateway.store.dlq
hg:issue:{issue}              hash    a failure group or condition; :events, :dlq zsets. Pruned after
                                      retention. W: lua/record.lua, alerts.issues. R: alerts
hg:issues, hg:issues:open     zset by last seen, set of open/acknowledged. W/R: as hg:issue
                                      (an operator's status change: lua/issue_status.lua)
hg:consumer:{name}            hash    last_success, last_failure, failing_since. W: lua/record.lua.
                                      R: alerts. hg:consumers: the set of their names
hg:cnt:{kind}:{name}:{minute} string  per-minute counts (sig, fail, dead). TTL a day.
                                      W: lua/record.lua, the receiver. R: alerts
hg:alert:{rule}:{issue}       hash    what a rule notified about an issue; hg:alerts:active indexes them;
                                      hg:rule:{rule} a condition's memory. W/R: alerts.evaluator
hg:outbox, hg:outbox:{item}   zset by due time + hash   notifications to send. W: alerts.evaluator.
                                      R: alerts.outbox (claims with lua/outbox_claim.lua)
hg:record:pending             zset    with the record on: events new or changed since last written, by
                                      last change (ms). W: lua/ingest.lua, lua/record.lua (dirty).
                                      R/W: lua/archived.lua (the record's writer). hg:record:on: the flag
                                      that turns it on (set by workers with [record])
hg:lease:{name}               string  the holder of a singleton chore (reconciler, alerts, record writer).
                                      W/R: platform.lease (lua/lease_take.lua, lua/lease_release.lua)
hg:rl:{source}:{window}       string  rate-limit window counter. W/R: limits (lua/rate_limit.lua)
hg:consumers:known            set     the consumers the workers run. W: workers at start. R: operate
hg:dash:out:{session}         string  a logged-out dashboard session. W/R: dashboard
hg:mq:{queue}, .msgs          list + hash   Dramatiq's queues (dispatch, deliver) and messages.
                                      W: lua/ingest.lua, lua/record.lua, Dramatiq. R: Dramatiq, backlog
hg:mq:__acks__.{worker}.{q}   set     what a worker holds (Dramatiq). W: Dramatiq, lua/settle.lua (the
                                      ack), lua/give_back.lua. R: holdings (give-back)
hg:mq:__heartbeats__          zset    workers' heartbeats (Dramatiq, housekeeping). R: alerts
hg:ord:sources                hash    sources with an ordered consumer -> the last ord given. W: workers
                                      at start (lanes), lua/ingest.lua. R: lua/ingest.lua, lua/ordering.lua
hg:undispatched:{source}      zset    the source's events whose dispatch is on its way, by ord: the
                                      watermark ordered deliveries wait for. Gone events are dropped when
                                      met. W: lua/ingest.lua, lua/ordering.lua (via record.lua). R: the same
hg:ord:{consumer}:q:{key}     zset    an ordered consumer's deliveries of one key not yet released, by ord.
                                      W/R: lua/ordering.lua. R: gateway.store.lanes (waiting behind a key)
hg:ord:{consumer}:keys        hash    event -> its key; :holders key -> the event holding it; :parked
                                      event -> its parked message's id (data in hg:lane:held:msgs).
                                      W/R: lua/ordering.lua. R: gateway.store.lanes
hg:ord:{consumer}:blocked     zset    keys whose holder failed, by since when (ms); :due keys waiting for
                                      the watermark, by ord. W/R: lua/ordering.lua. R: lanes, backlog
hg:ord:waiting                zset    ordered consumers to look at again, by when (ms). W/R: lua/ordering.lua,
                                      lua/promote.lua
"""
