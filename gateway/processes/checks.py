"""``hookgate check-config``: what the configuration means, and warnings about the Redis and the record
(PostgreSQL) it points at."""

from __future__ import annotations

from typing import Any

import redis
from rich.console import Console
from rich.table import Table

import consumers
from gateway.config import ConfigError, Settings
from gateway.ingest.sources import build_sources
from gateway.platform import connections
from gateway.store import keys


def describe(settings: Settings) -> dict[str, Any]:
    """Sources, consumers and warnings; ConfigError when a source or a consumer module is wrong."""
    sources = build_sources(settings)
    from gateway.processes.bootstrap import build_registry
    from gateway.worker.routing import Filters

    try:
        registry = build_registry(settings)
        Filters(registry)  # an @consumer's filter is checked as the worker will
    except consumers.ConsumerConfigError as exc:
        raise ConfigError(str(exc)) from None
    return {
        "config": str(settings.config_path) if settings.config_path else None,
        "sources": [
            {
                "name": name,
                "provider": source.settings.provider,
                "path": f"/webhooks/{name}",
                "tolerance_seconds": source.verifier.tolerance,
                "max_body_bytes": source.body_limit,
                "dedupe": _dedupe_basis(
                    source.settings.dedupe, source.verifier.default_delivery_id, source.settings.delivery_id
                ),
                "secrets": len(source.verifier.secrets),
            }
            for name, source in sources.items()
        ],
        "consumers": [
            {"name": c.name, "source": c.source, "events": list(c.events) or ["*"]} for c in registry
        ],
        "record": record_state(settings),
        "warnings": admin_warnings(settings) + redis_warnings(settings) + record_warnings(settings),
    }


def record_state(settings: Settings) -> dict[str, Any] | None:
    """The record's schema version and backlog (events waiting in Redis), when it is configured."""
    if settings.record is None:
        return None
    state: dict[str, Any] = {"hot_hours": settings.record.hot_hours, "schema": None, "backlog": None}
    try:
        import psycopg

        from gateway.record.schema import current_version

        with psycopg.connect(settings.record.dsn(), connect_timeout=3) as conn:
            state["schema"] = current_version(conn)
    except (psycopg.Error, ValueError):
        pass
    if settings.redis.configured:
        try:
            client = connections.sync_client(settings.redis, timeout=2)
            state["backlog"] = int(client.zcard(keys.RECORD_PENDING))
        except connections.REDIS_ERRORS:
            pass
    return state


def record_warnings(settings: Settings) -> list[str]:
    """The record must be reachable and migrated to this hookgate's schema."""
    if settings.record is None:
        return []
    from gateway.record.schema import SchemaError, check_at_start

    try:
        dsn = settings.record.dsn()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        warning = check_at_start(dsn, 3)
    except SchemaError as exc:
        return [str(exc)]
    return [warning] if warning else []


def admin_warnings(settings: Settings) -> list[str]:
    if settings.admin.tokens and settings.admin.session_key() is None:
        return [
            "no [admin] session_secret: dashboard sessions end when the gateway restarts "
            "(set session_secret, session_secret_env or session_secret_file)"
        ]
    return []


def _dedupe_basis(enabled: bool, default: str | None, configured: str | None) -> str:
    if not enabled:
        return "off"
    locator = configured or default
    return f"{locator} (else body hash)" if locator else "body hash"


def redis_warnings(settings: Settings) -> list[str]:
    """Redis must not evict stored events and should persist them (AOF)."""
    if not settings.redis.configured:
        return [
            "[redis] url (or sentinels) is not set: `serve` and `worker` need it "
            "(`dev` embeds a redis-server)"
        ]
    try:
        client = connections.sync_client(settings.redis, timeout=2)
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        aof = client.config_get("appendonly").get("appendonly")
        replicas = int(client.info("replication").get("connected_slaves", 0))
    except redis.ResponseError:
        return ["cannot read Redis's CONFIG (managed Redis?): check maxmemory-policy and AOF yourself"]
    except connections.REDIS_ERRORS as exc:
        return [f"cannot reach Redis at the configured url: {exc}"]
    warnings = []
    if policy != "noeviction":
        warnings.append(
            f"Redis maxmemory-policy is {policy!r}: use 'noeviction' or stored events may be evicted"
        )
    if aof != "yes":
        warnings.append("Redis runs without AOF (appendonly no): a Redis crash loses accepted events")
    if replicas < settings.redis.min_replica_acks:
        warnings.append(
            f"min_replica_acks is {settings.redis.min_replica_acks} but the primary has {replicas} "
            "connected replica(s): every delivery will be answered 503 until enough replicas are up"
        )
    return warnings


def print_report(report: dict[str, Any]) -> None:
    console = Console()
    console.print(f"config: {report['config']}  [green]OK[/green]")
    table = Table(
        "source", "provider", "path", "dedupe on", "tolerance", "max body", "secrets", title="Sources"
    )
    for s in report["sources"]:
        tolerance = f"{s['tolerance_seconds']} s" if s["tolerance_seconds"] else "-"
        table.add_row(
            s["name"],
            s["provider"],
            s["path"],
            s["dedupe"],
            tolerance,
            str(s["max_body_bytes"]),
            str(s["secrets"]),
        )
    console.print(table)
    consumers_table = Table("consumer", "source", "events", title="Consumers")
    for c in report["consumers"]:
        consumers_table.add_row(c["name"], c["source"], ", ".join(c["events"]))
    console.print(consumers_table)
    if (record := report["record"]) is not None:
        version = "?" if record["schema"] is None else record["schema"]
        backlog = "?" if record["backlog"] is None else record["backlog"]
        console.print(
            f"record: PostgreSQL, schema version {version}, {backlog} events waiting to be written, "
            f"hot window {record['hot_hours']:g} h"
        )
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
