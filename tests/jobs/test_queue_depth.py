"""The job backlog /metrics reports (csvhub_job_queue_depth), from each backend."""

from __future__ import annotations

import pytest

from csvhub.jobs.backends import CeleryBackend
from tests.services import REDIS_URL, require


@pytest.mark.redis
def test_celery_queue_depth_counts_the_messages_waiting_in_the_broker():
    require(REDIS_URL, "CSVHUB_TEST_REDIS_URL")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    backend = CeleryBackend("default", {"OPTIONS": {"broker_url": REDIS_URL}})
    assert backend.queue_depth() == 0  # no queue yet: nobody has sent anything
    from csvhub.celery import app

    with app.connection_for_write(REDIS_URL) as connection:
        for _ in range(3):
            app.send_task(
                "csvhub.run_task", args=["x", [], {}], queue="default", connection=connection
            )
    try:
        assert backend.queue_depth() == 3
    finally:
        redis.Redis.from_url(REDIS_URL).flushdb()
