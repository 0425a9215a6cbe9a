"""``[tracing]``: OpenTelemetry spans exported over OTLP/HTTP (``gateway/platform/tracing.py``)."""

from __future__ import annotations

from pydantic import Field

from gateway.config.section import Section


class TracingSettings(Section):
    """``[tracing]``: OpenTelemetry spans exported over OTLP/HTTP; off unless enabled here or by the
    standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` variables."""

    enabled: bool = False
    #: OTLP/HTTP traces endpoint; default: the standard OTEL_* variables, else http://127.0.0.1:4318.
    endpoint: str | None = None
    service_name: str = "hookgate"
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
