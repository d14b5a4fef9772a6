"""A read deadline ends with its read: a late cancel (the client watch of an export that has
finished) never stops what the next user of the pooled connection runs."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from csvhub.warehouse.engine import ReadDeadline, get_engine, read_connection

pytestmark = pytest.mark.django_db(transaction=True)

# About a second of work on each warehouse, in one statement.
SLOW = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
    " SELECT count(*) FROM n",
    "postgres": "SELECT count(*) FROM (SELECT pg_sleep(1)) AS slept",
    "mysql": "SELECT count(*) FROM (SELECT SLEEP(1)) AS slept",
    "duckdb": "SELECT count(*) FROM (SELECT sum(hash(range)) FROM range(1000000000)) AS summed",
}


def test_a_cancel_after_clear_leaves_the_next_read_alone(warehouse) -> None:
    engine = get_engine()
    engine.dispose()  # one pooled connection: the next read gets the finished one
    with engine.connect() as connection:
        finished = ReadDeadline(connection, 30)
        finished.clear()
    result: list[object] = []

    def next_read() -> None:
        try:
            with read_connection(engine, seconds=30) as connection:
                result.append(connection.execute(text(SLOW[warehouse])).scalar_one())
        except Exception as error:  # what the test reports
            result.append(error)

    reader = threading.Thread(target=next_read)
    reader.start()
    threading.Event().wait(0.3)  # the next read is running
    finished.cancel()
    reader.join()
    assert result == [3000000 if warehouse == "sqlite" else 1]
    assert not finished.cancelled
