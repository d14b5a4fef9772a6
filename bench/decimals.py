"""Exact decimals on SQLite: ingestion and filter speed of the stored forms, in one run.

    .venv/bin/python bench/decimals.py --rows 1000000

Through csvhub's own warehouse code (LoadSession, SQLiteLoader, warehouse.query), on a fresh
SQLite file per form, for a table (id integer, amount decimal, note text) of --rows rows:

  REAL     what csvhub stored before exact decimals (lossy: 79930.00 reads 79930.0)
  scaled   integers of amount * 10**scale, DECIMAL(19, scale) declared (csvhub's choice)
  text     canonical text, compared as CAST(amount AS REAL): the other candidate (raw SQL
           here, since csvhub never stored it; inexact past 15 digits, no index order)

Figures: load (write_columns of batches of 20,000 rows, commit), a filtered count
(`amount > x`, full scan), and the first page sorted by amount (no index), each the median of
--repeat runs. Ratios are against REAL in the same run; the target is within 10 % (>= 0.9x).
Values with two digits after the point ("as written at the scale": one C-speed pass) and
with one or two ("mixed": converted value by value) are loaded separately.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH_ROWS = 20_000
THRESHOLD = Decimal("50000.005")


def setup_django(directory: Path) -> None:
    os.environ["CSVHUB_DATA_DIR"] = str(directory)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")
    import django

    django.setup()


def amounts(rows: int, *, mixed: bool) -> list[str]:
    generator = random.Random(12)
    values = [f"{generator.randrange(-10_000_000, 10_000_000) / 100:.2f}" for _ in range(rows)]
    if mixed:  # trailing zeros dropped: 12.50 -> 12.5, 3.00 -> 3
        values = [v.rstrip("0").rstrip(".") if i % 2 else v for i, v in enumerate(values)]
    return values


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def load(path: Path, values: list[str], scale: int | None) -> float:
    from sqlalchemy import create_engine

    from csvhub.schema import ColumnType
    from csvhub.warehouse.dialects import DIALECTS
    from csvhub.warehouse.load import LoadSession

    engine = DIALECTS["sqlite"].create_engine(create_engine(f"sqlite:///{path}").url)
    columns = [
        ("id", ColumnType.INTEGER),
        ("amount", ColumnType.DECIMAL),
        ("note", ColumnType.TEXT),
    ]
    ids = [str(i) for i in range(len(values))]
    notes = [f"row {i}" for i in range(len(values))]
    started = time.perf_counter()
    with LoadSession(engine, TABLE, "bench") as session:
        session.create(columns, scales={"amount": scale})
        session.set_write_order([name for name, _ in columns])
        for start in range(0, len(values), BATCH_ROWS):
            part = slice(start, start + BATCH_ROWS)
            session.write_columns([ids[part], values[part], notes[part]])
        session.finish({})
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def load_text(path: Path, values: list[str]) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    started = time.perf_counter()
    connection.execute(
        f"CREATE TABLE {TABLE} (_row_id INTEGER PRIMARY KEY, id BIGINT, amount TEXT, note TEXT)"
    )
    connection.execute("BEGIN IMMEDIATE")
    rows = zip(
        map(str, range(len(values))), values, (f"row {i}" for i in range(len(values))), strict=True
    )
    connection.executemany(
        f"INSERT INTO {TABLE} (id, amount, note) VALUES (?, NULLIF(?, ''), ?)", rows
    )
    connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


def reads(path: Path, scale: int | None, repeat: int) -> tuple[float, float]:
    from sqlalchemy import create_engine

    from csvhub.grammar.filters import Operator
    from csvhub.schema import Column, ColumnType
    from csvhub.warehouse.dialects import DIALECTS
    from csvhub.warehouse.query import Condition, Order, RowSet, rows_count, rows_page

    engine = DIALECTS["sqlite"].create_engine(create_engine(f"sqlite:///{path}").url)
    fields = (
        Column("id", ColumnType.INTEGER),
        Column("amount", ColumnType.DECIMAL, scale=scale),
        Column("note", ColumnType.TEXT),
    )
    filtered = RowSet(TABLE, fields, (Condition("amount", Operator.GT, THRESHOLD),))
    ordered = RowSet(TABLE, fields, order=(Order("amount"),))
    count = median_seconds(lambda: rows_count(filtered, engine=engine), repeat)
    page = median_seconds(
        lambda: rows_page(ordered, columns=["id", "amount"], limit=50, engine=engine), repeat
    )
    engine.dispose()
    return count, page


def text_reads(path: Path, repeat: int) -> tuple[float, float]:
    connection = sqlite3.connect(path)
    count_sql = f"SELECT count(*) FROM {TABLE} WHERE CAST(amount AS REAL) > ?"
    page_sql = (
        f"SELECT _row_id, id, amount FROM {TABLE} ORDER BY CAST(amount AS REAL), _row_id LIMIT 51"
    )
    count = median_seconds(
        lambda: connection.execute(count_sql, (float(THRESHOLD),)).fetchall(), repeat
    )
    page = median_seconds(lambda: connection.execute(page_sql).fetchall(), repeat)
    connection.close()
    return count, page


TABLE = "ds_" + "0" * 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        setup_django(workdir)
        print(f"SQLite {sqlite3.sqlite_version}, {options.rows:,} rows, median of {options.repeat}")
        header = "".join(f"{h:>9}" for h in ("load s", "count s", "page s"))
        print(f"{'form':<22}{header}{'load':>8}{'count':>8}{'page':>8}")
        for label, mixed in (("at the scale", False), ("mixed", True)):
            values = amounts(options.rows, mixed=mixed)
            figures = {}
            for form, scale in (("REAL", None), ("scaled", 2)):
                path = workdir / f"{form}-{mixed}.sqlite3"
                figures[form] = (load(path, values, scale), *reads(path, scale, options.repeat))
            path = workdir / f"text-{mixed}.sqlite3"
            figures["text"] = (load_text(path, values), *text_reads(path, options.repeat))
            base = figures["REAL"]
            for form, figure in figures.items():
                ratios = "".join(f"{b / f:>7.2f}x" for f, b in zip(figure, base, strict=True))
                timings = "".join(f"{f:>9.3f}" for f in figure)
                print(f"{form + ' (' + label + ')':<22}{timings}{ratios}")
        print("ratios: speed against REAL in this run (>= 0.90x is within 10 %)")


if __name__ == "__main__":
    main()
