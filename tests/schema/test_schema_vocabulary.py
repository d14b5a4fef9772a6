"""The schema vocabulary: JSON forms that read what earlier releases stored, merges that do not
depend on the order loads publish in, and one form per type for every value."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from csvhub.schema import (
    Column,
    ColumnStats,
    ColumnType,
    DatasetSchema,
    LoadResult,
    TypeChange,
    values,
)

# As Dataset.columns / Dataset.stats / csvhub_loads.result held them before the vocabulary.
STORED_COLUMNS = [
    {"name": "fare", "label": "Fare", "type": "decimal", "nullable": True},
    {"name": "name", "label": "Name", "type": "text", "nullable": False},
]
STORED_STATS = {
    "fare": {
        "nulls": 1,
        "non_null": 2,
        "min_value": "7.25",
        "max_value": "71.2833",
        "min_length": 4,
        "max_length": 7,
        "value_type": "decimal",
    }
}
STORED_LOAD = {
    "rows_loaded": 3,
    "rows_rejected": 0,
    "encoding": "utf-8",
    "encoding_reason": "valid UTF-8",
    "delimiter": ",",
    "columns": [{"name": "fare", "label": "Fare", "type": "decimal"}],
    "type_changes": [{"column": "fare", "from": "integer", "to": "decimal"}],
    "stats": STORED_STATS,
    "row_id_range": [1, 3],
}


def test_stored_columns_and_stats_read_and_write_back_unchanged() -> None:
    schema = DatasetSchema.from_json(STORED_COLUMNS, STORED_STATS)
    assert schema.column("fare") == Column("fare", ColumnType.DECIMAL, "Fare", nullable=True)
    assert schema.stats_of("fare").bounds(ColumnType.DECIMAL) == (
        Decimal("7.25"),
        Decimal("71.2833"),
    )
    assert schema.stats_of("name") == ColumnStats()
    assert schema.to_json() == (STORED_COLUMNS, STORED_STATS)


def test_a_column_stored_before_nullable_and_scale_reads_as_nullable_without_scale() -> None:
    column = Column.from_json({"name": "n", "label": "", "type": "integer"})
    assert (column.nullable, column.scale, column.heading) == (True, None, "n")
    scaled = Column.from_json({**STORED_COLUMNS[0], "scale": 4})
    assert scaled.scale == 4 and scaled.to_json()["scale"] == 4


def test_a_stored_load_result_reads_and_its_json_keeps_the_old_keys() -> None:
    result = LoadResult.from_json(json.loads(json.dumps(STORED_LOAD)))
    assert result.type_changes == (TypeChange("fare", ColumnType.INTEGER, ColumnType.DECIMAL),)
    assert result.row_id_range == (1, 3)
    written = result.to_json()
    assert set(written) == set(STORED_LOAD)
    assert written["type_changes"] == STORED_LOAD["type_changes"]
    assert LoadResult.from_json(written) == result


def _load(name: str, column_type: ColumnType, low: str, high: str, nulls: int) -> tuple:
    stats = ColumnStats(nulls, 2, low, high, 1, 4, column_type)
    return (Column(name, column_type, name.upper()),), {name: stats}


def test_loads_merge_alike_in_either_order() -> None:
    first = _load("n", ColumnType.INTEGER, "1", "10", 0)
    second = _load("n", ColumnType.DECIMAL, "-0.5", "3.25", 2)
    one_way = DatasetSchema().with_load(*first).with_load(*second)
    other_way = DatasetSchema().with_load(*second).with_load(*first)
    assert one_way == other_way
    merged = one_way.column("n")
    assert (merged.type, merged.nullable, merged.label) == (ColumnType.DECIMAL, True, "N")
    assert one_way.stats_of("n").bounds(ColumnType.DECIMAL) == (Decimal("-0.5"), Decimal(10))


def test_a_column_widened_to_text_keeps_no_extremes() -> None:
    first = _load("d", ColumnType.DATE, "2024-01-01", "2024-02-01", 0)
    second = _load("d", ColumnType.TEXT, "x", "y", 0)
    schema = DatasetSchema().with_load(*first).with_load(*second)
    assert schema.column("d").type is ColumnType.TEXT
    assert schema.stats_of("d").min_value is None
    assert schema.stats_of("d").nulls == 0 and not schema.column("d").nullable


def test_the_columns_of_a_schema_are_immutable() -> None:
    column = Column("n", ColumnType.INTEGER)
    with pytest.raises(AttributeError):
        column.type = ColumnType.TEXT  # type: ignore[misc]


INSTANT = datetime(2020, 6, 1, 12, 30, 0, 500000, tzinfo=UTC)
FORMS = [
    # type, canonical text, Python value, JSON
    (ColumnType.INTEGER, "-42", -42, -42),
    (ColumnType.DECIMAL, "79930.00", Decimal("79930.00"), "79930.00"),
    (ColumnType.BOOLEAN, "true", True, True),
    (ColumnType.DATE, "2024-02-29", date(2024, 2, 29), "2024-02-29"),
    (ColumnType.TIMESTAMP, "2020-06-01 12:30:00.5", INSTANT, "2020-06-01T12:30:00.5Z"),
    (ColumnType.TEXT, "a b", "a b", "a b"),
]


@pytest.mark.parametrize(("column_type", "text", "value", "as_json"), FORMS)
def test_each_type_has_one_text_value_and_json_form(column_type, text, value, as_json) -> None:
    assert values.parse(column_type, text) == value
    assert values.text(column_type, value) == text
    assert values.to_json(column_type, value) == as_json
    assert values.json_of_text(column_type)(text) == as_json


def test_timestamps_are_utc_whatever_their_offset_and_spelled_shortest_to_longest() -> None:
    east = INSTANT.astimezone(timezone(timedelta(hours=2)))
    assert values.parse_timestamp("2020-06-01T14:30:00.5+02:00") == INSTANT
    assert values.parse_timestamp("2020-06-01 12:30:00.500") == INSTANT  # stored without offset
    assert values.iso_timestamp(east) == "2020-06-01T12:30:00.5Z"
    assert values.timestamp_spellings(east) == (
        "2020-06-01 12:30:00.5",
        "2020-06-01 12:30:00.500000",
    )
    assert values.iso_timestamp_of_text("2020-06-01 12:30:00.500") == "2020-06-01T12:30:00.5Z"
    assert values.iso_timestamp_of_text("2020-06-01 12:30:00") == "2020-06-01T12:30:00Z"
