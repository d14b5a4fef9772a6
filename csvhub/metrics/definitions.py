"""Every figure csvhub keeps, made on first use (see multiprocess.enable for why not at import).

Labels take bounded values only: route names (never paths), methods, status codes, job kinds
and states, query kinds, process roles.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds; requests and warehouse queries run from milliseconds (a page) to minutes (an export).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
JOB_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600)


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    http_requests: Counter
    http_latency: Histogram
    ingest_rows: Counter
    ingest_bytes: Counter
    ingest_rejected: Counter
    jobs_finished: Counter
    job_duration: Histogram
    query_duration: Histogram
    alarm_evaluations: Counter
    mails_sent: Counter
    process_cpu: Gauge
    process_resident: Gauge
    process_virtual: Gauge
    process_open_fds: Gauge
    process_start: Gauge


@functools.cache
def metrics() -> Metrics:
    # A registry of csvhub's own, not prometheus_client's global one: in one process it is
    # what /metrics shows; in multiprocess mode the values go to files and it stays unused.
    registry = CollectorRegistry(auto_describe=True)
    return Metrics(
        registry=registry,
        http_requests=Counter(
            "csvhub_http_requests",
            "HTTP requests answered, by route name, method and status code.",
            ["route", "method", "status"],
            registry=registry,
        ),
        http_latency=Histogram(
            "csvhub_http_request_duration_seconds",
            "Time to answer an HTTP request (to the first byte of a streamed answer).",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        ingest_rows=Counter(
            "csvhub_ingest_rows", "Rows read into the warehouse by ingestion.", registry=registry
        ),
        ingest_bytes=Counter(
            "csvhub_ingest_bytes", "Bytes of uploaded files read by ingestion.", registry=registry
        ),
        ingest_rejected=Counter(
            "csvhub_ingest_rejected_rows",
            "Rows ingestion could not read and quarantined.",
            registry=registry,
        ),
        jobs_finished=Counter(
            "csvhub_jobs_finished",
            "Background jobs finished, by kind and final state.",
            ["kind", "state"],
            registry=registry,
        ),
        job_duration=Histogram(
            "csvhub_job_duration_seconds",
            "Time from a job's start to its end, by kind and final state.",
            ["kind", "state"],
            buckets=JOB_BUCKETS,
            registry=registry,
        ),
        query_duration=Histogram(
            "csvhub_warehouse_query_duration_seconds",
            "Time warehouse reads take, by kind (page, count, export, analysis).",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        alarm_evaluations=Counter(
            "csvhub_alarm_evaluations",
            "Alarm rule evaluations of newly committed rows, by outcome (evaluated; duplicate: "
            "the rows were evaluated already; restepped: the rule's states changed meanwhile, "
            "stepped again).",
            ["outcome"],
            registry=registry,
        ),
        mails_sent=Counter(
            "csvhub_mails_sent",
            "Outbox send attempts, by result (sent, retry: will be tried again, failed: "
            "retries spent).",
            ["result"],
            registry=registry,
        ),
        **_process_gauges(registry),
    )


def _process_gauges(registry: CollectorRegistry) -> dict[str, Gauge]:
    """Per-process figures, labelled with the process's role (web, worker); in multiprocess
    mode prometheus_client adds its pid, and drops them when the process is marked dead."""

    def gauge(name: str, documentation: str) -> Gauge:
        return Gauge(name, documentation, ["role"], multiprocess_mode="liveall", registry=registry)

    return {
        "process_cpu": gauge("csvhub_process_cpu_seconds", "CPU time the process has used."),
        "process_resident": gauge(
            "csvhub_process_resident_memory_bytes", "Resident memory of the process."
        ),
        "process_virtual": gauge(
            "csvhub_process_virtual_memory_bytes", "Virtual memory of the process."
        ),
        "process_open_fds": gauge(
            "csvhub_process_open_fds", "Open file descriptors (files, sockets) of the process."
        ),
        "process_start": gauge(
            "csvhub_process_start_time_seconds", "When the process started (Unix time)."
        ),
    }
