"""Celery workers for tests: a real worker process on a real broker (Redis or RabbitMQ),
started on demand by the `celery_runner` fixture (registered in tests/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.services import RABBITMQ_URL, REDIS_URL, require


@pytest.fixture(
    params=[
        pytest.param((REDIS_URL, "CSVHUB_TEST_REDIS_URL"), marks=pytest.mark.redis, id="redis"),
        pytest.param(
            (RABBITMQ_URL, "CSVHUB_TEST_RABBITMQ_URL"), marks=pytest.mark.rabbitmq, id="rabbitmq"
        ),
    ]
)
def broker_url(request) -> str:
    url, variable = request.param
    require(url, variable)
    return url


def _flush_broker(url: str) -> None:
    """Drop messages left by an earlier test (a killed worker's job stays queued)."""
    if url.startswith("redis"):
        import redis

        redis.Redis.from_url(url).flushdb()
        return
    from amqp.exceptions import NotFound
    from kombu import Connection

    # NotFound: no worker declared the queue yet, so there is nothing to drop.
    with Connection(url) as connection, contextlib.suppress(NotFound):
        connection.default_channel.queue_purge("default")


@pytest.fixture
def celery_runner(settings, tmp_path, broker_url) -> Iterator[Callable[..., subprocess.Popen]]:
    """Switch enqueueing to Celery and start worker processes on demand."""
    _flush_broker(broker_url)
    settings.TASKS = {
        "default": {
            "BACKEND": "csvhub.jobs.backends.CeleryBackend",
            "OPTIONS": {"broker_url": broker_url},
        }
    }
    workers: list[subprocess.Popen] = []

    def start(**extra_env: str) -> subprocess.Popen:
        if settings.CSVHUB_WAREHOUSE_URL.startswith("duckdb"):
            # One process opens a DuckDB warehouse: csvhub refuses Celery workers with it at
            # start-up (tests/warehouse/test_warehouse_duckdb.py tests that refusal).
            pytest.skip("a DuckDB warehouse runs its jobs in the web process, not Celery")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "csvhub.settings",
            "CSVHUB_DATA_DIR": str(django_settings.DATA_DIR),
            "CSVHUB_DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
            "CSVHUB_WAREHOUSE_URL": settings.CSVHUB_WAREHOUSE_URL,
            "CSVHUB_STORAGE_URL": "file://" + settings.STORAGES["default"]["OPTIONS"]["location"],
            "CSVHUB_TASK_RUNNER": "celery",
            "CSVHUB_BROKER_URL": broker_url,
            # Every file is parsed in a reader child, which must work from Celery's daemonic
            # pool processes and die with the worker (the in-worker reader is covered by
            # tests/datasets/test_ingest_pipeline.py).
            "CSVHUB_CHILD_READER_MIN_BYTES": "0",
            **extra_env,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "csvhub", "worker", "--concurrency=1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"worker-{len(workers)}.log", "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        workers.append(process)
        return process

    yield start
    for process in workers:
        _kill(process)
    _flush_broker(broker_url)


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
