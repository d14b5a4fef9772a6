"""The three parts together, as the ingestion service uses them."""

import io

from csvhub.csvread import ColumnType, Converter, TypeTracker, open_csv, widen


def test_read_infer_widen_convert() -> None:
    data = (
        b"Order ID,Placed At,Total,Paid,Ship Date\n"
        b"1,2024-01-05T10:00:00Z,10.50,yes,01/07/2024\n"
        b"2,2024-01-05T23:30:00-02:00,7,no,\n"
        b"3,2024-01-06 08:00:00,,Y,01/09/2024\n"
        b"x,y\n"
        b"4,2024-01-07,1e2,n,01/10/2024\n"
    )
    reader = open_csv(io.BytesIO(data), filename="orders.csv")
    tracker = TypeTracker(len(reader.columns))
    stored: list[ColumnType | None] = [None] * len(reader.columns)
    loaded, rejected = [], []
    for batch in reader.batches(size=2):
        types = tracker.observe(batch.rows)
        stored = [widen(s, t) for s, t in zip(stored, types, strict=True)]
        converter = Converter([s or ColumnType.TEXT for s in stored])
        loaded += converter.convert(batch.rows, tracker.last_observation)
        rejected += batch.bad_rows
    assert [c.name for c in reader.columns] == [
        "order_id",
        "placed_at",
        "total",
        "paid",
        "ship_date",
    ]
    assert stored == ["integer", "timestamp", "decimal", "boolean", "date"]
    assert loaded == [
        ["1", "2024-01-05 10:00:00", "10.50", "true", "2024-01-07"],
        ["2", "2024-01-06 01:30:00", "7", "false", ""],
        ["3", "2024-01-06 08:00:00", "", "true", "2024-01-09"],
        ["4", "2024-01-07 00:00:00", "1e2", "false", "2024-01-10"],
    ]
    assert [(bad.line, bad.reason) for bad in rejected] == [(5, "expected 5 fields, found 2")]
    placed = tracker.stats[1]
    assert (placed.min_value, placed.max_value) == ("2024-01-05 10:00:00", "2024-01-07 00:00:00")
