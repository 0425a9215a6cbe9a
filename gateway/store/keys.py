"""Redis key names, in one place so the Lua scripts, the store and the worker agree.

Python builds every key with these functions and constants; the Lua scripts get them as locals that
``gateway.store.scripts`` generates from this module (``event_key(id)`` is ``event(id)``), so a key is
spelled here and nowhere else. What each key holds, its TTL, writer and reader: ``gateway.store``.
"""

from __future__ import annotations

PREFIX = "hg"

# Dramatiq's names. Dramatiq owns these keys (its RedisBroker and dispatch.lua spell them from the
# namespace); they are spelled here once so hookgate's scripts and checks agree with its major version.

#: Dramatiq's own keys live under this namespace (``hg:mq:dispatch``, ``hg:mq:dispatch.msgs``, ...).
DRAMATIQ_NAMESPACE = f"{PREFIX}:mq"
DISPATCH_QUEUE = "dispatch"
DISPATCH_ACTOR = "dispatch"
DELIVER_QUEUE = "deliver"
DELIVER_ACTOR = "deliver"
#: Each worker's last heartbeat (unix ms), by worker id (Dramatiq's ``__heartbeats__``).
DRAMATIQ_HEARTBEATS = f"{DRAMATIQ_NAMESPACE}:__heartbeats__"


def dramatiq_queue(queue: str) -> str:
    """A queue: the ids of its messages, in order (Dramatiq)."""
    return f"{DRAMATIQ_NAMESPACE}:{queue}"


def dramatiq_messages(queue: str) -> str:
    """A queue's messages, by id: queued or held by a worker (Dramatiq)."""
    return f"{DRAMATIQ_NAMESPACE}:{queue}.msgs"


def queue_wake(queue: str) -> str:
    """A queue's wake list: at most one token, left when a message joins the queue, so an idle consumer
    blocked on it wakes at once instead of at its next poll (hookgate's, beside Dramatiq's keys)."""
    return f"{DRAMATIQ_NAMESPACE}:{queue}.wake"


def dramatiq_acks(worker_id: str, queue: str) -> str:
    """What a worker holds of a queue: the messages it fetched and has not acknowledged (Dramatiq)."""
    return f"{DRAMATIQ_NAMESPACE}:__acks__.{worker_id}.{queue}"


# hookgate's own keys.

INDEX_ALL = f"{PREFIX}:idx:all"


def event(event_id: str) -> str:
    return f"{PREFIX}:evt:{event_id}"


def dedupe(source: str, delivery_id: str) -> str:
    return f"{PREFIX}:dedupe:{source}:{delivery_id}"


def body_hash_dedupe(source: str, digest: str) -> str:
    return f"{PREFIX}:dedupe:{source}:body-sha256:{digest}"


#: The dedupe key passed when a source has dedupe off (the script never reads or writes it).
NO_DEDUPE = f"{PREFIX}:dedupe:-"


def source_index(source: str) -> str:
    return f"{PREFIX}:idx:src:{source}"


DLQ_INDEX = f"{PREFIX}:dlq"


def done(event_id: str, consumer: str) -> str:
    """The idempotency ledger: present once ``consumer`` succeeded for the event."""
    return f"{PREFIX}:done:{event_id}:{consumer}"


def consumer_states(event_id: str) -> str:
    return f"{PREFIX}:cs:{event_id}"


def attempts(event_id: str) -> str:
    return f"{PREFIX}:att:{event_id}"


def dlq_entry(entry_id: str) -> str:
    return f"{PREFIX}:dlq:{entry_id}"


def rate(source: str, window: int) -> str:
    """The delivery counter of one rate-limit window."""
    return f"{PREFIX}:rl:{source}:{window}"


def forced_replays(event_id: str) -> str:
    """How many forced replays the event has had (the ``:r{n}`` idempotency key suffix)."""
    return f"{PREFIX}:replays:{event_id}"


def bulk_replay(replay_id: str) -> str:
    """A bulk replay's progress (admin API)."""
    return f"{PREFIX}:replay:{replay_id}"


#: The consumers that have (or had) dead letters; each has a sorted set of its entries.
DLQ_CONSUMERS = f"{PREFIX}:dlq:consumers"


def dlq_by_consumer(consumer: str) -> str:
    return f"{PREFIX}:dlq:c:{consumer}"


def dashboard_logout(session_id: str) -> str:
    """Present while a logged-out dashboard session's cookie could still be presented."""
    return f"{PREFIX}:dash:out:{session_id}"


#: Waiting messages (retries not yet due): message ids by due time (unix ms), and the messages.
WAITING = f"{PREFIX}:wait"
WAITING_MESSAGES = f"{PREFIX}:wait:msgs"

#: Events still on their way (not processed, dead, unrouted or filtered), by the time of their last change.
UNSETTLED = f"{PREFIX}:unsettled"


def status_index(status: str) -> str:
    """The events whose status is ``status``, by received time: counted with ZCOUNT over the retention."""
    return f"{PREFIX}:idx:status:{status}"


#: The sources events were stored for (their ``source_index`` keys), for counts by source.
SOURCES = f"{PREFIX}:sources"


#: How many slots the reconciler has repaired, ever.
REPAIRS = f"{PREFIX}:stats:repairs"


def carriers(event_id: str) -> str:
    """Which message carries each slot of the event: "dispatch", or a consumer, -> message id."""
    return f"{PREFIX}:carrier:{event_id}"


def lease(name: str) -> str:
    """Held by the one process that runs a singleton chore (the reconciler, the alert evaluator, the
    record's writer)."""
    return f"{PREFIX}:lease:{name}"


