"""Page-1 query time of the warehouse engines, measured alike on each.

    .venv/bin/python bench/page1.py --rows 1000000 \\
        --url postgresql://postgres@127.0.0.1:5432/test --url mysql://root@127.0.0.1:3306/db

For each warehouse URL: the same generated rows (5 columns: text id, timestamp, decimal,
integer, text name) are loaded through csvhub's LoadSession into a fresh table; then the
warehouse's own time for page 1 (100 rows, the query the rows API runs: warehouse.query.rows_page)
is the median of --repeat runs after a warm-up, for the default order, a sort on an unindexed
decimal column, and a filter. The table is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csvhub.settings")

BATCH = 50_000


def _columns(start: int, count: int) -> list[list[str]]:
    ids = range(start, start + count)
    return [
        [f"T{i:09d}" for i in ids],
        [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00" for i in ids],
        [f"{(i * 7919) % 1000000 / 100:.2f}" for i in ids],
        [str(i % 5000) for i in ids],
        [f"client {i % 977}" for i in ids],
    ]


SHAPE = ["transaction_id", "transaction_date", "amount", "client_id", "client_name"]


def _load(engine, table: str, rows: int) -> None:
    from csvhub.schema import ColumnType
    from csvhub.warehouse.load import LoadSession

    types = [ColumnType.TEXT, ColumnType.TIMESTAMP, ColumnType.DECIMAL, ColumnType.INTEGER]
    types.append(ColumnType.TEXT)
    with LoadSession(engine, table, str(uuid.uuid4())) as load:
        load.create(list(zip(SHAPE, types, strict=True)), {"amount": 2})
        load.set_write_order(SHAPE)
        for start in range(0, rows, BATCH):
            load.write_columns(_columns(start, min(BATCH, rows - start)))
        load.finish({"rows": rows})


def _median_ms(run, repeat: int) -> float:
    run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(url: str, rows: int, repeat: int) -> dict[str, float]:
    from csvhub.grammar.filters import Operator
    from csvhub.schema import Column, ColumnType
    from csvhub.warehouse.engine import engine_for_url
    from csvhub.warehouse.query import Condition, Order, RowSet, rows_page
    from csvhub.warehouse.tables import table_drop

    engine = engine_for_url(url)
    table = f"ds_{uuid.uuid4().hex}"
    started = time.perf_counter()
    _load(engine, table, rows)
    loaded = time.perf_counter() - started
    kinds = [ColumnType.TEXT, ColumnType.TIMESTAMP, ColumnType.DECIMAL, ColumnType.INTEGER]
    kinds.append(ColumnType.TEXT)
    fields = tuple(
        Column(name, kind, scale=2 if kind is ColumnType.DECIMAL else None)
        for name, kind in zip(SHAPE, kinds, strict=True)
    )
    queries = {
        "default order": RowSet(table, fields),
        "sort=amount:desc": RowSet(table, fields, order=(Order("amount", descending=True),)),
        "client_name=eq:client 5": RowSet(
            table, fields, conditions=(Condition("client_name", Operator.EQ, "client 5"),)
        ),
    }
    try:
        figures = {"load (s)": loaded}
        for label, rowset in queries.items():
            figures[label] = _median_ms(
                lambda r=rowset: rows_page(r, columns=SHAPE, limit=100, engine=engine), repeat
            )
        return figures
    finally:
        table_drop(table_name=table, engine=engine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--url", action="append", required=True, help="a warehouse URL")
    args = parser.parse_args()
    import django

    django.setup()
    print(f"page 1 (100 rows) of {args.rows:,} rows, median of {args.repeat}, in ms")
    for url in args.url:
        figures = measure(url, args.rows, args.repeat)
        scheme = url.split(":", 1)[0]
        print(f"{scheme:<12} " + "  ".join(f"{k}: {v:.1f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
