"""The operator layer: one module per use case, which every front end (the CLI, the admin API, the
dashboard) calls with a ``Context`` the process's bootstrap built (``gateway.processes.bootstrap``):

- ``events``: list and show stored events;
- ``stats``: counts by status and source, the dead-letter queue, failing consumers, the overview;
- ``replay``: replay events by id, or every event a filter matches (``BulkReplay``); ``jobs`` runs a
  bulk replay as a worker's job;
- ``dead_letters``: list, show, retry, discard and purge dead letters;
- ``issues``: list, show, acknowledge, resolve, ignore and retry issues;
- ``destinations``: list and show every consumer's lane, pause and resume it, move what it holds to
  the dead-letter queue;

and the one place operators' input is checked (``filters``), whose one error is ``BadRequest``.
"""

from gateway.operate import dead_letters, destinations, events, filters, issues, jobs, replay, stats
from gateway.operate.context import Context
from gateway.operate.filters import BadRequest

__all__ = [
    "BadRequest",
    "Context",
    "dead_letters",
    "destinations",
    "events",
    "filters",
    "issues",
    "jobs",
    "replay",
    "stats",
]
