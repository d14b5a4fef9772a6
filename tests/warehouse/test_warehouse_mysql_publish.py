"""MariaDB/MySQL loads are staged and published in one step (docs/decisions.md): a worker
killed after its commit is finished by the next lock of the table, a failed load leaves no
table behind, and a widening append is all or nothing."""

from __future__ import annotations

import signal
import time
import uuid

import pytest
from sqlalchemy import inspect

from csvhub.schema import ColumnType, LoadResult
from csvhub.warehouse.dialects.mysql_infile import LoadFailed
from csvhub.warehouse.dialects.mysql_load import MySQLLoader
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.load import LoadSession
from csvhub.warehouse.tables import table_drop, table_row_count
from tests.warehouse.test_warehouse_copy_sender import _stop

pytestmark = pytest.mark.django_db(transaction=True)

STOP = -241  # what billiard's TERM handler exits a pool process with


@pytest.fixture
def mysql_warehouse(warehouse):
    if warehouse != "mysql":
        pytest.skip("MariaDB/MySQL only")
    return get_engine()


def _tables(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _load(engine, table: str, cells: list[list[str]], kind=ColumnType.INTEGER) -> None:
    with LoadSession(engine, table, str(uuid.uuid4())) as load:
        if load.columns is None:
            load.create([("n", kind)])
        load.set_write_order(["n"])
        load.write_columns(cells)
        load.finish(LoadResult(rows_loaded=len(cells[0]), rows_rejected=0, columns=()))


def test_a_publish_cut_after_its_commit_is_finished_by_the_next_lock(mysql_warehouse, monkeypatch):
    table = f"ds_{uuid.uuid4().hex}"
    monkeypatch.setattr(MySQLLoader, "committed", lambda self: None)  # killed right after commit
    _load(mysql_warehouse, table, [["1", "2"]])
    assert table not in _tables(mysql_warehouse)
    assert f"{table}__n" in _tables(mysql_warehouse)
    monkeypatch.undo()

    _load(mysql_warehouse, table, [["3"]])  # its lock carries out the recorded swap first

    assert table_row_count(table_name=table) == 3
    assert not {t for t in _tables(mysql_warehouse) if t.startswith(f"{table}__")}
    table_drop(table_name=table)


def test_a_failed_load_leaves_no_table(mysql_warehouse):
    table = f"ds_{uuid.uuid4().hex}"
    with pytest.raises(RuntimeError), LoadSession(mysql_warehouse, table, "u1") as load:
        load.create([("n", ColumnType.INTEGER)])
        load.set_write_order(["n"])
        load.write_columns([["1", "2"]])
        raise RuntimeError("the worker fails")
    assert not {t for t in _tables(mysql_warehouse) if t.startswith(table)}


def test_a_stop_while_the_commit_waits_for_the_rows_leaves_the_connection_to_one_thread(
    mysql_warehouse, caplog
):
    # The commit ends the rows' LOAD DATA and waits for its thread; a stop landing in that
    # wait leaves the thread talking on the connection. Rolling back or dropping the stage on
    # it then (a second command at once) broke the protocol; the statement is killed and the
    # connection discarded instead, without waiting for the statement.
    table = f"ds_{uuid.uuid4().hex}"
    previous = signal.signal(signal.SIGALRM, _stop)
    try:
        with (
            pytest.raises(SystemExit) as stopped,
            LoadSession(mysql_warehouse, table, "u1") as load,
        ):
            load.create([("n", ColumnType.INTEGER)])
            # The server pauses at the first row: the statement is still running at the commit.
            load._connection.exec_driver_sql(
                f"CREATE TRIGGER `{table}_pause` BEFORE INSERT ON `{table}__n` FOR EACH ROW"
                " BEGIN IF NEW.n = 0 THEN SET @paused = SLEEP(60); END IF; END"
            )
            load.set_write_order(["n"])
            load.write_columns([["0", "1", "2"]])
            waited_from = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, 0.3)
        signal.setitimer(signal.ITIMER_REAL, 0)
        assert stopped.value.code == STOP
        assert time.monotonic() - waited_from < 30  # not the server's 60 s pause
        assert "_finish" in {entry.name for entry in stopped.traceback}
        assert "rolling back a load" not in caplog.text  # nothing was sent beside the thread

        _load(mysql_warehouse, table, [["7"]])  # the lock is free, the stray stage dropped
        assert table_row_count(table_name=table) == 1
        assert not {t for t in _tables(mysql_warehouse) if t.startswith(f"{table}__")}
        table_drop(table_name=table)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_rows_refused_at_the_commit_leave_no_table(mysql_warehouse):
    # A session that wrote rows and never called finish() ends their stream at the commit:
    # the server's refusal there is what the caller sees, and the stage goes as on any failure.
    table = f"ds_{uuid.uuid4().hex}"
    with (
        pytest.raises(LoadFailed, match="refused 1 value"),
        LoadSession(mysql_warehouse, table, "u1") as load,
    ):
        load.create([("n", ColumnType.INTEGER)])
        load.set_write_order(["n"])
        load.write_columns([["1", "not-a-number"]])
    assert not {t for t in _tables(mysql_warehouse) if t.startswith(table)}


def test_a_widening_append_that_fails_changes_nothing(mysql_warehouse):
    table = f"ds_{uuid.uuid4().hex}"
    _load(mysql_warehouse, table, [["1", "2"]])
    with pytest.raises(RuntimeError), LoadSession(mysql_warehouse, table, "u2") as load:
        load.set_write_order(["n"])
        load.retype("n", ColumnType.TEXT)
        load.write_columns([["x"]])
        load.finish(LoadResult(rows_loaded=1, rows_rejected=0, columns=()))
        raise RuntimeError("killed before the commit")
    with mysql_warehouse.connect() as connection:
        (column,) = inspect(connection).get_columns(table)[1:]
    assert "INT" in str(column["type"]).upper()
    assert table_row_count(table_name=table) == 2
    assert not {t for t in _tables(mysql_warehouse) if t.startswith(f"{table}__")}
    table_drop(table_name=table)
