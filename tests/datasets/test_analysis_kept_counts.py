"""The default charts read counts kept in the column statistics, on every warehouse, and stay
right after every way rows change: upload, append, replace, edit, take-back, retention.

The time chart (rows per day, week or month, no filters) reads the rows per day kept at
ingestion; a histogram sums the value cells counted on its first use. Expected answers are
computed from the CSV text in Python (tests.datasets.analysis_data), never through csvhub, so
a wrong or stale kept count fails here; filtered charts must come from the warehouse."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from csvhub.datasets.models import Dataset
from csvhub.lifecycle.policies import policy_update
from csvhub.lifecycle.retention import retention_run
from csvhub.schema import DatasetSchema
from tests.datasets.analysis_data import (
    analysis,
    bucket_of,
    every_bucket,
    expected_bins,
    generated_csv,
    iso,
    parsed,
    values,
)
from tests.datasets.pipeline import api_client_for, make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2024, 3, 20, tzinfo=UTC)
# Timestamps in several spellings and offsets around a month's end: a day is a UTC day.
FIRST = generated_csv(seed=5, rows=400, start=START, days=45)
SECOND = generated_csv(seed=6, rows=150, first_id=401, start=START + timedelta(days=30), days=40)
CHARTS = [("at", "day"), ("at", "week"), ("at", "month"), ("day", "week"), ("day", "month")]


def _expected(rows: list[dict], column: str, bucket: str) -> list[dict]:
    """Rows per bucket, every bucket from the first to the last, in the API's JSON."""
    counted = Counter(bucket_of(row[column], bucket) for row in rows if row[column] is not None)
    if not counted:
        return []
    starts = every_bucket(min(counted), max(counted), bucket)
    shown = iso if column == "at" else lambda d: d.isoformat()
    return [{"bucket": shown(start), "value": counted.get(start, 0)} for start in starts]


def _chart(api, slug: str, column: str, bucket: str, filters: str = "") -> dict:
    query = f"type=timeseries&column={column}&bucket={bucket}&metric=count"
    return analysis(api, slug, f"{query}&{filters}" if filters else query)


def _assert_charts(api, slug: str, rows: list[dict], *, first_source: str) -> None:
    """Every chart right; each column's first chart from `first_source` (the warehouse when
    its day counts had to be counted again), the later ones from the kept counts."""
    seen: set[str] = set()
    for column, bucket in CHARTS:
        kept = _chart(api, slug, column, bucket)
        assert kept["points"] == _expected(rows, column, bucket), (column, bucket)
        source = "summary" if column in seen else first_source
        assert kept["source"] == source, (column, bucket)
        seen.add(column)
        # The same chart through SQL: a filter every row passes.
        scanned = _chart(api, slug, column, bucket, "id=gte:0")
        assert scanned["source"] == "warehouse"
        assert scanned["points"] == kept["points"], (column, bucket)


@pytest.fixture
def acme():
    return make_org("acme")


@pytest.fixture
def editor(acme):
    return api_client_for(acme)


def test_upload_and_append_answer_from_the_kept_counts(warehouse, acme, editor):
    slug = upload(acme, "sales.csv", FIRST).dataset.slug
    _assert_charts(editor, slug, parsed(FIRST), first_source="summary")
    appended = upload(acme, "more.csv", SECOND, dataset=slug)
    assert appended.state == "succeeded", appended.error
    _assert_charts(editor, slug, parsed(FIRST, SECOND), first_source="summary")


def test_a_filtered_or_searched_chart_or_another_measure_comes_from_the_warehouse(
    warehouse, acme, editor
):
    slug = upload(acme, "sales.csv", FIRST).dataset.slug
    rows = [row for row in parsed(FIRST) if row["category"] == "north"]
    filtered = _chart(editor, slug, "at", "week", "category=north")
    assert filtered["source"] == "warehouse"
    assert filtered["points"] == _expected(rows, "at", "week")
    searched = _chart(editor, slug, "at", "week", "q=north")
    assert searched["source"] == "warehouse"
    for query in (
        "type=timeseries&column=at&bucket=hour&metric=count",  # finer than a day
        "type=timeseries&column=at&bucket=week&metric=count:amount",
        "type=timeseries&column=at&bucket=week&metric=sum:qty",
    ):
        assert analysis(editor, slug, query)["source"] == "warehouse", query


