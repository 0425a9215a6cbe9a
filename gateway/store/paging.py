"""One way to walk a sorted set newest first, in batches, resuming after a cursor.

A cursor is ``"{score}:{member}"``: the score alone would skip members that share the last one's score
(at the rates hookgate takes, several events arrive in the same instant), so a page resumes at that
score and leaves out what it already returned: members sorted after the cursor's, as Redis orders ties.
Within one walk, batches resume at the last score read, past as many of its members as were read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import redis

T = TypeVar("T")


class BadCursor(ValueError):
    """A cursor this store did not hand out."""


@dataclass(frozen=True, order=True)
class Cursor:
    score: float
    member: str

    def __str__(self) -> str:
        return f"{self.score!r}:{self.member}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        score, sep, member = text.partition(":")
        try:
            value = float(score)
        except ValueError:
            raise BadCursor(f"{text[:40]!r} is not a cursor this API handed out") from None
        if not sep or not member or not math.isfinite(value):
            raise BadCursor(f"{text[:40]!r} is not a cursor this API handed out")
        return cls(value, member)


def newest_first(
    client: redis.Redis,
    key: str,
    *,
    since: float | None = None,
    until: float | None = None,
    after: Cursor | None = None,
    batch: int = 500,
) -> Iterator[tuple[str, float]]:
    """(member, score) from ``until`` (or the newest) down to ``since``, after ``after``; each once."""
    high = after.score if after is not None else (until if until is not None else math.inf)
    low = "-inf" if since is None else repr(since)
    offset = 0
    while True:
        found: list[tuple[bytes, float]] = client.zrevrangebyscore(  # type: ignore[assignment]
            key, repr(high) if math.isfinite(high) else "+inf", low, start=offset, num=batch, withscores=True
        )
        page = [(raw.decode(), score) for raw, score in found]
        if after is not None:
            # Ties come in descending member order: drop those at the cursor's score not below it.
            page = [(m, s) for m, s in page if s < after.score or m < after.member]
        yield from page
        if len(found) < batch:
            return
        last_score = found[-1][1]
        tied = sum(1 for _, score in found if score == last_score)
        # Resume at the last score, past the members of it already read.
        offset = offset + tied if last_score == high else tied
        high = last_score


def take(walk: Iterable[tuple[T, Cursor]], limit: int) -> tuple[list[T], Cursor | None]:
    """One page of ``limit`` items from a walk, and the cursor of the next page: None when nothing
    follows (one more item is read to know)."""
    items: list[T] = []
    last: Cursor | None = None
    for item, cursor in walk:
        if len(items) == limit:
            return items, last
        items.append(item)
        last = cursor
    return items, None
