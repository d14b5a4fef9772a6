"""A load stopped where its connection cannot even roll back: the caller sees the stop, not the
rollback's error, and nothing of the load stays.

A Celery pool process exits on TERM by a SystemExit raised wherever it is, inside the driver
too: a full CI run saw a load stopped between two messages of the PostgreSQL protocol, whose
ROLLBACK was then refused ("another command is already in progress"). That error replaced the
stop, and the upload was marked failed ("internal error") instead of left for another worker.
"""

from __future__ import annotations

import signal
import time
import uuid

import pytest
from sqlalchemy import Engine, text

from csvhub.schema import ColumnType, LoadResult
from csvhub.warehouse.load import LoadSession, loads_forget
from csvhub.warehouse.schema import table_name_for
from tests.warehouse.test_warehouse_copy_sender import _stop

pytestmark = pytest.mark.postgres

STOP = -241  # what billiard's TERM handler exits a pool process with


@pytest.fixture
def engine(postgres_engine: Engine) -> Engine:
    return postgres_engine


def test_a_stop_inside_the_driver_is_what_the_caller_sees_and_nothing_stays(engine) -> None:
    table_name = table_name_for(uuid.uuid4().hex)
    stopped_id, next_id = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        with (
            pytest.raises(SystemExit) as stopped,
            LoadSession(engine, table_name, stopped_id) as load,
        ):
            load.create([("n", ColumnType.INTEGER)])
            # The stop lands after the driver sent a command and before it read the answer.
            driver = load._connection.connection.driver_connection
            driver.pgconn.send_query(b"SELECT pg_sleep(0.2)")
            raise SystemExit(STOP)
        assert stopped.value.code == STOP

        # The server rolled back what the discarded connection had begun, and let go of the
        # table's lock: the next load creates the table anew, and the stopped one is unknown.
        with LoadSession(engine, table_name, next_id) as load:
            assert load.columns is None
            load.create([("n", ColumnType.INTEGER)])
            load.set_write_order(["n"])
            load.write_columns([["1", "2"]])
            load.finish(LoadResult(rows_loaded=2, rows_rejected=0, columns=()))
        with LoadSession(engine, table_name, stopped_id) as load:
            assert load.previous_result() is None
        with engine.connect() as connection:
            assert connection.execute(text(f'SELECT count(*) FROM "{table_name}"')).scalar() == 2
    finally:
        loads_forget(engine, [stopped_id, next_id])
        with engine.begin() as connection:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table_name}"'))


def test_a_stop_while_the_commit_ends_the_copy_is_what_the_caller_sees(engine, caplog) -> None:
    # The COPY's end is sent at the commit when nothing ended it before (a session that wrote
    # rows and never called finish()). A stop landing there, while the rows still wait to be
    # sent behind a busy server, leaves a COPY the connection cannot roll back: the caller
    # must still see the stop (not the rollback's error), and the connection be discarded.
    table_name = table_name_for(uuid.uuid4().hex)
    stopped_id, next_id = uuid.uuid4().hex, uuid.uuid4().hex
    previous = signal.signal(signal.SIGALRM, _stop)
    try:
        with (
            pytest.raises(SystemExit) as stopped,
            LoadSession(engine, table_name, stopped_id) as load,
        ):
            load.create([("n", ColumnType.INTEGER), ("label", ColumnType.TEXT)])
            # The server pauses at the first row: the rows behind it wait to be sent.
            load._connection.exec_driver_sql(
                "CREATE FUNCTION pg_temp.pause_at_zero() RETURNS trigger LANGUAGE plpgsql"
                " AS $$ BEGIN IF NEW.n = 0 THEN PERFORM pg_sleep(60); END IF;"
                " RETURN NEW; END $$"
            )
            load._connection.exec_driver_sql(
                f'CREATE TRIGGER pause BEFORE INSERT ON "{table_name}"'
                " FOR EACH ROW EXECUTE FUNCTION pg_temp.pause_at_zero()"
            )
            load.set_write_order(["n", "label"])
            for first in range(0, 12_000, 4000):  # 4 MB each: more than the sockets hold
                numbers = range(first, first + 4000)
                load.write_columns([[str(n) for n in numbers], ["x" * 1000] * len(numbers)])
            waited_from = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, 0.3)
        assert stopped.value.code == STOP
        assert time.monotonic() - waited_from < 30  # not the server's 60 s pause
        assert "_stop_thread" in {entry.name for entry in stopped.traceback}
        assert "its connection is discarded" in caplog.text
        signal.setitimer(signal.ITIMER_REAL, 0)

        with LoadSession(engine, table_name, next_id) as load:  # the lock is free
            assert load.columns is None  # the stopped load's table was rolled back
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        loads_forget(engine, [stopped_id, next_id])
        with engine.begin() as connection:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table_name}"'))
