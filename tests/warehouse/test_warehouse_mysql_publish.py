"""MariaDB/MySQL loads are staged and published in one step (docs/decisions.md): a worker
killed after its commit is finished by the next lock of the table, a failed load leaves no
table behind, and a widening append is all or nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect

from csvhub.schema import ColumnType, LoadResult
from csvhub.warehouse.dialects.mysql_infile import LoadFailed
from csvhub.warehouse.dialects.mysql_load import MySQLLoader
from csvhub.warehouse.engine import get_engine
from csvhub.warehouse.load import LoadSession
from csvhub.warehouse.tables import table_drop, table_row_count

pytestmark = pytest.mark.django_db(transaction=True)


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
