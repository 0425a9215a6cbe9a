"""The record's schema: versioned SQL files (``migrations/NNNN_name.sql``) applied in order by ``hookgate
migrate``, each in its own transaction, under an advisory lock so two migrators never race. Every
process that uses the record checks the version at start-up and refuses to run against a schema it does
not know (newer: an older hookgate after an upgrade) or one not yet migrated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

#: Taken by ``migrate`` for its whole run (an arbitrary constant: "hookgate" in ASCII, truncated).
LOCK_ID = 0x686F6F6B67617465 & 0x7FFFFFFFFFFFFFFF
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS hookgate_schema (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class SchemaError(Exception):
    """The database's schema is not the one this hookgate knows; the message says what to do."""


class MigrationsMissing(SchemaError):
    """This installation of hookgate lacks its migrations (a wheel built without its package data), so
    it cannot know, nor make, its schema."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration this hookgate ships, in version order; MigrationsMissing when it ships none."""
    folder = resources.files("gateway.record").joinpath("migrations")
    try:
        entries = list(folder.iterdir())
    except OSError:  # no such folder: the package data was left out of the wheel
        entries = []
    found = []
    for entry in entries:
        matched = _NAME.match(entry.name)
        if matched:
            found.append(Migration(int(matched.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    if not found:
        raise MigrationsMissing(
            "this hookgate installation has no migrations for the record (gateway/record/migrations/"
            f"NNNN_name.sql; none in {folder}): it was built without its package data. Reinstall hookgate "
            "from a complete wheel or image"
        )
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n: {[m.name for m in found]}")
    return found


def current_version(conn: psycopg.Connection) -> int:
    """The newest migration applied to the database (0 for a database hookgate never touched)."""
    exists = conn.execute("SELECT to_regclass('hookgate_schema') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM hookgate_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection) -> list[Migration]:
    """Apply the migrations the database lacks; returns those applied. Refuses a newer database."""
    known = migrations()
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
    try:
        with conn.transaction():
            conn.execute(_VERSION_TABLE)
        version = current_version(conn)
        if version > len(known):
            raise SchemaError(_newer(version, len(known)))
        applied = []
        for migration in known[version:]:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO hookgate_schema (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            applied.append(migration)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))


def check(conn: psycopg.Connection) -> int:
    """The schema version, when it is exactly the one this hookgate knows; else SchemaError."""
    known = len(migrations())
    version = current_version(conn)
    if version > known:
        raise SchemaError(_newer(version, known))
    if version < known:
        raise SchemaError(
            f"the record's schema is at version {version}, this hookgate needs {known}: "
            "run `hookgate migrate` (once, from any host) and start again"
        )
    return version


def _newer(version: int, known: int) -> str:
    return (
        f"the record's schema is at version {version}, newer than this hookgate knows ({known}): "
        "run the hookgate release that migrated it (or newer)"
    )


def check_at_start(dsn: str, timeout: float) -> str | None:
    """At a process's start: SchemaError when the record's schema is not the one this hookgate knows;
    a warning (the process starts: ingest never waits for PostgreSQL) when it cannot be reached."""
    migrations()  # an installation without them is MigrationsMissing, whether PostgreSQL is up or not
    try:
        with psycopg.connect(dsn, connect_timeout=max(1, int(timeout))) as conn:
            check(conn)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot reach the record (PostgreSQL): {first}; events wait in Redis until it is back"
    return None
