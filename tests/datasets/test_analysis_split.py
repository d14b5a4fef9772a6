"""`split=` on a time series (issue 19): one series per value of a text or boolean column, for
the ten values in most rows, and "other"; each line is what the same time series filtered to
its value answers, on every warehouse, from at most two queries."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.datasets.pipeline import api_client_for, make_org, upload
from tests.warehouse.statements import warehouse_statements

pytestmark = pytest.mark.django_db(transaction=True)

# Fourteen cities, two differing only in case, in rows of skewed frequency; an empty cell is
# common enough to be one of the ten lines. `split` is a column named like the parameter.
CITIES = ["Paris", "paris", "Lyon", "Nice", "Lille", "Nantes", "Brest", "Metz", "Caen", "Pau"]
CITIES += ["Albi", "Agen", "Dax", "Sète"]
START = datetime(2024, 3, 25, tzinfo=UTC)


def _csv() -> str:
    rng = random.Random(19)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["at", "city", "flag", "amount", "split"])
    weights = [40, 35, 30, 28, 26, 24, 22, 20, 18, 16, 4, 3, 2, 1]
    for _ in range(900):
        city = "" if rng.random() < 0.05 else rng.choices(CITIES, weights)[0]
        moment = START + timedelta(seconds=rng.randrange(20 * 86_400))
        at = "" if rng.random() < 0.05 else moment.isoformat()
        flag = rng.choice(["true", "false", ""])
        amount = f"{rng.randrange(-5000, 5000) / 100:.2f}"
        writer.writerow([at, city, flag, amount, rng.choice(["x", "y"])])
    return buffer.getvalue()


TEXT = _csv()


@pytest.fixture
def api(warehouse):
    organization = make_org("alice")
    created = upload(organization, "sales.csv", TEXT)
    assert created.state == "succeeded", created.error
    return api_client_for(organization, role="viewer")


def analysis(api, query: str, status: int = 200) -> dict:
    response = api.get(f"/api/v1/datasets/sales/analysis/?{query}")
    assert response.status_code == status, response.content
    return response.json()


def _picks(column: str, value) -> str:
    """The filter that picks one value of the split column, as the rows endpoint reads it."""
    if value is None:
        return f"{column}__isnull="
    return f"{column}__eq={quote(str(value).lower() if isinstance(value, bool) else value)}"


def _others(column: str, named: list) -> str:
    """The filters that pick every row not in the named lines (empty cells too, unless one)."""
    values = [str(v).lower() if isinstance(v, bool) else v for v in named if v is not None]
    found = f"{column}__notin={quote(json.dumps(values))}"
    return found + (f"&{column}__notnull=" if None in named else "")


def _assert_lines_are_filtered_series(api, query: str, column: str) -> dict:
    """Each line of the split answer equals the unsplit series filtered to its value(s)."""
    found = analysis(api, f"{query}&split={column}")
    plain = analysis(api, query)
    assert found["source"] == "warehouse"
    assert {k: found[k] for k in ("type", "column", "bucket", "metric")} == {
        k: plain[k] for k in ("type", "column", "bucket", "metric")
    }
    named = [line["value"] for line in found["series"] if not line.get("other")]
    for line in found["series"]:
        picks = _others(column, named) if line.get("other") else _picks(column, line["value"])
        assert line["points"] == analysis(api, f"{query}&{picks}")["points"], line
    return found


def _top(rows: list[dict], column: str) -> list:
    """The ten commonest cells of a column ('' read as None), ties by value, None last."""
    counts = Counter(row[column] or None for row in rows)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    return [value for value, _ in ordered[:10]]


def test_split_by_text_gives_the_ten_commonest_values_then_other(api):
    found = _assert_lines_are_filtered_series(api, "type=timeseries&column=at&bucket=day", "city")
    rows = list(csv.DictReader(io.StringIO(TEXT)))
    values = [line.get("value") for line in found["series"]]
    assert values == [*_top(rows, "city"), None]
    assert None in values[:10]  # the empty cell is one of the lines, "value": null
    assert found["series"][-1] == {"other": True, "points": found["series"][-1]["points"]}
    assert found["split"] == "city"
    # Every row with a time is on exactly one line.
    total = sum(p["value"] for line in found["series"] for p in line["points"])
    assert total == sum(1 for row in rows if row["at"])


def test_split_takes_filters_search_and_other_metrics(api):
    query = "type=timeseries&column=at&bucket=week&metric=sum:amount&amount=gt:0&q=a"
    _assert_lines_are_filtered_series(api, query, "city")
    query = "type=timeseries&column=at&bucket=day&metric=avg:amount&city=in:Paris,paris,Lyon"
    found = _assert_lines_are_filtered_series(api, query, "city")
    assert [line["value"] for line in found["series"]] == ["Paris", "paris", "Lyon"]


def test_split_by_a_boolean_has_no_other_line(api):
    found = _assert_lines_are_filtered_series(api, "type=timeseries&column=at&bucket=week", "flag")
    assert sorted(line["value"] for line in found["series"] if line["value"] is not None) == [
        False,
        True,
    ]
    assert None in [line["value"] for line in found["series"]]
    assert not any(line.get("other") for line in found["series"])


def test_a_column_named_split_filters_with_the_op_form(api):
    found = analysis(api, "type=timeseries&column=at&bucket=week&_split=split&split__eq=x")
    assert [line["value"] for line in found["series"]] == ["x"]
    same = analysis(api, "type=timeseries&column=at&bucket=week&split__eq=x")
    assert found["series"][0]["points"] == same["points"]


def test_without_split_the_answer_has_no_series(api):
    found = analysis(api, "type=timeseries&column=at&bucket=week&city=Paris")
    assert "series" not in found and "split" not in found
    assert found["points"]


@pytest.mark.parametrize("column", ["amount", "at"])
def test_a_split_column_that_is_not_text_or_boolean_is_refused(api, column):
    found = analysis(api, f"type=timeseries&column=at&split={column}", status=400)
    assert f"{column!r} is" in found["detail"]
    assert "city, flag, split" in found["detail"]


def test_split_on_another_analysis_type_is_refused(api):
    found = analysis(api, "type=aggregate&split=city", status=400)
    assert "does not apply" in found["detail"]


def test_a_split_series_is_two_warehouse_queries(api):
    with warehouse_statements() as seen:
        found = analysis(api, "type=timeseries&column=at&bucket=day&split=city")
    assert len(found["series"]) == 11
    assert len([sql for sql, _ in seen if "GROUP BY" in sql.upper()]) == 2
