"""DuckDB stores a decimal column narrow, DECIMAL(18, s) (a 64-bit integer: sums run several
times faster), while its values fit, and widens it to DECIMAL(19, s) before one needs the 19th
digit: a batch bringing such a value, a wider scale, an edit. Values and sums stay exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from csvhub.grammar.analysis import Function
from csvhub.schema import Column, ColumnType, LoadResult
from csvhub.warehouse import analysis
from csvhub.warehouse.analysis import Metric
from csvhub.warehouse.edits import EditTarget, SetValue, edit_apply
from csvhub.warehouse.engine import engine_discard, engine_for_url
from csvhub.warehouse.load import LoadSession
from csvhub.warehouse.query import Condition, RowSet, rows_page
from csvhub.warehouse.schema import table_name_for

TABLE = table_name_for("4" * 32)
FIELDS = (Column("n", ColumnType.INTEGER), Column("amount", ColumnType.DECIMAL, scale=2))
# The largest narrow value at scale 2 (18 digits), and the smallest that needs 19.
NARROW_MAX = "9999999999999999.99"
WIDE_MIN = "10000000000000000.00"
LARGEST = "92233720368547758.07"


@pytest.fixture
def engine(tmp_path):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = engine_for_url(url)
    yield engine
    engine_discard(url)


def _load(engine, amounts: list[str], *, scale: int = 2) -> None:
    with LoadSession(engine, TABLE, "u1") as load:
        load.create([("n", ColumnType.INTEGER), ("amount", ColumnType.DECIMAL)], {"amount": scale})
        load.set_write_order(["n", "amount"])
        load.write_columns([[str(i) for i in range(len(amounts))], amounts])
        load.finish(LoadResult(rows_loaded=len(amounts), rows_rejected=0, columns=()))


def _declared(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT data_type FROM duckdb_columns() "
                "WHERE table_name = :t AND column_name = 'amount'"
            ),
            {"t": TABLE},
        ).scalar_one()


def _amounts(engine) -> list[str | None]:
    page = rows_page(RowSet(TABLE, FIELDS), columns=["amount"], limit=1000, engine=engine)
    return [row[0] for row in page.rows]


def _total(engine) -> Decimal:
    metric = Metric(Function.SUM, "amount")
    found, _ = analysis.aggregate(
        RowSet(TABLE, FIELDS), group_by=[], metrics=[metric], limit=1, engine=engine
    )
    return found[0][0]


def test_decimals_that_fit_eighteen_digits_are_stored_narrow(engine):
    amounts = [NARROW_MAX, "-" + NARROW_MAX, "0.01", ""]
    _load(engine, amounts)
    assert _declared(engine) == "DECIMAL(18,2)"
    assert _amounts(engine) == [NARROW_MAX, "-" + NARROW_MAX, "0.01", None]
    assert _total(engine) == Decimal("0.01")


@pytest.mark.parametrize("wide", [WIDE_MIN, "-" + WIDE_MIN, LARGEST])
def test_a_batch_with_a_nineteen_digit_value_widens_the_column_first(engine, wide):
    amounts = ["1.50", wide, NARROW_MAX]
    _load(engine, amounts)
    assert _declared(engine) == "DECIMAL(19,2)"
    assert _amounts(engine) == amounts
    assert _total(engine) == sum(Decimal(a) for a in amounts)


def test_digits_after_the_point_do_not_widen(engine):
    # Scale 16: 3 integer digits need 19; digits after the point never count.
    amounts = ["99.9999999999999999", "0.1234567890123456"]
    _load(engine, amounts, scale=16)
    assert _declared(engine) == "DECIMAL(18,16)"
    assert _amounts(engine) == amounts


def test_an_edit_writing_a_nineteen_digit_value_widens_the_column(engine):
    _load(engine, ["1.00", "2.00"])
    rows = RowSet(TABLE, FIELDS, conditions=(Condition("n", "eq", 1),))
    edit_apply(
        EditTarget(rows, changes=(("amount", SetValue(Decimal(LARGEST))),)),
        edit_id=1,
        engine=engine,
    )
    assert _declared(engine) == "DECIMAL(19,2)"
    assert _amounts(engine) == ["1.00", LARGEST]


def test_a_wider_scale_keeps_the_column_narrow_only_when_its_values_fit(engine):
    with LoadSession(engine, TABLE, "u1") as load:
        load.create([("n", ColumnType.INTEGER), ("amount", ColumnType.DECIMAL)], {"amount": 2})
        load.set_write_order(["n", "amount"])
        load.write_columns([["1", "2"], ["1.25", "99999999999999.99"]])
        load.retype("amount", ColumnType.DECIMAL, 3)  # 14 + 3 digits: narrow still
        assert _declared_in(load) == "DECIMAL(18,3)"
        load.write_columns([["3"], ["900000000000000.000"]])  # 18 digits at scale 3
        load.retype("amount", ColumnType.DECIMAL, 4)  # 15 + 4 = 19 digits: wide
        assert _declared_in(load) == "DECIMAL(19,4)"
        load.finish(LoadResult(rows_loaded=3, rows_rejected=0, columns=()))
    fields = (Column("n", ColumnType.INTEGER), Column("amount", ColumnType.DECIMAL, scale=4))
    page = rows_page(RowSet(TABLE, fields), columns=["amount"], limit=10, engine=engine)
    assert [row[0] for row in page.rows] == [
        "1.2500",
        "99999999999999.9900",
        "900000000000000.0000",
    ]


def _declared_in(load: LoadSession) -> str:
    return load._connection.execute(
        text(
            "SELECT data_type FROM duckdb_columns() "
            "WHERE table_name = :t AND column_name = 'amount'"
        ),
        {"t": TABLE},
    ).scalar_one()


def test_a_nineteen_digit_bound_filters_a_narrow_column(engine):
    _load(engine, ["1.00", NARROW_MAX])
    assert _declared(engine) == "DECIMAL(18,2)"
    for op, value, expected in [
        ("lt", LARGEST, ["1.00", NARROW_MAX]),
        ("gt", "-" + LARGEST, ["1.00", NARROW_MAX]),
        ("eq", LARGEST, []),
        ("gte", NARROW_MAX, [NARROW_MAX]),
    ]:
        rows = RowSet(TABLE, FIELDS, conditions=(Condition("amount", op, Decimal(value)),))
        page = rows_page(rows, columns=["amount"], limit=10, engine=engine)
        assert [row[0] for row in page.rows] == expected, (op, value)