def counter(kind: str, name: str, minute: int) -> str:
    """One minute's count of ``kind`` (sig: a source's refused signatures; fail, dead: an issue's)."""
    return f"{PREFIX}:cnt:{kind}:{name}:{minute}"


#: Issues (failure groups) by last seen, and the ones open or acknowledged.
ISSUES = f"{PREFIX}:issues"
OPEN_ISSUES = f"{PREFIX}:issues:open"


def issue(issue_id: str) -> str:
    return f"{PREFIX}:issue:{issue_id}"


def issue_events(issue_id: str) -> str:
    return f"{PREFIX}:issue:{issue_id}:events"


def issue_dead_letters(issue_id: str) -> str:
    return f"{PREFIX}:issue:{issue_id}:dlq"


def consumer_health(consumer: str) -> str:
    """A consumer's last success and failure, and since when it fails without a success."""
    return f"{PREFIX}:consumer:{consumer}"


#: Consumers that have failed at least once (their health hashes are worth a look).
CONSUMERS = f"{PREFIX}:consumers"

#: An alert rule's state about one issue (notified when, last reminder); the active ones are indexed.
ALERTS_ACTIVE = f"{PREFIX}:alerts:active"


def alert_state(rule: str, issue_id: str) -> str:
    return f"{PREFIX}:alert:{rule}:{issue_id}"


def rule_state(rule: str) -> str:
    """What a condition rule remembers between evaluations (e.g. since when the queue lags)."""
    return f"{PREFIX}:rule:{rule}"


#: Notifications waiting to be sent (zset by due time) and each one's data.
OUTBOX = f"{PREFIX}:outbox"


def outbox_item(item_id: str) -> str:
    return f"{PREFIX}:outbox:{item_id}"


#: The consumers the workers run (each announces its own at start), for checking names operators type.
KNOWN_CONSUMERS = f"{PREFIX}:consumers:known"


#: With the record on: events written or changed since the record last had them, scored by their last
#: change (unix ms, strictly increasing per event), and the flag that tells the Lua scripts to fill it.
RECORD_PENDING = f"{PREFIX}:record:pending"
RECORD_ON = f"{PREFIX}:record:on"


# Destination lanes (``gateway.store.lanes``): every consumer's deliveries pass through its lane.


def lane(consumer: str) -> str:
    """A lane's hash: its settings (written by each worker at boot) and its state (breaker, pause,
    rate, in-flight bound, last error)."""
    return f"{PREFIX}:lane:{consumer}"


def lane_held(consumer: str) -> str:
    """A lane's held deliveries: message ids by when they joined (unix ms), oldest first."""
    return f"{PREFIX}:lane:{consumer}:held"


def lane_in_flight(consumer: str) -> str:
    """A lane's admitted deliveries (message ids by admission time, unix ms) until they settle."""
    return f"{PREFIX}:lane:{consumer}:inflight"


def lane_window(consumer: str, bucket: int) -> str:
    """A breaker's attempts and failures in one bucket of its ratio window (hash: n, failed)."""
    return f"{PREFIX}:lane:{consumer}:window:{bucket}"


#: Every held message's data (Dramatiq JSON), by id, whichever lane holds it.
HELD_MESSAGES = f"{PREFIX}:lane:held:msgs"
#: Lanes that hold deliveries, by when one may next be admitted (unix ms): what the pump looks at.
LANES_WAITING = f"{PREFIX}:lanes:waiting"
#: Every lane a worker has announced (destinations lists them).
LANES = f"{PREFIX}:lanes"


# Ordered delivery per key (``gateway/store/lua/ordering.lua``): an ordered consumer's deliveries that
# share a key go one at a time, in the order the gateway stored their events.

#: The deliver message option that carries a delivery's ordering key (set by dispatch).
ORDER_KEY_OPTION = "hg_order_key"
#: Sources with an ordered consumer -> the last order (``ord``, µs) given to one of their events.
ORDERED_SOURCES = f"{PREFIX}:ord:sources"
#: Ordered consumers to look at again (keys waiting for the watermark, blocked keys to sweep), by when.
ORDERING_WAITING = f"{PREFIX}:ord:waiting"


def undispatched(source: str) -> str:
    """A source's events whose dispatch is on its way, by order: the lowest is its watermark."""
    return f"{PREFIX}:undispatched:{source}"


def ordering_pending(consumer: str, key: str) -> str:
    """An ordered consumer's deliveries of one key not yet released: event ids by order."""
    return f"{PREFIX}:ord:{consumer}:q:{key}"


def ordering_keys(consumer: str) -> str:
    """Event id -> the key of its pending delivery (a release needs only the event)."""
    return f"{PREFIX}:ord:{consumer}:keys"


def ordering_holders(consumer: str) -> str:
    """Key -> the event holding it (its delivery went into the lane and is not yet released)."""
    return f"{PREFIX}:ord:{consumer}:holders"


def ordering_parked(consumer: str) -> str:
    """Event id -> the id of its parked deliver message (the data is in ``HELD_MESSAGES``)."""
    return f"{PREFIX}:ord:{consumer}:parked"


def ordering_blocked(consumer: str) -> str:
    """Keys whose holder failed (retrying, or dead with ``on_dead = "hold"``), by since when (unix ms)."""
    return f"{PREFIX}:ord:{consumer}:blocked"


def ordering_due(consumer: str) -> str:
    """Keys whose next delivery waits only for the watermark, by that delivery's order."""
    return f"{PREFIX}:ord:{consumer}:due"
