"""The operator layer: what operators do with events, dead letters and issues (``service``), and the
one place their input is checked (``filters``). The CLI, the admin API and the dashboard are thin front
ends over it."""

from gateway.operate import filters, jobs
from gateway.operate.filters import BadRequest
from gateway.operate.service import Operations, Services, build_operations

__all__ = ["BadRequest", "Operations", "Services", "build_operations", "filters", "jobs"]
