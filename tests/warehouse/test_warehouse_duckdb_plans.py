"""DuckDB's faster plans give the answers of the plain ones: time series bucketed in two steps
(the days that hold rows, then their bucket), and sorted pages whose top-N fetches the other
columns last (late materialization up to a page's LIMIT)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from csvhub.grammar.analysis import Bucket, Function
from csvhub.grammar.rows import MAX_LIMIT
from csvhub.schema import Column, ColumnType, LoadResult
from csvhub.warehouse import analysis
from csvhub.warehouse.analysis import Metric
from csvhub.warehouse.engine import engine_discard, engine_for_url
from csvhub.warehouse.load import LoadSession
from csvhub.warehouse.query import Order, RowSet, rows_page
from csvhub.warehouse.schema import table_name_for

TABLE = table_name_for("2" * 32)
FIELDS = (
    Column("at", ColumnType.TIMESTAMP),
    Column("day", ColumnType.DATE),
    Column("amount", ColumnType.DECIMAL, scale=2),
    Column("n", ColumnType.INTEGER),
)
# Times either side of the epoch, of month, week (Sunday/Monday) and year ends, and ordinary ones.
TIMES = [
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 28, 12, tzinfo=UTC),  # a Sunday
    datetime(1969, 12, 29, tzinfo=UTC),  # a Monday
    datetime(1900, 2, 28, 23, 0, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
    datetime(2024, 3, 1, tzinfo=UTC),
    datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
    datetime(2026, 1, 4, 23, 59, tzinfo=UTC),  # a Sunday
    datetime(2026, 1, 5, 0, 0, 1, tzinfo=UTC),  # a Monday
] + [datetime(2023, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i + i % 5) for i in range(400)]


@pytest.fixture
def engine(tmp_path):
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = engine_for_url(url)
    with LoadSession(engine, TABLE, "u1") as load:
        load.create([(field.name, field.type) for field in FIELDS], {"amount": 2})
        load.set_write_order([field.name for field in FIELDS])
        load.write_columns(
            [
                [time.isoformat(sep=" ") for time in TIMES],
                [time.date().isoformat() for time in TIMES],
                [_amount(i) for i in range(len(TIMES))],
                [str(i % 7) for i in range(len(TIMES))],
            ]
        )
        load.finish(LoadResult(rows_loaded=len(TIMES), rows_rejected=0, columns=()))
    yield engine
    engine_discard(url)


def _amount(i: int) -> str:
    return str(Decimal(i * 7919 % 100003 - 50000).scaleb(-2))


def _start(value: date, bucket: Bucket) -> date:
    if bucket is Bucket.WEEK:
        return value - timedelta(days=value.weekday())
    return value.replace(day=1) if bucket is Bucket.MONTH else value


@pytest.mark.parametrize("bucket", [Bucket.DAY, Bucket.WEEK, Bucket.MONTH])
@pytest.mark.parametrize("column", ["at", "day"])
@pytest.mark.parametrize(
    "function", [Function.COUNT, Function.SUM, Function.MIN, Function.MAX, Function.AVG]
)
def test_buckets_of_days_weeks_and_months_are_exact(engine, bucket, column, function):
    metric = Metric(function, None if function is Function.COUNT else "amount")
    found = analysis.timeseries(
        RowSet(TABLE, FIELDS),
        column=column,
        bucket=bucket,
        metric=metric,
        limit=10_000,
        engine=engine,
    )
    amounts: dict[date, list[Decimal]] = {}
    for i, time in enumerate(TIMES):
        amounts.setdefault(_start(time.date(), bucket), []).append(Decimal(_amount(i)))
    reduce = {
        Function.COUNT: len,
        Function.SUM: sum,
        Function.MIN: min,
        Function.MAX: max,
        Function.AVG: lambda values: analysis.exact_average(
            sum(values), len(values), 2 + analysis.AVERAGE_DIGITS
        ),
    }[function]
    expected = [(start, reduce(values)) for start, values in sorted(amounts.items())]
    got = [(start if column == "day" else start.date(), value) for start, value in found]
    assert got == expected
    if column == "at":
        assert all(start.tzinfo is not None for start, _ in found)


def test_a_sorted_page_is_the_page_python_sorts(engine):
    # Late materialization reaches a page's LIMIT: the sort keys first, the other columns of the
    # chosen rows last; the page is the same rows, in the same order, as sorting them all.
    with engine.connect() as connection:
        setting = connection.execute(
            text("SELECT current_setting('late_materialization_max_rows')")
        ).scalar()
    assert setting == MAX_LIMIT + 1
    rows = RowSet(TABLE, FIELDS, order=(Order("n", descending=True), Order("amount")))
    expected = sorted(range(len(TIMES)), key=lambda i: (-(i % 7), Decimal(_amount(i)), i))
    # Every amount differs (7919 is invertible modulo the prime 100003): it names the row.
    seen: list[tuple[str | None, ...]] = []
    page = rows_page(rows, columns=["n", "amount"], limit=100, engine=engine)
    while True:
        seen += page.rows
        if not page.more:
            break
        page = rows_page(rows, columns=["n", "amount"], limit=100, after=page.last, engine=engine)
    assert seen == [(str(i % 7), _amount(i)) for i in expected]


def test_a_cursor_page_bounds_its_first_key_in_the_scan(engine):
    # `(n, _row_id) > (x, r)` is evaluated row by row after DuckDB's scan; the `n >= x` it
    # implies is a filter of the scan itself. The pages stay those of Python's sort.
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    rows = RowSet(TABLE, FIELDS, order=(Order("n"),))
    seen: list[tuple[str | None, ...]] = []
    page = rows_page(rows, columns=["amount"], limit=30, engine=engine)
    while True:
        seen += page.rows
        if not page.more:
            break
        page = rows_page(rows, columns=["amount"], limit=30, after=page.last, engine=engine)
    expected = sorted(range(len(TIMES)), key=lambda i: (i % 7, i))
    assert seen == [(_amount(i),) for i in expected]
    after = [sql for sql in statements if "_row_id) >" in sql]
    assert after and all(
        re.search(r"\.n >= \$\d+ AND \(\w+\.n, \w+\._row_id\) >", sql) for sql in after
    )


def _walk(rows, engine, *, backwards: bool, limit: int = 30) -> list[tuple[str | None, ...]]:
    """Every row by cursor pages: from the first page on, or from the last page back."""
    page = rows_page(rows, columns=["amount"], limit=limit, engine=engine)
    seen = list(page.rows)
    while page.more:
        page = rows_page(rows, columns=["amount"], limit=limit, after=page.last, engine=engine)
        seen += page.rows
    if not backwards:
        return seen
    seen = list(page.rows)
    while True:
        page = rows_page(rows, columns=["amount"], limit=limit, before=page.first, engine=engine)
        seen = [*page.rows, *seen]
        if not page.more:
            return seen


@pytest.mark.parametrize("limit", [1, 7, 30])
@pytest.mark.parametrize("watched", [False, True], ids=["driver", "sqlalchemy"])
@pytest.mark.parametrize("backwards", [False, True], ids=["forwards", "backwards"])
def test_pages_in_row_id_order_read_a_window_of_row_ids_and_cross_gaps(
    engine, watched, backwards, limit
):
    # A page without filters or sort reads the next row ids as one range (no top-N); rows
    # deleted at the start, in a block longer than a page and here and there leave gaps the
    # rest of the page is read past. `watched`: SQLAlchemy runs the statements (an engine
    # with events), else the driver runs the window.
    with engine.begin() as connection:
        connection.execute(
            text(
                f"DELETE FROM {TABLE} WHERE _row_id BETWEEN 1 AND 5 "
                "OR _row_id BETWEEN 50 AND 149 OR _row_id % 17 = 0"
            )
        )
    statements: list[str] = []
    if watched:
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    kept = [
        i for i in range(len(TIMES)) if not (i + 1 <= 5 or 50 <= i + 1 <= 149 or (i + 1) % 17 == 0)
    ]
    assert _walk(RowSet(TABLE, FIELDS), engine, backwards=backwards, limit=limit) == [
        (_amount(i),) for i in kept
    ]
    if watched:
        # A window's rows are chosen by their range alone: no top-N inside the page's query.
        windows = [sql for sql in statements if re.search(r"_row_id [<>]= ", sql)]
        assert windows and all("ORDER BY" not in sql.split(") AS page")[0] for sql in windows)


def test_a_page_in_row_id_order_without_gaps_is_one_statement(engine):
    # The window is wide enough for the page: nothing past it is read, but on the last page
    # (to learn that nothing follows; zone maps skip every row group).
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    rows = RowSet(TABLE, FIELDS)
    pages = [rows_page(rows, columns=["amount"], limit=30, engine=engine)]
    while pages[-1].more:
        pages.append(
            rows_page(rows, columns=["amount"], limit=30, after=pages[-1].last, engine=engine)
        )
    assert len(pages) == -(-len(TIMES) // 30)
    assert len(statements) == len(pages) + 1


def test_sums_of_nineteen_digit_decimals_are_exact(tmp_path):
    # The largest decimal csvhub keeps (19 digits at the scale: a signed 64-bit integer), in
    # every row: the sums pass 64 bits, by group and by month (added per day first), exactly.
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = engine_for_url(url)
    largest, table = Decimal("92233720368547758.07"), table_name_for("3" * 32)
    fields = (Column("at", ColumnType.TIMESTAMP), Column("amount", ColumnType.DECIMAL, scale=2))
    times = [datetime(2024, 1 + i % 3, 1 + i % 28, i % 24, tzinfo=UTC) for i in range(300)]
    try:
        with LoadSession(engine, table, "u1") as load:
            load.create([(field.name, field.type) for field in fields], {"amount": 2})
            load.set_write_order(["at", "amount"])
            load.write_columns([[t.isoformat(sep=" ") for t in times], [str(largest)] * 300])
            load.finish(LoadResult(rows_loaded=300, rows_rejected=0, columns=()))
        rows = RowSet(table, fields)
        total = Metric(Function.SUM, "amount")
        found, _ = analysis.aggregate(rows, group_by=[], metrics=[total], limit=1, engine=engine)
        assert found == [(largest * 300,)]
        series = analysis.timeseries(
            rows, column="at", bucket=Bucket.MONTH, metric=total, limit=10, engine=engine
        )
        assert [value for _, value in series] == [largest * 100] * 3
    finally:
        engine_discard(url)
