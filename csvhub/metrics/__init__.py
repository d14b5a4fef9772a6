"""Prometheus metrics: what csvhub counts and how /metrics shows it (docs/deployment.md).

Other packages call the one-line hooks re-exported here (`observe_query("page")`,
`ingest_progress(...)`, `job_finished(...)`); they never touch prometheus_client themselves, so
that where and how a figure is kept can change in one place.
"""

from csvhub.metrics.hooks import ingest_progress, job_finished, observe_query, observe_stream

__all__ = ["ingest_progress", "job_finished", "observe_query", "observe_stream"]
