"""The record: PostgreSQL as the lasting home of every event when ``[record]`` is configured, Redis
keeping only the hot path (dedupe keys, queues, events being processed and a short window after).

- ``schema``: versioned SQL migrations, ``hookgate migrate``, and the start-up check.
- ``writer``: moves new events and every later change from Redis to PostgreSQL in batches, then lets
  settled events cool in Redis (``hot_hours``); daily partitions are created as needed and dropped past
  the retention.
- ``reads``: the events as operators read them (lists, one event, counts, payload search) from the
  record, with an event still hot in Redis read from there; ``restore`` brings an archived event back
  into the hot path with its exact bytes and headers (replay, dead-letter retry).

How it tracks changes: with the record on, the gateway's ingest script and the worker's record scripts
add each new or changed event to ``hg:record:pending`` (a sorted set, score = last change in ms), and
the writer removes an entry only if it did not change again while being written (same score).
"""
