"""What a scrape returns: csvhub's figures (from every process in multiprocess mode), plus the
job backlog read at scrape time from the database and the job backend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.crypto import constant_time_compare
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from csvhub.metrics import multiprocess, process
from csvhub.metrics.definitions import metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@runtime_checkable
class MeasuredQueue(Protocol):
    """A job backend that can say how many jobs wait for a worker (csvhub.jobs.backends)."""

    def queue_depth(self) -> int: ...


class BacklogCollector(Collector):
    """Uploads waiting or running (from the database: every process's, every worker's), and
    the length of the job backend's queue."""

    def collect(self) -> Iterable[Metric]:
        from django.db.models import Count
        from django.tasks import task_backends

        from csvhub.datasets.models import Upload, UploadState

        waiting = GaugeMetricFamily(
            "csvhub_uploads_unfinished",
            "Uploads whose ingestion is queued or running.",
            labels=["state"],
        )
        unfinished = (UploadState.QUEUED, UploadState.RUNNING)
        counts = dict(
            # order_by(): the model's ordering would add created_at to the GROUP BY.
            Upload.objects.filter(state__in=unfinished)
            .order_by()
            .values("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
        for state in unfinished:
            waiting.add_metric([state.value], counts.get(state.value, 0))
        yield waiting
        backend = task_backends["default"]
        if isinstance(backend, MeasuredQueue):
            yield GaugeMetricFamily(
                "csvhub_job_queue_depth",
                "Jobs waiting in the job backend's queue (the broker's, or this process's "
                "threads').",
                value=backend.queue_depth(),
            )


# Collectors other apps add (csvhub.lifecycle's usage per organization), computed at scrape time
# from the database like the backlog: the web server's scrape only, never a worker's.
_database_collectors: list[Collector] = []


def database_collector_register(collector: Collector) -> None:
    """Add a collector to the web server's scrapes (once per collector, e.g. in ready())."""
    if collector not in _database_collectors:
        _database_collectors.append(collector)


def scrape(*, backlog: bool = True, sample_self: bool = True) -> bytes:
    """The text format of everything there is to show now."""
    if sample_self:
        process.sample()
    registry = CollectorRegistry(auto_describe=True)
    if multiprocess.enabled():
        MultiProcessCollector(registry)
    else:
        registry.register(_Own())
    if backlog:
        registry.register(BacklogCollector())
        for collector in _database_collectors:
            registry.register(collector)
    return generate_latest(registry)


class _Own(Collector):
    def collect(self) -> Iterable[Metric]:
        return metrics().registry.collect()


def authorized(header: str | None) -> bool:
    """Whether an Authorization header carries CSVHUB_METRICS_TOKEN (never, when unset)."""
    token = settings.CSVHUB_METRICS_TOKEN
    if not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and constant_time_compare(given.strip(), token)