def test_an_edit_of_the_time_column_never_leaves_a_stale_count(warehouse, acme, editor):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    moved = "2024-06-01T10:00:00Z"
    answer = editor.post(
        f"/api/v1/datasets/{dataset.slug}/edits/",
        {"filter": "id=lte:50", "action": {"set": {"at": moved, "day": "2024-06-01"}}},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    rows = parsed(FIRST)
    for row in rows:
        if row["id"] <= 50:
            row["at"], row["day"] = datetime(2024, 6, 1, 10, tzinfo=UTC), date(2024, 6, 1)
    _assert_charts(editor, dataset.slug, rows, first_source="warehouse")


def test_an_edit_of_other_columns_keeps_the_counts(warehouse, acme, editor):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    answer = editor.post(
        f"/api/v1/datasets/{dataset.slug}/edits/",
        {"filter": "id=lte:50", "action": {"set": {"qty": 7}}},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    _assert_charts(editor, dataset.slug, parsed(FIRST), first_source="summary")


def test_taken_back_rows_leave_the_chart(warehouse, acme, editor):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    second = upload(acme, "more.csv", SECOND, dataset=dataset.slug)
    _assert_charts(editor, dataset.slug, parsed(FIRST, SECOND), first_source="summary")
    taken = editor.delete(f"/api/v1/uploads/{second.id}/rows")
    assert taken.status_code == 201, taken.json()
    _assert_charts(editor, dataset.slug, parsed(FIRST), first_source="warehouse")


def test_deleted_rows_leave_the_chart(warehouse, acme, editor):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    deleted = editor.post(
        f"/api/v1/datasets/{dataset.slug}/edits/",
        {"filter": "id=lte:30", "action": {"delete": True}},
        format="json",
    )
    assert deleted.status_code == 201, deleted.json()
    rows = [row for row in parsed(FIRST) if row["id"] > 30]
    _assert_charts(editor, dataset.slug, rows, first_source="warehouse")
    # Counted again and kept: the charts after read them.
    _assert_charts(editor, dataset.slug, rows, first_source="summary")


def test_retention_deletes_leave_the_chart(warehouse, acme, editor):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    policy_update(organization=acme, changes={"keep_rows_days": 20, "rows_column": "at"})
    now = START + timedelta(days=45)
    retention_run(now=now)
    cut = now - timedelta(days=20)
    rows = [row for row in parsed(FIRST) if row["at"] is None or row["at"] >= cut]
    assert Dataset.objects.get(pk=dataset.pk).row_count == len(rows)
    _assert_charts(editor, dataset.slug, rows, first_source="warehouse")


def test_an_append_to_counts_never_kept_does_not_make_partial_ones(warehouse, acme, editor):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    dataset.refresh_from_db()
    # As stored before day counts existed: the first upload's days are unknown.
    schema = dataset.schema
    stats = {name: replace(s, day_counts=None) for name, s in schema.stats.items()}
    dataset.schema = DatasetSchema(schema.columns, stats)
    dataset.save()
    assert upload(acme, "more.csv", SECOND, dataset=dataset.slug).state == "succeeded"
    _assert_charts(editor, dataset.slug, parsed(FIRST, SECOND), first_source="warehouse")
    # Counted again by the first chart and kept: an append now merges into them.
    third = SECOND.replace("\n4", "\n9")  # other ids, same times
    assert upload(acme, "third.csv", third, dataset=dataset.slug).state == "succeeded"
    _assert_charts(editor, dataset.slug, parsed(FIRST, SECOND, third), first_source="summary")


# -- histograms: sums of value cells counted once ---------------------------------------------


def _histogram(api, slug: str, column: str, bins: int, filters: str = "") -> list[dict]:
    query = f"type=histogram&column={column}&bins={bins}"
    return analysis(api, slug, f"{query}&{filters}" if filters else query)["bins"]


def _assert_histograms(api, slug: str, rows: list[dict]) -> None:
    for column, integer in (("amount", False), ("qty", True)):
        for bins in (10, 20, 40, 200):  # 200: finer than the cells, counted by the warehouse
            expected = expected_bins(values(rows, column), bins, integer=integer)
            assert _histogram(api, slug, column, bins) == expected, (column, bins)


def _cells(dataset: Dataset, column: str):
    return Dataset.objects.get(pk=dataset.pk).schema.stats_of(column).number_cells


def test_histograms_come_from_cells_counted_once_and_dropped_when_values_change(
    warehouse, acme, editor
):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    assert _cells(dataset, "amount") is None  # counted on first use, not at ingestion
    _histogram(editor, dataset.slug, "amount", 20, "category=north")
    assert _cells(dataset, "amount") is None  # a filtered histogram counts in the warehouse
    rows = parsed(FIRST)
    _assert_histograms(editor, dataset.slug, rows)
    cells = _cells(dataset, "amount")
    assert cells is not None and cells.total() == len(values(rows, "amount"))
    _assert_histograms(editor, dataset.slug, rows)  # now from the kept cells

    assert upload(acme, "more.csv", SECOND, dataset=dataset.slug).state == "succeeded"
    assert _cells(dataset, "amount") is None
    rows = parsed(FIRST, SECOND)
    _assert_histograms(editor, dataset.slug, rows)

    answer = editor.post(
        f"/api/v1/datasets/{dataset.slug}/edits/",
        {"filter": "id=lte:50", "action": {"set": {"amount": "1234.50", "qty": 99}}},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    for row in rows:
        if row["id"] <= 50:
            row["amount"], row["qty"] = Decimal("1234.50"), 99
    _assert_histograms(editor, dataset.slug, rows)


def test_a_filtered_histogram_sees_only_its_rows_with_cells_kept(warehouse, acme, editor):
    dataset = upload(acme, "sales.csv", FIRST).dataset
    rows = parsed(FIRST)
    _assert_histograms(editor, dataset.slug, rows)  # cells kept
    north = [row for row in rows if row["category"] == "north"]
    found = _histogram(editor, dataset.slug, "amount", 20, "category=north")
    assert found == expected_bins(values(north, "amount"), 20, integer=False)


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres", "duckdb"], indirect=True)
def test_a_replace_answers_from_the_new_rows_alone(warehouse, acme, editor):
    # MySQL refuses mode=replace (tests/datasets/test_uploads_replace.py).
    slug = upload(acme, "sales.csv", FIRST).dataset.slug
    _assert_charts(editor, slug, parsed(FIRST), first_source="summary")
    _assert_histograms(editor, slug, parsed(FIRST))  # cells kept
    answer = editor.post(
        "/api/v1/uploads/",
        {"file": ContentFile(SECOND.encode(), name="sales.csv"), "mode": "replace"},
    )
    assert answer.status_code == 202, answer.json()
    assert Dataset.objects.get(slug=slug).row_count == len(parsed(SECOND))
    _assert_charts(editor, slug, parsed(SECOND), first_source="summary")
    _assert_histograms(editor, slug, parsed(SECOND))
