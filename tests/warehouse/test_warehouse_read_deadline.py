"""A read deadline ends with its read: a late cancel (the client watch of an export that has
finished) never stops what the next user of the pooled connection runs."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from csvhub.warehouse.engine import QueryTimeout, ReadDeadline, get_engine, read_connection, timed

pytestmark = pytest.mark.django_db(transaction=True)

# About a second of work on each warehouse, in one statement.
SLOW = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
    " SELECT count(*) FROM n",
    "postgres": "SELECT count(*) FROM (SELECT pg_sleep(1)) AS slept",
    "mysql": "SELECT count(*) FROM (SELECT SLEEP(1)) AS slept",
    "duckdb": "SELECT count(*) FROM (SELECT sum(hash(range)) FROM range(10000000000)) AS summed",
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


def test_a_deadline_due_before_the_statement_starts_still_stops_it(warehouse) -> None:
    # The request may spend its whole time limit building the statement (300 filters under
    # load): the statement that starts after the deadline must not run to its end. DuckDB
    # forgets an interrupt that comes before its statement starts.
    with pytest.raises(QueryTimeout), read_connection(get_engine(), seconds=0.1) as connection:
        threading.Event().wait(0.3)
        connection.execute(text(SLOW[warehouse])).scalar_one()


def test_a_cancel_before_the_statement_starts_still_stops_it(warehouse) -> None:
    with get_engine().connect() as connection:
        deadline = ReadDeadline(connection, 0)  # no time limit: only the cancel stops it
        try:
            deadline.cancel()
            with pytest.raises(QueryTimeout), timed(deadline):
                if warehouse in ("postgres", "mysql"):
                    # A server's cancel request finds no statement to stop: there the
                    # check between statements stops the read.
                    deadline.check()
                connection.execute(text(SLOW[warehouse])).scalar_one()
        finally:
            deadline.clear()


def test_a_deadline_that_came_due_leaves_the_next_read_alone(warehouse) -> None:
    # DuckDB's deadline interrupts again and again once due: it must stop when the read ends,
    # before the pool hands the connection to the next read.
    engine = get_engine()
    engine.dispose()  # one pooled connection: the next read gets the one that timed out
    with pytest.raises(QueryTimeout), read_connection(engine, seconds=0.1) as connection:
        connection.execute(text(SLOW[warehouse])).scalar_one()
    threading.Event().wait(0.2)  # several repeat periods
    with read_connection(engine, seconds=30) as connection:
        assert connection.execute(text(SLOW[warehouse])).scalar_one() == (
            3000000 if warehouse == "sqlite" else 1
        )
