"""What the DuckDB warehouse promises beyond the conformance suite: nothing is fetched at run
time, one process only (refused at startup otherwise), one writer at a time in that process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from csvhub.schema import Column, ColumnType, LoadResult
from csvhub.warehouse.dialects import check_processes
from csvhub.warehouse.dialects.duckdb import OFFLINE_CONFIG
from csvhub.warehouse.engine import QueryTimeout, engine_discard, engine_for_url, read_connection
from csvhub.warehouse.load import LoadSession
from csvhub.warehouse.query import RowSet, RowStream
from csvhub.warehouse.schema import table_name_for

# Seconds of work in one statement (about 2.6 s on two cores here, 1 as its answer). The sum
# must be used: `count(*)` over an aggregate let DuckDB skip the hashing, and the statement
# took 0.3 s, so a read with a 0.4 s deadline could finish before it (the CI flake of
# test_one_thread_keeps_the_deadlines_of_every_read, 'finished after 0.4 s').
SLOW = "SELECT CAST(sum(hash(range)) > 0 AS INTEGER) FROM range(600000000)"


@pytest.fixture
def duckdb_url(tmp_path):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    yield url
    engine_discard(url)


def test_every_connection_has_extension_downloads_and_autoloading_off(duckdb_url):
    engine = engine_for_url(duckdb_url)
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            for name in OFFLINE_CONFIG:
                value = connection.execute(text(f"SELECT current_setting('{name}')")).scalar()
                assert value is False, name
            assert connection.execute(text("SELECT current_setting('TimeZone')")).scalar() == "UTC"


def test_an_extension_outside_the_wheel_is_refused_not_fetched(duckdb_url):
    # httpfs ships outside the wheel: with autoloading on, DuckDB would download it here.
    with (
        engine_for_url(duckdb_url).connect() as connection,
        pytest.raises(sqlalchemy.exc.DBAPIError) as raised,
    ):
        connection.execute(text("SELECT * FROM read_csv('https://example.invalid/x.csv')"))
    assert "httpfs" in str(raised.value)
    with engine_for_url(duckdb_url).connect() as connection:
        installed, loaded = connection.execute(
            text(
                "SELECT installed, loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
            )
        ).one()
    assert (installed, loaded) == (False, False)


def test_a_read_past_its_time_limit_is_interrupted(duckdb_url):
    # DuckDB has no statement timeout: a timer interrupts the statement.
    engine = engine_for_url(duckdb_url)
    started = time.monotonic()
    with pytest.raises(QueryTimeout), read_connection(engine, seconds=0.2) as connection:
        connection.execute(text(SLOW)).scalar_one()
    assert time.monotonic() - started < 5
    # The connection went back to the pool without its timer: the next read runs to its end.
    with read_connection(engine, seconds=0) as connection:
        assert connection.execute(text(SLOW)).scalar_one() == 1


def test_one_thread_keeps_the_deadlines_of_every_read(duckdb_url):
    # A thread per read cost every page its start: reads share the process's deadline thread,
    # each stopped at its own time, in any order.
    engine = engine_for_url(duckdb_url)
    outcomes: dict[float, str] = {}
    deadline_started = threading.Event()

    def read(seconds: float) -> None:
        started = time.monotonic()
        try:
            with read_connection(engine, seconds=seconds) as connection:
                deadline_started.set()
                connection.execute(text(SLOW)).scalar_one()
            outcomes[seconds] = f"finished after {time.monotonic() - started:.1f} s"
        except QueryTimeout:
            outcomes[seconds] = f"stopped after {time.monotonic() - started:.1f} s"

    readers = [threading.Thread(target=read, args=(seconds,)) for seconds in (60.0, 0.4, 0.2)]
    for reader in readers:  # each due before the last: the thread is woken for it
        deadline_started.clear()
        reader.start()
        assert deadline_started.wait(30)
    deadline_threads = [t for t in threading.enumerate() if t.name == "csvhub-duckdb-deadlines"]
    for reader in readers:
        reader.join()
    assert len(deadline_threads) == 1
    assert outcomes.pop(60.0).startswith("finished")  # not stopped by the others' deadlines
    assert set(outcomes) == {0.2, 0.4}
    for seconds, outcome in outcomes.items():
        assert outcome.startswith("stopped after"), (seconds, outcome)
        assert float(outcome.split()[2]) < seconds + 1.5, (seconds, outcome)


def test_a_read_that_ended_before_its_deadline_leaves_the_next_read_alone(duckdb_url):
    # The ended read's due time is still in the deadline thread's heap when it comes: the
    # next read on the same connection, still running then, must not be interrupted.
    engine = engine_for_url(duckdb_url)
    engine.dispose()  # one pooled connection: the next read gets the same one
    started = time.monotonic()
    with read_connection(engine, seconds=0.3) as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
        first = connection.connection.dbapi_connection
    with read_connection(engine, seconds=60) as connection:
        assert connection.connection.dbapi_connection is first
        while time.monotonic() - started < 0.8:  # statements run past the first one's due time
            assert connection.execute(text(SLOW)).scalar_one() == 1


def test_a_transaction_left_open_is_rolled_back_when_its_connection_goes_back(duckdb_url):
    # The pool rolls back only the connections that began a transaction (a ROLLBACK without
    # one raises on DuckDB and cost every rows page): one begun and left must still end.
    engine = engine_for_url(duckdb_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v INTEGER)"))
    pooled = engine.raw_connection()
    driver = pooled.dbapi_connection
    engine.dialect.do_begin(pooled)
    pooled.cursor().execute("INSERT INTO t VALUES (1)")
    pooled.close()
    with engine.connect() as connection:  # the pool's one connection: the same DuckDB one
        assert connection.connection.dbapi_connection is driver
        with connection.begin():  # would raise if the first transaction were still open
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_an_export_left_early_does_not_hold_a_transaction_that_blocks_checkpoints(duckdb_url):
    # DuckDB keeps a statement's transaction open until its result is read to the end; the
    # pool rolls back the connection of a stream closed before then, or no checkpoint could
    # run (the write-ahead log would grow) until that connection was used again.
    engine = engine_for_url(duckdb_url)
    table = table_name_for("4" * 32)
    with engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE {table} AS "
                "SELECT range AS _row_id, range AS n FROM range(1, 1000001)"
            )
        )
    with engine.connect() as other:  # held: the stream gets a connection of its own
        stream = RowStream(
            RowSet(table, (Column("n", ColumnType.INTEGER),)),
            columns=["n"],
            engine=engine,
            batch_rows=1000,
        )
        assert len(next(stream.batches())) == 1000
        stream.close()  # the client left: the rest of the result is never read
        with other.begin():
            other.execute(text(f"UPDATE {table} SET n = n + 1 WHERE _row_id < 500000"))
        other.execute(text("CHECKPOINT"))  # raises while another transaction is open


def test_celery_workers_are_refused_at_startup(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import csvhub.settings"],
        env={
            "CSVHUB_DATA_DIR": str(tmp_path / "data"),
            "CSVHUB_WAREHOUSE_URL": f"duckdb:///{tmp_path / 'w.duckdb'}",
            "CSVHUB_TASK_RUNNER": "celery",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "cannot be written by Celery workers. Set CSVHUB_TASK_RUNNER=thread" in result.stderr


@pytest.mark.parametrize(
    ("url", "runner", "workers", "refused"),
    [
        ("duckdb:////srv/w.duckdb", "thread", 1, None),
        ("duckdb:////srv/w.duckdb", "celery", 1, "Celery workers"),
        ("duckdb:////srv/w.duckdb", "thread", 2, "WEB_CONCURRENCY=1"),
        ("sqlite:////srv/w.sqlite3", "celery", 4, None),
        ("postgresql://db/csvhub", "celery", 4, None),
    ],
)
def test_one_process_engines_refuse_several_processes(url, runner, workers, refused):
    if refused is None:
        check_processes(url, task_runner=runner, web_workers=workers)
        return
    with pytest.raises(ValueError, match=refused):
        check_processes(url, task_runner=runner, web_workers=workers)


def _load(engine, table_name: str, upload_id: str, started: threading.Event) -> None:
    with LoadSession(engine, table_name, upload_id) as load:
        started.set()
        if load.columns is None:
            load.create([("n", ColumnType.INTEGER)])
        load.set_write_order(["n"])
        load.write_columns([[str(i) for i in range(1000)]])
        load.finish(LoadResult(rows_loaded=1000, rows_rejected=0, columns=()))


def test_loads_of_one_table_run_one_after_the_other(duckdb_url):
    engine = engine_for_url(duckdb_url)
    table_name = table_name_for("0" * 32)
    started = [threading.Event() for _ in range(4)]
    threads = [
        threading.Thread(target=_load, args=(engine, table_name, f"u{i}", started[i]))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with engine.connect() as connection:
        count, distinct, low, high = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT _row_id), min(_row_id), max(_row_id) "
                f"FROM {table_name}"
            )
        ).one()
    # Every row kept, each with its own id, numbered on from the loads before.
    assert (count, distinct, low, high) == (4000, 4000, 1, 4000)


def test_cells_that_would_end_a_line_or_a_field_load_exactly(duckdb_url):
    # The loader writes each batch column as lines for DuckDB's CSV reader: a carriage return,
    # NUL, line break, the separator or an opening byte-order mark must not cut or change a
    # cell (such columns are written quoted), and '' stays NULL.
    engine = engine_for_url(duckdb_url)
    table_name = table_name_for("1" * 32)
    cells = ["a\rb", "x\x00y", 'q"u', "", "\ufeffbom", "two\nlines", "tab\t", "\x1fsep"]
    with LoadSession(engine, table_name, "u1") as load:
        load.create([("t", ColumnType.TEXT)])
        load.set_write_order(["t"])
        load.write_columns([cells])
        load.finish(LoadResult(rows_loaded=len(cells), rows_rejected=0, columns=()))
    with LoadSession(engine, table_name, "u2") as load:
        load.set_write_order(["t"])
        assert load.write_joined(["\ufeffjoined\nplain"], 2)
        load.finish(LoadResult(rows_loaded=2, rows_rejected=0, columns=()))
    with engine.connect() as connection:
        stored = connection.execute(text(f"SELECT t FROM {table_name} ORDER BY _row_id"))
        assert [row[0] for row in stored] == [
            *(cell or None for cell in cells),
            "\ufeffjoined",
            "plain",
        ]
